import Foundation
import HotlineCore
import Logging
import ServiceLifecycle

/// The supervision sweep in every running instance, every `interval`. Instances share the work
/// and never repeat it (see `UrgingLadder.sweep`); a failed pass is logged and the next one
/// picks up where it left off.
struct SupervisionSweeper: Service {
    let database: Database
    let clock: any HotlineClock
    let interval: Duration
    /// Replay records and rate-limit counts past their time go with each pass.
    let housekeeping: Housekeeping
    let logger: Logger

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                _ = try await UrgingLadder.sweep(database: database, at: clock.now(), logger: logger)
                _ = try await housekeeping.run(database: database, at: clock.now(), logger: logger)
            } catch {
                logger.error("supervision sweep failed", metadata: ["error": "\(DatabaseFailure.loggable(error))"])
            }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        isCancelled || isShuttingDownGracefully
    }
}
