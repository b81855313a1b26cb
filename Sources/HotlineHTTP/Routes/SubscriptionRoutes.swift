import HotlineCore
import Hummingbird

/// Webhook subscriptions (API.md, "Notifications and exchange"): an administrator's.
struct SubscriptionRoutes {
    let services: AppServices

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let mutation = services.mutation
        let key = services.configuration.secretsKey

        api.get("subscriptions") { _, context in
            let staff = try context.signedIn()
            let items = try await database.read(logger: context.logger) {
                try await Subscriptions.list(by: staff, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: items, nextCursor: nil))
        }
        api.post("subscriptions") { request, context in
            // The secret is in the first answer only: a retry is told what was made.
            try await mutation.run(request, context: context, status: .created, replay: .secret("subscription")) { work in
                let made = try await Subscriptions.create(try work.body.decode(Subscriptions.Input.self), key: key, by: work.staff,
                                                          at: work.now, on: work.connection, logger: work.logger)
                return .init(reference: "\(made.id)", value: made)
            }
        }
        api.get("subscriptions/:id") { _, context in
            let staff = try context.signedIn()
            let id = try Self.id(context)
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Subscriptions.get(id, by: staff, on: $0, logger: context.logger)
            })
        }
        api.patch("subscriptions/:id") { request, context in
            let id = try Self.id(context)
            return try await mutation.run(request, context: context, replay: .rebuild { _, work in
                try await Subscriptions.get(id, by: work.staff, on: work.connection, logger: work.logger)
            }) { work in
                let changed = try await Subscriptions.update(id, try work.body.decode(Subscriptions.Input.self), by: work.staff,
                                                             at: work.now, on: work.connection, logger: work.logger)
                return .init(reference: "\(changed.id)", value: changed)
            }
        }
        api.delete("subscriptions/:id") { _, context in
            let staff = try context.signedIn()
            let id = try Self.id(context)
            let now = services.clock.now()
            try await database.transaction(logger: context.logger) {
                try await Subscriptions.deactivate(id, by: staff, at: now, on: $0, logger: context.logger)
            }
            return Response(status: .noContent)
        }
    }

    static func id(_ context: HotlineRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.require("id")), id > 0 else { throw HotlineError.notFound("subscription") }
        return id
    }
}
