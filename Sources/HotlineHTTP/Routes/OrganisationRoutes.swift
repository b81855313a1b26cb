import HotlineCore
import Hummingbird

/// Units, users and tokens, categories and the time-limit table (API.md, "Organisation").
struct OrganisationRoutes {
    let services: AppServices

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let mutation = services.mutation

        api.get("me") { _, context in
            let staff = try context.signedIn()
            let user = try await database.read(logger: context.logger) {
                try await Users.get(staff.id, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(user)
        }

        api.get("units") { request, context in
            _ = try context.signedIn()
            let (limit, cursor) = try request.page()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Units.list(limit: limit, cursor: cursor, on: $0, logger: context.logger)
            })
        }
        api.get("units/:code") { _, context in
            _ = try context.signedIn()
            let code = try context.parameters.require("code")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Units.get(code, on: $0, logger: context.logger)
            })
        }
        api.post("units") { request, context in
            try await mutation.run(request, context: context, status: .created, replay: Self.unit) { work in
                try work.staff.require(.admin)
                let unit = try await Units.create(try work.body.decode(Unit.self), on: work.connection, logger: work.logger)
                return .init(reference: unit.code, value: unit)
            }
        }
        api.patch("units/:code") { request, context in
            let code = try context.parameters.require("code")
            return try await mutation.run(request, context: context, replay: Self.unit) { work in
                try work.staff.require(.admin)
                let unit = try await Units.update(code, try work.body.decode(UnitPatch.self), on: work.connection, logger: work.logger)
                return .init(reference: unit.code, value: unit)
            }
        }
        // The unit's liaison: the phone its SMS go to (DOMAIN §14).
        api.get("units/:code/liaison") { _, context in
            let staff = try context.signedIn()
            let code = try context.parameters.require("code")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Liaisons.get(code, by: staff, on: $0, logger: context.logger)
            })
        }
        api.put("units/:code/liaison") { request, context in
            let code = try context.parameters.require("code")
            return try await mutation.run(request, context: context, replay: Self.liaison) { work in
                let liaison = try await Liaisons.set(code, try work.body.decode(Liaisons.Input.self), by: work.staff, at: work.now,
                                                     on: work.connection, logger: work.logger)
                return .init(reference: liaison.unit, value: liaison)
            }
        }

        api.get("users") { request, context in
            try context.signedIn().require(.admin)
            let (limit, cursor) = try request.page()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Users.list(limit: limit, cursor: cursor, on: $0, logger: context.logger)
            })
        }
        api.post("users") { request, context in
            try await mutation.run(request, context: context, status: .created, replay: Self.user) { work in
                try work.staff.require(.admin)
                let user = try await Users.create(try work.body.decode(NewUser.self), on: work.connection, logger: work.logger)
                return .init(reference: "\(user.id)", value: user)
            }
        }
        api.post("users/:id/tokens") { request, context in
            let id = try Self.id(context, "id")
            let lifetime = services.configuration.tokenLifetime
            return try await mutation.run(request, context: context, status: .created, replay: .secret("token")) { work in
                try work.staff.require(.admin)
                let asked = try work.body.decodeOrEmpty(TokenRequest.self)
                let ends = asked.expiresAt ?? work.now.addingTimeInterval(Double(lifetime.components.seconds))
                let issued = try await Users.issueToken(forUser: id, expiresAt: ends, issuedBy: work.staff.id, at: work.now,
                                                        on: work.connection, logger: work.logger)
                return .init(reference: "\(issued.id)", value: issued)
            }
        }
        api.get("users/:id/tokens") { _, context in
            try context.signedIn().require(.admin)
            let id = try Self.id(context, "id")
            let tokens = try await database.read(logger: context.logger) {
                try await Users.tokens(ofUser: id, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: tokens, nextCursor: nil))
        }
        api.patch("users/:id") { request, context in
            let id = try Self.id(context, "id")
            return try await mutation.run(request, context: context, replay: Self.user, unreplayed: Self.setsPassword) { work in
                try work.staff.require(.admin)
                let user = try await Users.update(id, try work.body.decode(UserPatch.self), by: work.staff, at: work.now,
                                                  on: work.connection, logger: work.logger)
                return .init(reference: "\(user.id)", value: user)
            }
        }
        api.delete("tokens/:id") { _, context in
            try context.signedIn().require(.admin)
            let id = try Self.id(context, "id")
            let now = services.clock.now()
            try await database.transaction(logger: context.logger) {
                try await Users.revokeToken(id, on: $0, logger: context.logger, now: now)
            }
            return Response(status: .noContent)
        }

        api.get("categories") { request, context in
            _ = try context.signedIn()
            let (limit, cursor) = try request.page()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Categories.list(limit: limit, cursor: cursor, on: $0, logger: context.logger)
            })
        }
        api.get("categories/:code") { _, context in
            _ = try context.signedIn()
            let code = try context.parameters.require("code")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Categories.get(code, on: $0, logger: context.logger)
            })
        }
        api.post("categories") { request, context in
            try await mutation.run(request, context: context, status: .created, replay: Self.category) { work in
                try work.staff.require(.admin)
                let category = try await Categories.create(try work.body.decode(Category.self), on: work.connection, logger: work.logger)
                return .init(reference: category.code, value: category)
            }
        }
        api.patch("categories/:code") { request, context in
            let code = try context.parameters.require("code")
            return try await mutation.run(request, context: context, replay: Self.category) { work in
                try work.staff.require(.admin)
                let category = try await Categories.update(code, try work.body.decode(CategoryPatch.self),
                                                           on: work.connection, logger: work.logger)
                return .init(reference: category.code, value: category)
            }
        }

        api.get("time-limits") { _, context in
            try context.signedIn().require(.manager)
            let limits = try await database.read(logger: context.logger) { try await TimeLimits.list(on: $0, logger: context.logger) }
            return try JSONCoding.response(Page(items: limits, nextCursor: nil))
        }
        api.put("time-limits") { request, context in
            try context.signedIn().require(.manager)
            let body = try await RequestBody.read(request, context: context)
            let limits = try body.decode(TimeLimitsDocument.self).items
            let updated = try await database.transaction(logger: context.logger) {
                try await TimeLimits.update(limits, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: updated, nextCursor: nil))
        }

        api.get("review-policy") { _, context in
            let staff = try context.signedIn()
            let rules = try await database.read(logger: context.logger) {
                try await ReviewPolicy.list(for: staff, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: rules, nextCursor: nil))
        }
        api.put("review-policy") { request, context in
            let staff = try context.signedIn()
            try staff.require(.manager)
            let body = try await RequestBody.read(request, context: context)
            let rules = try body.decode(ReviewPolicyDocument.self).items
            let updated = try await database.transaction(logger: context.logger) {
                try await ReviewPolicy.update(rules, by: staff, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: updated, nextCursor: nil))
        }
    }

    /// `{"items": [...]}`, the shape GET answers, so a GET can be edited and PUT back.
    struct TimeLimitsDocument: Decodable {
        var items: [TimeLimit]
    }

    struct ReviewPolicyDocument: Decodable {
        var items: [ReviewRule]
    }

    /// Retries answer what the reference names now.
    static let unit = Mutation.Replay<Unit>.rebuild { code, work in try await Units.get(code, on: work.connection, logger: work.logger) }
    static let liaison = Mutation.Replay<Liaisons.Liaison>.rebuild { code, work in
        try await Liaisons.get(code, by: work.staff, on: work.connection, logger: work.logger)
    }
    /// Whether a user's PATCH sets a password (a body that is not JSON sets none, and fails later).
    static func setsPassword(_ body: RequestBody) -> Bool {
        struct Probe: Decodable { let password: String? }
        return (try? body.decode(Probe.self))?.password != nil
    }

    static let user = Mutation.Replay<User>.rebuild { id, work in
        try await Users.get(Int64(id) ?? 0, on: work.connection, logger: work.logger)
    }
    static let category = Mutation.Replay<Category>.rebuild { code, work in
        try await Categories.get(code, on: work.connection, logger: work.logger)
    }

    static func id(_ context: HotlineRequestContext, _ name: String) throws -> Int64 {
        guard let id = Int64(try context.parameters.require(name)), id > 0 else {
            throw HotlineError.notFound(name == "id" ? "record" : name)
        }
        return id
    }
}
