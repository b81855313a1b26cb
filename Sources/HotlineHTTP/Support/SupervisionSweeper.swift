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
            } catch {
                logger.error("supervision sweep failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        isCancelled || isShuttingDownGracefully
    }
}
