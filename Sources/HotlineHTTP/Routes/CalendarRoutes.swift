import Foundation
import HotlineCore
import Hummingbird

/// The working-day calendar and the deadline engine (API.md, "Organisation and configuration").
struct CalendarRoutes {
    let services: AppServices

    /// The answer of GET /calendar/deadline.
    struct DeadlineAnswer: Encodable {
        let deadline: Date
        let provisional: Bool
    }

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database

        api.get("calendar/deadline") { request, context in
            _ = try context.signedIn()
            guard let fromText = request.query("from") else {
                throw HotlineError.validation(field: "from", "is required: an RFC 3339 time")
            }
            guard let from = Timestamp.parse(fromText) else {
                throw HotlineError.validation(field: "from", "must be an RFC 3339 time, such as 2026-02-12T10:00:00+08:00")
            }
            let limit: Limit
            switch (try request.query("working_days", in: 1...250), try request.query("hours", in: 1...8760)) {
            case let (days?, nil): limit = Limit(amount: days, unit: .workingDays)
            case let (nil, hours?): limit = Limit(amount: hours, unit: .hours)
            default: throw HotlineError.validation(field: "working_days", "give either working_days or hours")
            }
            let deadline = try await database.read(logger: context.logger) {
                try await CalendarStore.deadline(from: from, limit: limit, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(DeadlineAnswer(deadline: deadline.at, provisional: deadline.provisional))
        }
        api.get("calendar") { _, context in
            _ = try context.signedIn()
            let years = try await database.read(logger: context.logger) {
                try await CalendarStore.loadedYears(on: $0, logger: context.logger)
            }
            return try JSONCoding.response(["years": years])
        }
        api.get("calendar/:year") { _, context in
            _ = try context.signedIn()
            let year = try Self.year(context)
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await CalendarStore.year(year, on: $0, logger: context.logger)
            })
        }
        api.put("calendar/:year") { request, context in
            let staff = try context.signedIn()
            try staff.require(.manager)
            let year = try Self.year(context)
            let document = try await RequestBody.read(request, context: context).decode(CalendarYear.self)
            let now = services.clock.now()
            let loaded = try await database.transaction(logger: context.logger) {
                try await CalendarStore.put(year, document, by: staff, on: $0, logger: context.logger, now: now)
            }
            context.logger.info("calendar loaded", metadata: ["year": "\(year)"])
            return try JSONCoding.response(loaded)
        }
    }

    static func year(_ context: HotlineRequestContext) throws -> Int {
        guard let year = Int(try context.parameters.require("year")), (2000...2200).contains(year) else {
            throw HotlineError.notFound("calendar year")
        }
        return year
    }
}
