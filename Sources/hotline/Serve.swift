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
    var maxConnections = env("HOTLINE_DB_CONNECTIONS") ?? 20

    @Option(help: "Seconds between supervision sweeps of this instance (0: none)")
    var sweepInterval = env("HOTLINE_SWEEP_INTERVAL") ?? 60

    @Flag(help: "Take the client address from X-Forwarded-For (only behind a proxy that sets it)")
    var trustForwardedFor = ProcessInfo.processInfo.environment["HOTLINE_TRUST_FORWARDED_FOR"] == "1"

    @Flag(help: "Mark the workbench's cookies Secure: set where the service is reached over TLS (env HOTLINE_SECURE_COOKIES=1).")
    var secureCookies = ProcessInfo.processInfo.environment["HOTLINE_SECURE_COOKIES"] == "1"

    @Option(help: "Public progress lookups allowed per client address (IPv6: per /64) and minute, across all instances")
    var publicLookupsPerMinute = env("HOTLINE_PUBLIC_LOOKUPS_PER_MINUTE") ?? 10

    @Option(help: "Wrong lookups of one case number before its lookup is locked")
    var lookupFailuresBeforeLock = env("HOTLINE_LOOKUP_FAILURES_BEFORE_LOCK") ?? 5

    @Option(help: "Minutes a case number's lookup stays locked")
    var lookupLockMinutes = env("HOTLINE_LOOKUP_LOCK_MINUTES") ?? 15

    @Option(help: "Requests filed per Open311 API key and minute")
    var open311PostsPerMinute = env("HOTLINE_OPEN311_POSTS_PER_MINUTE") ?? 30

    @Option(help: "Seconds a statement of a request may run before it is cancelled (503)")
    var statementTimeout = env("HOTLINE_STATEMENT_TIMEOUT") ?? 10

    @Option(help: "Seconds a statement of a report may run")
    var reportsStatementTimeout = env("HOTLINE_REPORTS_STATEMENT_TIMEOUT") ?? 120

    @Option(help: "Hours an Idempotency-Key's replay record is kept")
    var idempotencyRetentionHours = env("HOTLINE_IDEMPOTENCY_RETENTION_HOURS") ?? 72

    @Option(help: "Days a token issued over the API lasts unless it is given its own end")
    var tokenLifetimeDays = env("HOTLINE_TOKEN_LIFETIME_DAYS") ?? 90

    @Option(help: "Address of the /metrics listener")
    var metricsHostname = ProcessInfo.processInfo.environment["HOTLINE_METRICS_HOSTNAME"] ?? "127.0.0.1"

    @Option(help: "Port of the /metrics listener (0: none)")
    var metricsPort = env("HOTLINE_METRICS_PORT") ?? 9464

    @Option(help: "Seconds an idle HTTP connection is kept open")
    var idleTimeout = env("HOTLINE_IDLE_TIMEOUT") ?? 60

    @Option(help: "Seconds a shutdown (SIGTERM, SIGINT) may take, whatever the database does")
    var shutdownTimeout = env("HOTLINE_SHUTDOWN_TIMEOUT") ?? 10

    @Option(help: "Database for reports and statistics, e.g. a streaming replica (default: $HOTLINE_REPORTS_DATABASE_URL, else the main one)")
    var reportsDatabaseURL = ProcessInfo.processInfo.environment["HOTLINE_REPORTS_DATABASE_URL"]

    @Option(help: "Seconds between this instance's passes over the webhook outbox (0: none; needs $HOTLINE_SECRETS_KEY)")
    var deliveryInterval = env("HOTLINE_DELIVERY_INTERVAL") ?? 5

    @Option(help: "The SMS gateway's URL (default: $HOTLINE_SMS_GATEWAY_URL; none: no SMS is sent); its key is $HOTLINE_SMS_GATEWAY_KEY")
    var smsGatewayURL = ProcessInfo.processInfo.environment["HOTLINE_SMS_GATEWAY_URL"]

    @Option(help: "The service's public address, for the links in SMS (default: $HOTLINE_PUBLIC_URL)")
    var publicURL = ProcessInfo.processInfo.environment["HOTLINE_PUBLIC_URL"] ?? "http://127.0.0.1:8080"

    @Option(help: "The most SMS one citizen's phone is sent in a day; the rest wait for the next")
    var smsDailyCap = env("HOTLINE_SMS_DAILY_CAP") ?? 5

    @Option(help: "Attempts at a webhook delivery before it is parked")
    var deliveryAttempts = env("HOTLINE_DELIVERY_ATTEMPTS") ?? 10

    @Option(help: "Hours a webhook delivery is tried before it is parked")
    var deliveryMaxAgeHours = env("HOTLINE_DELIVERY_MAX_AGE_HOURS") ?? 24

    @Option(help: "Seconds before the first retry of a failed delivery; each later one waits up to twice as long (with jitter)")
    var deliveryFirstRetry = env("HOTLINE_DELIVERY_FIRST_RETRY") ?? 30

    @Option(help: "The longest wait, in seconds, between two attempts at a delivery")
    var deliveryLongestRetry = env("HOTLINE_DELIVERY_LONGEST_RETRY") ?? 3600

    @Flag(help: "Let an admin set the service's clock and run sweeps over HTTP. Never in production.")
    var testClock = false

    func validate() throws {
        guard sweepInterval >= 0 else { throw ValidationError("--sweep-interval must be 0 or more") }
        for (name, value, range) in [
            ("--public-lookups-per-minute", publicLookupsPerMinute, 1...10_000), ("--lookup-failures-before-lock", lookupFailuresBeforeLock, 1...100),
            ("--lookup-lock-minutes", lookupLockMinutes, 1...10_080), ("--open311-posts-per-minute", open311PostsPerMinute, 1...100_000),
            ("--statement-timeout", statementTimeout, 1...3600), ("--reports-statement-timeout", reportsStatementTimeout, 1...86_400),
            ("--idempotency-retention-hours", idempotencyRetentionHours, 1...8760), ("--token-lifetime-days", tokenLifetimeDays, 1...3650),
            ("--metrics-port", metricsPort, 0...65_535), ("--delivery-interval", deliveryInterval, 0...3600),
            ("--delivery-attempts", deliveryAttempts, 1...100), ("--delivery-max-age-hours", deliveryMaxAgeHours, 1...720),
            ("--delivery-first-retry", deliveryFirstRetry, 1...3600), ("--delivery-longest-retry", deliveryLongestRetry, 1...86_400), ("--sms-daily-cap", smsDailyCap, 1...100), ("--idle-timeout", idleTimeout, 1...3600), ("--shutdown-timeout", shutdownTimeout, 1...600),
        ] where !range.contains(value) {
            throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound)")
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
        // The key that seals webhook secrets: from the environment only, never a flag (a
        // process list shows flags).
        let secretsKey = try ProcessInfo.processInfo.environment["HOTLINE_SECRETS_KEY"].map { text in
            guard let key = SecretsKey(hex: text) else { throw ValidationError("HOTLINE_SECRETS_KEY must be 64 hexadecimal digits") }
            return key
        }
        // The gateway's key, like the secrets key, from the environment only.
        let smsGateway = try smsGatewayURL.map { url -> SMSGateway in
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("--sms-gateway-url must be an http(s) URL") }
            guard let key = ProcessInfo.processInfo.environment["HOTLINE_SMS_GATEWAY_KEY"], !key.isEmpty else {
                throw ValidationError("an SMS gateway needs its key in HOTLINE_SMS_GATEWAY_KEY")
            }
            guard secretsKey != nil else { throw ValidationError("an SMS gateway needs HOTLINE_SECRETS_KEY (the survey's links are made with it)") }
            return SMSGateway(url: url, key: key, publicURL: publicURL, dailyCap: smsDailyCap)
        }
        let configuration = HotlineConfiguration(
            hostname: hostname, port: port, database: try database.postgres(),
            migrations: try database.migrator(), maxDatabaseConnections: maxConnections,
            testClock: testClock ? SettableClock(Date()) : nil,
            sweepInterval: sweepInterval > 0 ? .seconds(sweepInterval) : nil,
            trustForwardedFor: trustForwardedFor,
            publicLimits: PublicLimits(lookupsPerMinute: publicLookupsPerMinute, failuresBeforeLock: lookupFailuresBeforeLock,
                                       lockDuration: .seconds(lookupLockMinutes * 60), open311PostsPerMinute: open311PostsPerMinute),
            reportsDatabase: try reportsDatabaseURL.map { try DatabaseURL.configuration($0) },
            statementTimeout: .seconds(statementTimeout), reportsStatementTimeout: .seconds(reportsStatementTimeout),
            idempotencyRetention: .seconds(idempotencyRetentionHours * 3600), tokenLifetime: .seconds(tokenLifetimeDays * 86_400),
            metrics: metricsPort > 0 ? (metricsHostname, metricsPort) : nil, idleTimeout: .seconds(idleTimeout),
            secretsKey: secretsKey, deliveryInterval: deliveryInterval > 0 ? .seconds(deliveryInterval) : nil,
            outboxPolicy: OutboxPolicy(maxAttempts: deliveryAttempts, maxAge: TimeInterval(deliveryMaxAgeHours * 3600),
                                       firstRetry: TimeInterval(deliveryFirstRetry),
                                       longestRetry: TimeInterval(max(deliveryLongestRetry, deliveryFirstRetry))),
            smsGateway: smsGateway,
            secureCookies: secureCookies
        )
        let app = try await buildApplication(configuration, logger: logger)
        try await BoundedShutdown.run(app, within: .seconds(shutdownTimeout), logger: logger)
    }
}

/// A whole number from the environment, if it is one.
func env(_ name: String) -> Int? {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0) }
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

struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the search vectors of cases accepted before cases carried them (once, after upgrading).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger("hotline.reindex")
        let done = try await database.withDatabase(logger: logger) { client in
            try await CaseSearch.reindex(database: Database(client: client), logger: logger)
        }
        print("\(done) cases indexed")
    }
}

struct Sweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one supervision pass: urgings and escalations now due.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger("hotline.sweep")
        let report = try await database.withDatabase(logger: logger) { client in
            try await UrgingLadder.sweep(database: Database(client: client), at: Date().wholeSecond, logger: logger)
        }
        print("urgings \(report.urgings), escalations \(report.escalations), deadlines examined \(report.examined), \(String(format: "%.1f", report.milliseconds)) ms")
    }
}
