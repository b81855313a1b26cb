import Foundation
import HotlineCore
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Everything the service needs to run, from flags and environment (see README, "Configuration").
public struct HotlineConfiguration: Sendable {
    public var hostname: String
    public var port: Int
    public var database: PostgresClient.Configuration
    /// Where reports and statistics read; may be a streaming replica, so a few seconds behind.
    /// Nil: the main database.
    public var reportsDatabase: PostgresClient.Configuration?
    public var migrations: Migrator
    public var clock: any HotlineClock
    /// When set, an admin may set this clock and run a sweep over HTTP (`--test-clock`).
    public var testClock: SettableClock?
    /// How often this instance sweeps for late steps; nil: never (tests sweep by hand).
    public var sweepInterval: Duration?
    /// Take the client's address from X-Forwarded-For (only behind a proxy that sets it).
    public var trustForwardedFor: Bool
    /// Public progress lookups per client address and minute.
    public var publicLookupsPerMinute: Int

    public init(
        hostname: String = "127.0.0.1", port: Int = 8080, database: PostgresClient.Configuration,
        migrations: Migrator, clock: any HotlineClock = SystemClock(), maxDatabaseConnections: Int = 20,
        testClock: SettableClock? = nil, sweepInterval: Duration? = nil, trustForwardedFor: Bool = false,
        publicLookupsPerMinute: Int = 10, reportsDatabase: PostgresClient.Configuration? = nil
    ) {
        self.hostname = hostname
        self.port = port
        self.database = database
        self.database.options.maximumConnections = maxDatabaseConnections
        self.migrations = migrations
        self.clock = testClock ?? clock
        self.testClock = testClock
        self.sweepInterval = sweepInterval
        self.trustForwardedFor = trustForwardedFor
        self.publicLookupsPerMinute = publicLookupsPerMinute
        if var reports = reportsDatabase {
            reports.options.maximumConnections = max(2, maxDatabaseConnections / 4)
            // Reports only read: the session refuses writes, whatever server it lands on.
            reports.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
            self.reportsDatabase = reports
        }
    }
}

/// What the routes share.
struct AppServices: Sendable {
    let database: Database
    /// Reports and statistics: the read-only connection when one is configured.
    let reports: Database
    let clock: any HotlineClock
    let migrator: Migrator
    let openAPIDocument: [UInt8]
    let configuration: HotlineConfiguration
    var mutation: Mutation { Mutation(database: database, clock: clock) }
}

/// The one application of the binary and of the tests.
public func buildApplication(
    _ configuration: HotlineConfiguration, logger: Logger
) async throws -> some ApplicationProtocol {
    let client = PostgresClient(configuration: configuration.database, backgroundLogger: Database.capped(logger))
    let reportsClient = configuration.reportsDatabase.map {
        PostgresClient(configuration: $0, backgroundLogger: Database.capped(logger))
    }
    let services = AppServices(
        database: Database(client: client),
        reports: Database(client: reportsClient ?? client),
        clock: configuration.clock,
        migrator: configuration.migrations,
        openAPIDocument: try OpenAPIDocument.bytes(),
        configuration: configuration
    )
    let router = buildRouter(services)
    var background: [any Service] = [client]
    if let reportsClient { background.append(reportsClient) }
    if let interval = configuration.sweepInterval {
        background.append(SupervisionSweeper(database: services.database, clock: services.clock, interval: interval, logger: logger))
    }
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.hostname, port: configuration.port), serverName: "hotline"),
        services: background,
        logger: logger
    )
    // Refuse to serve on a schema that is behind: the code would meet tables it does not know.
    app.beforeServerStarts {
        let pending = try await configuration.migrations.pending(client: client, logger: logger)
        if let first = pending.first {
            throw Migrator.Failure(description:
                "the database schema is behind: migration \(first.name) is missing (\(pending.count) pending); run `hotline migrate`")
        }
    }
    return app
}

func buildRouter(_ services: AppServices) -> Router<HotlineRequestContext> {
    let router = Router(context: HotlineRequestContext.self)
    MetricsExport.register(on: router, maxConnections: services.configuration.database.options.maximumConnections)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: RequestLogger())
    router.add(middleware: ProblemMiddleware())
    ServiceRoutes(services: services).register(on: router)
    PublicRoutes(
        services: services,
        limiter: RateLimiter(capacity: services.configuration.publicLookupsPerMinute,
                             perMinute: services.configuration.publicLookupsPerMinute),
        clientAddress: ClientAddress(trustForwardedFor: services.configuration.trustForwardedFor)
    ).register(on: router)
    let api = router.group("api/v1").add(middleware: Authenticator(database: services.database))
    OrganisationRoutes(services: services).register(on: api)
    CalendarRoutes(services: services).register(on: api)
    CaseRoutes(services: services).register(on: api)
    HandlingRoutes(services: services).register(on: api)
    SupervisionRoutes(services: services).register(on: api)
    KnowledgeRoutes(services: services).register(on: api)
    AppraisalRoutes(services: services).register(on: api)
    Open311Routes(services: services).register(on: router, api: api)
    if let clock = services.configuration.testClock {
        TestClockRoutes(services: services, clock: clock).register(on: api)
    }
    return router
}

/// The OpenAPI document, kept in the repository beside the code it describes.
public enum OpenAPIDocument {
    public static func bytes() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw Migrator.Failure(description: "openapi.yaml is missing from the bundle")
        }
        return Array(try Data(contentsOf: url))
    }
}

/// The routes the router knows, for proving the OpenAPI document true to them.
public func registeredRoutes(_ configuration: HotlineConfiguration) throws -> [(method: String, path: String)] {
    let client = PostgresClient(configuration: configuration.database)
    let services = AppServices(database: Database(client: client), reports: Database(client: client), clock: configuration.clock,
                               migrator: configuration.migrations, openAPIDocument: [], configuration: configuration)
    return buildRouter(services).routes.map { (method: $0.method.rawValue, path: $0.path.description) }
}
