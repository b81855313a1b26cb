import Foundation
import HotlineCore
import Hummingbird

/// Intake and reading of cases (API.md, "Cases").
struct CaseRoutes {
    let services: AppServices

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let mutation = services.mutation

        api.post("cases") { request, context in
            try await mutation.run(request, context: context, status: .created, replay: .rebuild { number, work in
                try await Intake.answer(number, for: work.staff, at: work.now, on: work.connection, logger: work.logger)
            }) { work in
                let input = try work.body.decode(NewCase.self)
                let accepted = try await Intake.accept(input, body: work.body.bytes, by: work.staff, at: work.now,
                                                       on: work.connection, logger: work.logger)
                // The same source sent again answers the case it made, as a GET would.
                return .init(reference: accepted.number, value: accepted.view, status: accepted.existing ? .ok : nil)
            }
        }
        api.get("cases") { request, context in
            let staff = try context.signedIn()
            var filter = try Self.filter(request)
            filter.now = services.clock.now()
            let page = try await database.read(logger: context.logger) {
                try await CaseQueries.list(filter, for: staff, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(page)
        }
        // As the operator types: the center's own (SimilarCases.find refuses anyone else).
        api.get("cases/similar") { request, context in
            let staff = try context.signedIn()
            try SimilarCases.authorise(staff)
            let query = try SimilarCases.validate(SimilarCases.Query(
                phone: request.query("phone"), category: request.query("category"), region: request.query("region"),
                text: request.query("text"), latitude: try Self.coordinate(request, "latitude"),
                longitude: try Self.coordinate(request, "longitude")))
            let now = services.clock.now()
            let found = try await database.read(logger: context.logger) {
                try await SimilarCases.find(query, for: staff, at: now, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(SimilarList(items: found))
        }
        api.get("cases/:number") { _, context in
            let staff = try context.signedIn()
            let number = try context.parameters.require("number")
            let now = services.clock.now()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await CaseQueries.view(number, for: staff, at: now, on: $0, logger: context.logger)
            })
        }
        api.get("cases/:number/timeline") { request, context in
            let staff = try context.signedIn()
            let number = try context.parameters.require("number")
            let limit = try request.query("limit", in: 1...500) ?? 50
            let cursor = request.query("cursor")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await CaseQueries.timeline(number, for: staff, limit: limit, cursor: cursor, on: $0, logger: context.logger)
            })
        }
        api.post("cases/:number/contact-reveal") { request, context in
            let number = try context.parameters.require("number")
            // Never replayed: a retry is a new, audited reveal (what it shows is stored nowhere else).
            return try await mutation.everyTime(request, context: context) { work in
                try await ContactReveal.reveal(number, by: work.staff, at: work.now, on: work.connection, logger: work.logger)
            }
        }
        // Transfer and withdraw are steps of CaseStepEndpoints (HandlingRoutes serves them).
    }

    static func filter(_ request: Request) throws -> CaseFilter {
        var filter = CaseFilter()
        filter.status = try request.query("status").map { try CaseStatus.parse($0, field: "status") }
        filter.type = try request.query("type").map { try CaseType.parse($0, field: "type") }
        filter.urgency = try request.query("urgency").map { try Urgency.parse($0, field: "urgency") }
        var checker = FieldChecker()
        filter.category = checker.text(request.query("category"), field: "category", max: 64, required: false)
        filter.text = checker.text(request.query("q"), field: "q", max: 100, required: false)
        filter.leadUnit = checker.text(request.query("lead_unit"), field: "lead_unit", max: 64, required: false)
        try checker.check()
        filter.overdue = try request.query("overdue").map { try flag($0, field: "overdue") }
        filter.escalated = try request.query("escalated").map { try flag($0, field: "escalated") }
        filter.acceptedFrom = try request.query("accepted_from").map { try instant($0, field: "accepted_from", endOfDay: false) }
        filter.acceptedTo = try request.query("accepted_to").map { try instant($0, field: "accepted_to", endOfDay: true) }
        filter.limit = try request.query("limit", in: 1...500) ?? 50
        filter.cursor = request.query("cursor")
        return filter
    }

    static func coordinate(_ request: Request, _ name: String) throws -> Double? {
        guard let raw = request.query(name) else { return nil }
        guard let value = Double(raw), value.isFinite else { throw HotlineError.validation(field: name, "must be a number") }
        return value
    }

    struct SimilarList: Encodable {
        let items: [SimilarCase]
    }

    static func flag(_ text: String, field: String) throws -> Bool {
        switch text {
        case "true": return true
        case "false": return false
        default: throw HotlineError.validation(field: field, "must be true or false")
        }
    }

    /// A day (Shanghai; the whole day) or an RFC 3339 time.
    static func instant(_ text: String, field: String, endOfDay: Bool) throws -> Date {
        if let day = LocalDate(iso: text) {
            return endOfDay ? day.endOfDayInstant.addingTimeInterval(0.999) : day.startInstant
        }
        guard let time = Timestamp.parse(text) else {
            throw HotlineError.validation(field: field, "must be a date YYYY-MM-DD or an RFC 3339 time")
        }
        return time
    }
}
