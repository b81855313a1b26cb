import Foundation
import HotlineCore
import Logging
import ServiceLifecycle

/// Work every running instance does every `interval` until it shuts down. A failed pass is
/// logged and the next one picks up where it left off.
struct Periodic: Service {
    let interval: Duration
    /// What the log says failed.
    let what: String
    let logger: Logger
    let pass: @Sendable () async throws -> Void

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                try await pass()
            } catch {
                logger.error("\(what) failed", metadata: ["error": "\(DatabaseFailure.loggable(error))"])
            }
        }
    }
}

extension Periodic {
    /// The supervision sweep. Instances share the work and never repeat it (see
    /// `UrgingLadder.sweep`); replay records and rate-limit counts past their time go with each pass.
    static func supervision(
        database: Database, clock: any HotlineClock, interval: Duration, housekeeping: Housekeeping, logger: Logger
    ) -> Periodic {
        Periodic(interval: interval, what: "supervision sweep", logger: logger) {
            _ = try await UrgingLadder.sweep(database: database, at: clock.now(), logger: logger)
            _ = try await housekeeping.run(database: database, at: clock.now(), logger: logger)
        }
    }

    /// The webhook outbox (DOMAIN §14): what is due is sent. Instances share the work without
    /// sending one delivery twice at once (see `Outbox`).
    static func webhooks(
        database: Database, clock: any HotlineClock, key: SecretsKey, policy: OutboxPolicy, interval: Duration, logger: Logger
    ) -> Periodic {
        Periodic(interval: interval, what: "webhook delivery pass", logger: logger) {
            _ = try await Outbox.deliverDue(database: database, key: key, policy: policy, clock: { clock.now() }, logger: logger,
                                            send: WebhookPost.send)
        }
    }
}

extension Periodic {
    /// The SMS outbox (DOMAIN §14): what is due is sent to the gateway, quiet hours and the
    /// daily cap holding what must wait (see `SMSOutbox`).
    static func sms(
        database: Database, clock: any HotlineClock, gateway: SMSGateway, key: SecretsKey, policy: OutboxPolicy,
        interval: Duration, logger: Logger
    ) -> Periodic {
        Periodic(interval: interval, what: "sms pass", logger: logger) {
            _ = try await SMSOutbox.sendDue(database: database, gateway: gateway, key: key, policy: policy, clock: { clock.now() },
                                            logger: logger, send: WebhookPost.send)
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        isCancelled || isShuttingDownGracefully
    }
}
