import Foundation
import HotlineCore
import Hummingbird

/// Supervision (API.md, "Supervision"; DOMAIN §7) and the dispatcher's urge, escalate and
/// disclose steps.
struct SupervisionRoutes {
    let services: AppServices

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let clock = services.clock

        api.get("supervision/warnings") { request, context in
            let staff = try context.signedIn()
            let limit = try request.query("limit", in: 1...500) ?? 50
            let cursor = request.query("cursor")
            let now = clock.now()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Supervision.warnings(for: staff, limit: limit, cursor: cursor, at: now, on: $0, logger: context.logger)
            })
        }
        api.get("supervision/escalations") { request, context in
            let staff = try context.signedIn()
            let openOnly = request.query("open") == "true"
            let limit = try request.query("limit", in: 1...500) ?? 50
            let cursor = request.query("cursor")
            let now = clock.now()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Supervision.escalations(for: staff, openOnly: openOnly, limit: limit, cursor: cursor, at: now,
                                                  on: $0, logger: context.logger)
            })
        }
        api.get("supervision/accountability") { request, context in
            let staff = try context.signedIn()
            try staff.require(.manager, .supervisor)
            let period = try Period.parse(request.query("period"))
            let limit = try request.query("limit", in: 1...500) ?? 50
            let cursor = request.query("cursor")
            let now = clock.now()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Supervision.accountability(for: staff, period: period, limit: limit, cursor: cursor, at: now,
                                                     on: $0, logger: context.logger)
            })
        }

        // Urge, escalate and disclose are steps of CaseStepEndpoints (HandlingRoutes serves them).
    }
}

/// The public endpoints (API.md, "Public"): no token; the progress lookup is limited across
/// all instances, per address block and per case number (`PublicRecord.lookup`).
struct PublicRoutes {
    let services: AppServices
    let clientAddress: ClientAddress

    func register(on router: Router<HotlineRequestContext>) {
        let database = services.database
        let limits = services.configuration.publicLimits
        router.get("public/cases/:number") { request, context in
            let number = try context.parameters.require("number")
            return try JSONCoding.response(try await PublicRecord.lookup(
                number, phoneLastFour: request.query("phone_last4"), client: clientAddress.of(request, context),
                limits: limits, at: services.clock.now(), database: database, logger: context.logger
            ))
        }
        router.get("public/disclosures") { request, context in
            let limit = try request.query("limit", in: 1...100) ?? 20
            let cursor = request.query("cursor")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await PublicRecord.disclosures(limit: limit, cursor: cursor, on: $0, logger: context.logger)
            })
        }
    }
}

/// `--test-clock` (never in production): an admin sets the service's time and runs a sweep.
struct TestClockRoutes {
    let services: AppServices
    let clock: SettableClock

    struct ClockBody: Codable {
        let now: Date
    }

    func register(on api: RouterGroup<HotlineRequestContext>) {
        api.put("test/clock") { request, context in
            try context.signedIn().require(.admin)
            let body = try await RequestBody.read(request, context: context).decode(ClockBody.self)
            clock.set(body.now)
            context.logger.warning("test clock set", metadata: ["now": "\(Timestamp.format(body.now))"])
            return try JSONCoding.response(ClockBody(now: clock.now()))
        }
        api.get("test/clock") { _, context in
            try context.signedIn().require(.admin)
            return try JSONCoding.response(ClockBody(now: clock.now()))
        }
        api.post("test/sweep") { _, context in
            try context.signedIn().require(.admin)
            let report = try await UrgingLadder.sweep(database: services.database, at: clock.now(), logger: context.logger)
            _ = try await services.housekeeping.run(database: services.database, at: clock.now(), logger: context.logger)
            return try JSONCoding.response(report)
        }
    }
}
