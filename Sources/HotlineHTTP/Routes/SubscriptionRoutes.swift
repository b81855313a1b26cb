import HotlineCore
import Hummingbird

/// Webhook subscriptions (API.md, "Notifications and exchange"): an administrator's.
struct SubscriptionRoutes {
    let services: AppServices

    func register(on api: RouterGroup<HotlineRequestContext>) {
        registerDeliveries(on: api)
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

    /// The outbox's deliveries: parked ones listed and resent.
    func registerDeliveries(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let mutation = services.mutation

        api.get("deliveries") { request, context in
            let staff = try context.signedIn()
            let status = try request.query("status").map { try Deliveries.Status.parse($0, field: "status") } ?? .parked
            let limit = try request.query("limit", in: 1...500) ?? 100
            let subscription = request.query("subscription")
            let cursor = request.query("cursor")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Deliveries.list(status: status, subscription: subscription, limit: limit, cursor: cursor, by: staff,
                                          on: $0, logger: context.logger)
            })
        }
        api.post("deliveries/:id/resend") { request, context in
            guard let id = Int64(try context.parameters.require("id")), id > 0 else { throw HotlineError.notFound("delivery") }
            return try await mutation.run(request, context: context, replay: .rebuild { _, work in
                try await Deliveries.get(id, by: work.staff, on: work.connection, logger: work.logger)
            }) { work in
                let resent = try await Deliveries.resend(id, by: work.staff, at: work.now, on: work.connection, logger: work.logger)
                return .init(reference: "\(resent.id)", value: resent)
            }
        }
    }

    static func id(_ context: HotlineRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.require("id")), id > 0 else { throw HotlineError.notFound("subscription") }
        return id
    }
}
