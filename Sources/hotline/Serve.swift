import ArgumentParser
import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird
import NIOCore
import NIOPosix

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the REST API.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on")
    var hostname = ProcessInfo.processInfo.environment["HOTLINE_HOSTNAME"] ?? "127.0.0.1"

    @Option(help: "Port to listen on")
    var port = Int(ProcessInfo.processInfo.environment["HOTLINE_PORT"] ?? "") ?? 8080

    @Option(help: "Most database connections this instance opens")
    var maxConnections = Int(ProcessInfo.processInfo.environment["HOTLINE_DB_CONNECTIONS"] ?? "") ?? 20

    @Option(help: "Seconds between supervision sweeps of this instance (0: none)")
    var sweepInterval = Int(ProcessInfo.processInfo.environment["HOTLINE_SWEEP_INTERVAL"] ?? "") ?? 60

    @Flag(help: "Take the client address from X-Forwarded-For (only behind a proxy that sets it)")
    var trustForwardedFor = ProcessInfo.processInfo.environment["HOTLINE_TRUST_FORWARDED_FOR"] == "1"

    @Option(help: "Public progress lookups allowed per client address and minute")
    var publicLookupsPerMinute = Int(ProcessInfo.processInfo.environment["HOTLINE_PUBLIC_LOOKUPS_PER_MINUTE"] ?? "") ?? 10

    @Option(help: "Database for reports and statistics, e.g. a streaming replica (default: $HOTLINE_REPORTS_DATABASE_URL, else the main one)")
    var reportsDatabaseURL = ProcessInfo.processInfo.environment["HOTLINE_REPORTS_DATABASE_URL"]

    @Flag(help: "Let an admin set the service's clock and run sweeps over HTTP. Never in production.")
    var testClock = false

    func validate() throws {
        guard sweepInterval >= 0 else { throw ValidationError("--sweep-interval must be 0 or more") }
        guard (1...10_000).contains(publicLookupsPerMinute) else {
            throw ValidationError("--public-lookups-per-minute must be between 1 and 10000")
        }
    }

    func run() async throws {
        // Swift concurrency's jobs run on NIO's event loops, where the sockets are: the reply to
        // each statement no longer hops to Swift's own thread pool and back (~10 % more intakes
        // per second here). Nothing in the service blocks a thread, which this needs.
        let takenOver = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let logger = makeLogger("hotline")
        logger.debug("concurrency on the event loops", metadata: ["installed": "\(takenOver)"])
        if testClock { logger.warning("the test clock is on: an admin can set this service's time") }
        let configuration = HotlineConfiguration(
            hostname: hostname, port: port, database: try database.postgres(),
            migrations: try database.migrator(), maxDatabaseConnections: maxConnections,
            testClock: testClock ? SettableClock(Date()) : nil,
            sweepInterval: sweepInterval > 0 ? .seconds(sweepInterval) : nil,
            trustForwardedFor: trustForwardedFor, publicLookupsPerMinute: publicLookupsPerMinute,
            reportsDatabase: try reportsDatabaseURL.map { try DatabaseURL.configuration($0) }
        )
        let app = try await buildApplication(configuration, logger: logger)
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the migrations the database lacks.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger("hotline.migrate")
        let migrator = try database.migrator()
        let applied = try await database.withDatabase(logger: logger) { client in
            try await migrator.migrate(client: client, logger: logger)
        }
        print(applied.isEmpty ? "the schema is current" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}

struct Sweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one supervision pass: urgings and escalations now due.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger("hotline.sweep")
        let report = try await database.withDatabase(logger: logger) { client in
            try await UrgingLadder.sweep(database: Database(client: client), at: Date(), logger: logger)
        }
        print("urgings \(report.urgings), escalations \(report.escalations), deadlines examined \(report.examined), \(String(format: "%.1f", report.milliseconds)) ms")
    }
}
