#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import Logging
import ServiceLifecycle

/// A shutdown (SIGTERM, SIGINT) that ends within a bound whatever the database does (DOMAIN
/// §13, issue 11): the server stops taking requests and finishes those in flight; whatever is
/// still running when the bound is near is cancelled; and if even that has not ended the process
/// at the bound, it exits. Nothing acknowledged is lost by that exit: a case is acknowledged only
/// after its transaction has committed, and a request cut short was never answered, so its
/// client retries it with its Idempotency-Key.
enum BoundedShutdown {
    static func run(_ service: some Service, within bound: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: service),
                // Last, so that graceful shutdown reaches it first and its clock starts at the signal.
                .init(service: Watchdog(bound: bound, logger: logger), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // Graceful for most of the bound, then cancellation; the watchdog ends it at the bound.
        let graceful = bound > .seconds(2) ? bound - .seconds(2) : bound / 2
        configuration.maximumGracefulShutdownDuration = graceful
        try await ServiceGroup(configuration: configuration).run()
        logger.info("shut down")
    }

    /// Waits for the shutdown to begin, then gives it `bound` and no more.
    struct Watchdog: Service {
        let bound: Duration
        let logger: Logger

        func run() async throws {
            try? await gracefulShutdown()
            let seconds = bound.components.seconds
            let logger = logger
            logger.info("shutting down", metadata: ["within_seconds": "\(seconds)"])
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: TimeInterval(seconds))
                logger.error("the shutdown did not end within its bound: exiting", metadata: ["seconds": "\(seconds)"])
                exit(0)
            }
        }
    }
}
