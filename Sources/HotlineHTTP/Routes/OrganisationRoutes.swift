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

        api.get("units") { _, context in
            _ = try context.signedIn()
            let units = try await database.read(logger: context.logger) { try await Units.list(on: $0, logger: context.logger) }
            return try JSONCoding.response(Page(items: units, nextCursor: nil))
        }
        api.get("units/:code") { _, context in
            _ = try context.signedIn()
            let code = try context.parameters.require("code")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Units.get(code, on: $0, logger: context.logger)
            })
        }
        api.post("units") { request, context in
            try await mutation.run(request, context: context, status: .created) { work in
                try work.staff.require(.admin)
                return try await Units.create(try work.body.decode(Unit.self), on: work.connection, logger: work.logger)
            }
        }
        api.patch("units/:code") { request, context in
            let code = try context.parameters.require("code")
            return try await mutation.run(request, context: context) { work in
                try work.staff.require(.admin)
                return try await Units.update(code, try work.body.decode(UnitPatch.self), on: work.connection, logger: work.logger)
            }
        }

        api.get("users") { _, context in
            try context.signedIn().require(.admin)
            let users = try await database.read(logger: context.logger) { try await Users.list(on: $0, logger: context.logger) }
            return try JSONCoding.response(Page(items: users, nextCursor: nil))
        }
        api.post("users") { request, context in
            try await mutation.run(request, context: context, status: .created) { work in
                try work.staff.require(.admin)
                return try await Users.create(try work.body.decode(NewUser.self), on: work.connection, logger: work.logger)
            }
        }
        api.post("users/:id/tokens") { request, context in
            let id = try Self.id(context, "id")
            return try await mutation.run(request, context: context, status: .created) { work in
                try work.staff.require(.admin)
                return try await Users.issueToken(forUser: id, on: work.connection, logger: work.logger)
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

        api.get("categories") { _, context in
            _ = try context.signedIn()
            let categories = try await database.read(logger: context.logger) {
                try await Categories.list(on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: categories, nextCursor: nil))
        }
        api.get("categories/:code") { _, context in
            _ = try context.signedIn()
            let code = try context.parameters.require("code")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Categories.get(code, on: $0, logger: context.logger)
            })
        }
        api.post("categories") { request, context in
            try await mutation.run(request, context: context, status: .created) { work in
                try work.staff.require(.admin)
                return try await Categories.create(try work.body.decode(Category.self), on: work.connection, logger: work.logger)
            }
        }
        api.patch("categories/:code") { request, context in
            let code = try context.parameters.require("code")
            return try await mutation.run(request, context: context) { work in
                try work.staff.require(.admin)
                return try await Categories.update(code, try work.body.decode(CategoryPatch.self),
                                                   on: work.connection, logger: work.logger)
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
    }

    /// `{"items": [...]}`, the shape GET answers, so a GET can be edited and PUT back.
    struct TimeLimitsDocument: Decodable {
        var items: [TimeLimit]
    }

    static func id(_ context: HotlineRequestContext, _ name: String) throws -> Int64 {
        guard let id = Int64(try context.parameters.require(name)), id > 0 else {
            throw HotlineError.notFound(name == "id" ? "record" : name)
        }
        return id
    }
}
