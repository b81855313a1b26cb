import Foundation
import HotlineCore
import Hummingbird

/// Appraisal and statistics (API.md, "Appraisal and statistics").
struct AppraisalRoutes {
    let services: AppServices

    enum Format: String {
        case json, csv, html
    }

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let reports = services.reports
        let clock = services.clock

        api.get("appraisals/:period") { request, context in
            try await appraisal(request, context)
        }
        api.post("appraisals/:period/publish") { request, context in
            let period = try Self.period(context)
            return try await services.mutation.run(request, context: context, status: .created, replay: .rebuild { revision, work in
                try await AppraisalPublication.revisionRecord(period, Int(revision) ?? 0, on: work.connection, logger: work.logger)
            }) { work in
                let body = try work.body.decodeOrEmpty(PublishRequest.self)
                // Publishing computes the whole report in this transaction: it has the reports' time limit.
                try await work.connection.query(
                    "SELECT set_config('statement_timeout', \(services.configuration.reportsStatementTimeout), true)", logger: work.logger)
                let published = try await AppraisalPublication.publish(period, reason: body.reason, by: work.staff, at: work.now,
                                                                       on: work.connection, logger: work.logger)
                return .init(reference: "\(published.revision)", value: published)
            }
        }
        api.get("appraisals/:period/revisions") { _, context in
            let staff = try context.signedIn()
            try Self.requireReader(staff)
            let period = try Self.period(context)
            let revisions = try await database.read(logger: context.logger) {
                try await AppraisalPublication.revisions(period, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: revisions, nextCursor: nil))
        }
        api.get("appraisals/:period/revisions/:revision") { request, context in
            let staff = try context.signedIn()
            try Self.requireReader(staff)
            let period = try Self.period(context)
            guard let number = Int(try context.parameters.require("revision")), number >= 1 else {
                throw HotlineError.notFound("revision")
            }
            let format = try Self.format(request)
            let bytes = try await database.read(logger: context.logger) {
                try await AppraisalPublication.revision(period, number, on: $0, logger: context.logger)
            }
            // The frozen bytes themselves, for whoever may read the whole report.
            if format == .json && staff.role != .handler {
                return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            let report = try JSONCoding.decoder.decode(AppraisalReport.self, from: Data(bytes))
            return try Self.respond(Self.visible(report, to: staff), period: period, format: format)
        }
        api.get("appraisal-weights") { _, context in
            try context.signedIn().require(.manager)
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Appraisal.weights(on: $0, logger: context.logger)
            })
        }
        api.put("appraisal-weights") { request, context in
            let staff = try context.signedIn()
            try staff.require(.manager)
            let weights = try await RequestBody.read(request, context: context).decode(AppraisalWeights.self)
            let now = clock.now()
            return try JSONCoding.response(try await database.transaction(logger: context.logger) {
                try await Appraisal.setWeights(weights, by: staff, at: now, on: $0, logger: context.logger)
            })
        }
        api.get("stats/overview") { request, context in
            let staff = try context.signedIn()
            let period = try Period.parse(request.query("period"))
            let now = clock.now()
            return try JSONCoding.response(try await reports.read(logger: context.logger) {
                try await Statistics.overview(period, for: staff, at: now, on: $0, logger: context.logger)
            })
        }
        // Hotspots (DOMAIN §15), on the reports' pool as the appraisal.
        api.get("analysis/hotspots") { request, context in
            try await hotspots(request, context)
        }
    }

    struct PublishRequest: Decodable {
        var reason: String?
    }

    /// Managers and supervisors read the report; a handler reads its own unit's line.
    /// GET /appraisals/{period}: also the workbench's appraisal page (its format from Accept).
    func appraisal(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        let reports = services.reports
        let clock = services.clock
        let staff = try context.signedIn()
        let period = try Self.period(context)
        try Self.requireReader(staff)
        let format = try Self.format(request)
        let rollup = try Self.rollup(request)
        let now = clock.now()
        // A handler's line is computed for its unit alone; the report runs on its own pool.
        let only = staff.role == .handler ? staff.unit : nil
        let report = try await reports.read(logger: context.logger) {
            try await Appraisal.compute(period, unit: only, rollup: rollup, at: now, on: $0, logger: context.logger)
        }
        return try Self.respond(Self.visible(report, to: staff), period: period, format: format)
    }

    /// GET /analysis/hotspots: also the workbench's hotspots page.
    func hotspots(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        let reports = services.reports
        let clock = services.clock
        let staff = try context.signedIn()
        try staff.require(.operator, .dispatcher, .manager, .supervisor)
        let period = try HotspotPeriod.parse(request.query("period"))
        let by = try Hotspots.dimensions(request.query("by"))
        let format = try Self.format(request)
        let now = clock.now()
        let report = try await reports.read(logger: context.logger) {
            try await Hotspots.report(period, by: by, for: staff, at: now, on: $0, logger: context.logger)
        }
        switch format {
        case .json:
            return try JSONCoding.response(report)
        case .csv:
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"hotspots-\(period).csv\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: HotspotFormats.csv(report))))
        case .html:
            let page = HotspotFormats.html(report, title: HotspotFormats.title(period))
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
    }

    static func requireReader(_ staff: Staff) throws {
        try staff.require(.manager, .supervisor, .handler)
    }

    static func visible(_ report: AppraisalReport, to staff: Staff) -> AppraisalReport {
        guard staff.role == .handler else { return report }
        var own = report
        own.units = report.units.filter { $0.unit == staff.unit }
        own.rollup = nil  // sums of other units
        return own
    }

    /// `?rollup=true` adds each parent's line summed with the units below it.
    static func rollup(_ request: Request) throws -> Bool {
        switch request.query("rollup") {
        case nil, "false": return false
        case "true": return true
        default: throw HotlineError.validation(field: "rollup", "must be true or false")
        }
    }

    static func period(_ context: HotlineRequestContext) throws -> Period {
        guard let period = Period(try context.parameters.require("period")) else {
            throw HotlineError.validation(field: "period", "must be YYYY-MM or YYYY")
        }
        return period
    }

    /// `?format=` wins; else the Accept header (text/csv, text/html); else JSON.
    static func format(_ request: Request) throws -> Format {
        if let name = request.query("format") {
            guard let format = Format(rawValue: name) else { throw HotlineError.validation(field: "format", "must be json, csv or html") }
            return format
        }
        let accept = request.headers[.accept] ?? ""
        if accept.contains("text/csv") { return .csv }
        if accept.contains("text/html") { return .html }
        return .json
    }

    static func respond(_ report: AppraisalReport, period: Period, format: Format) throws -> Response {
        switch format {
        case .json:
            return try JSONCoding.response(report)
        case .csv:
            let name = "appraisal-\(period)\(report.revision.map { "-r\($0)" } ?? "").csv"
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"\(name)\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: ReportFormats.csv(report))))
        case .html:
            let page = ReportFormats.html(report, title: ReportFormats.title(period))
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
    }
}
