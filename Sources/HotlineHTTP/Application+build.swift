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
    /// Where reports and statistics read: their own pool, with their own time limit, on a
    /// streaming replica (a few seconds behind) where there is one, else on the main database.
    public var reportsDatabase: PostgresClient.Configuration
    public var migrations: Migrator
    public var clock: any HotlineClock
    /// When set, an admin may set this clock and run a sweep over HTTP (`--test-clock`).
    public var testClock: SettableClock?
    /// How often this instance sweeps for late steps; nil: never (tests sweep by hand).
    public var sweepInterval: Duration?
    /// Take the client's address from X-Forwarded-For (only behind a proxy that sets it).
    public var trustForwardedFor: Bool
    /// What the public endpoints allow, across all instances.
    public var publicLimits: PublicLimits
    /// How long a replay record of an `Idempotency-Key` is kept.
    public var idempotencyRetention: Duration
    /// How long a token lasts unless it is issued with its own end.
    public var tokenLifetime: Duration
    /// Where /metrics is served, apart from the API (nil: nowhere).
    public var metrics: (hostname: String, port: Int)?
    /// An HTTP connection idle this long is closed.
    public var idleTimeout: Duration
    /// Seals webhook secrets (`HOTLINE_SECRETS_KEY`); without it no subscription can be made.
    public var secretsKey: SecretsKey?
    /// How often this instance sends the outbox's due deliveries; nil: never (tests send by hand).
    public var deliveryInterval: Duration?
    public var outboxPolicy: OutboxPolicy
    /// Where SMS go (nil: none are sent; they wait, queued). Sent on the outbox's interval, and
    /// only with the secrets key, from which the survey's links are made.
    public var smsGateway: SMSGateway?
    /// The workbench's cookies carry `Secure`: set it where the service is reached over TLS.
    public var secureCookies: Bool

    public init(
        hostname: String = "127.0.0.1", port: Int = 8080, database: PostgresClient.Configuration,
        migrations: Migrator, clock: any HotlineClock = SystemClock(), maxDatabaseConnections: Int = 20,
        testClock: SettableClock? = nil, sweepInterval: Duration? = nil, trustForwardedFor: Bool = false,
        publicLimits: PublicLimits = PublicLimits(), reportsDatabase: PostgresClient.Configuration? = nil,
        statementTimeout: Duration = .seconds(10), reportsStatementTimeout: Duration = .seconds(120),
        idempotencyRetention: Duration = .seconds(72 * 3600), tokenLifetime: Duration = .seconds(90 * 86_400),
        metrics: (hostname: String, port: Int)? = nil, idleTimeout: Duration = .seconds(60),
        secretsKey: SecretsKey? = nil, deliveryInterval: Duration? = nil, outboxPolicy: OutboxPolicy = OutboxPolicy(),
        smsGateway: SMSGateway? = nil, secureCookies: Bool = false
    ) {
        self.hostname = hostname
        self.port = port
        self.database = database
        self.database.options.maximumConnections = maxDatabaseConnections
        // Every statement has a time limit, and no transaction sits open holding its locks.
        Self.limit(&self.database, statements: statementTimeout)
        var reports = reportsDatabase ?? database
        reports.options.maximumConnections = max(2, maxDatabaseConnections / 4)
        // Reports only read: the session refuses writes, whatever server it lands on.
        reports.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
        Self.limit(&reports, statements: reportsStatementTimeout)
        self.reportsDatabase = reports
        self.migrations = migrations
        self.clock = testClock ?? clock
        self.testClock = testClock
        self.sweepInterval = sweepInterval
        self.trustForwardedFor = trustForwardedFor
        self.publicLimits = publicLimits
        self.idempotencyRetention = idempotencyRetention
        self.tokenLifetime = tokenLifetime
        self.metrics = metrics
        self.idleTimeout = idleTimeout
        self.secretsKey = secretsKey
        self.deliveryInterval = deliveryInterval
        self.outboxPolicy = outboxPolicy
        self.smsGateway = smsGateway
        self.secureCookies = secureCookies
    }

    static func limit(_ configuration: inout PostgresClient.Configuration, statements: Duration) {
        let milliseconds = statements.components.seconds * 1000 + statements.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters.append(("statement_timeout", "\(milliseconds)"))
        configuration.options.additionalStartupParameters.append(("idle_in_transaction_session_timeout", "\(max(milliseconds * 2, 60_000))"))
    }

    /// The longest a statement of the main pool may run (the reports' limit is longer).
    var statementTimeout: String {
        database.options.additionalStartupParameters.last { $0.0 == "statement_timeout" }?.1 ?? "0"
    }

    var reportsStatementTimeout: String {
        reportsDatabase.options.additionalStartupParameters.last { $0.0 == "statement_timeout" }?.1 ?? "0"
    }
}

/// What the routes share.
struct AppServices: Sendable {
    let database: Database
    /// Reports and statistics: their own pool (the read-only replica when one is configured).
    let reports: Database
    let clock: any HotlineClock
    let migrator: Migrator
    let openAPIDocument: [UInt8]
    let configuration: HotlineConfiguration
    /// The workbench's templates (nil where only the routes are listed).
    var workbench: WorkbenchPages? = nil
    var mutation: Mutation { Mutation(database: database, clock: clock, retention: configuration.idempotencyRetention) }
    var housekeeping: Housekeeping {
        Housekeeping(idempotencyRetention: configuration.idempotencyRetention, publicLimits: configuration.publicLimits)
    }
}

/// The one application of the binary and of the tests.
public func buildApplication(
    _ configuration: HotlineConfiguration, logger: Logger
) async throws -> some ApplicationProtocol {
    let client = PostgresClient(configuration: configuration.database, backgroundLogger: Database.capped(logger))
    let reportsClient = PostgresClient(configuration: configuration.reportsDatabase, backgroundLogger: Database.capped(logger))
    let services = AppServices(
        database: Database(client: client),
        reports: Database(client: reportsClient),
        clock: configuration.clock,
        migrator: configuration.migrations,
        openAPIDocument: try OpenAPIDocument.bytes(),
        configuration: configuration,
        workbench: try await WorkbenchPages.load(secureCookies: configuration.secureCookies, clock: configuration.clock)
    )
    let router = buildRouter(services)
    var background: [any Service] = [client, reportsClient]
    if let interval = configuration.sweepInterval {
        background.append(Periodic.supervision(database: services.database, clock: services.clock, interval: interval,
                                               housekeeping: services.housekeeping, logger: logger))
    }
    if let interval = configuration.deliveryInterval, let key = configuration.secretsKey {
        background.append(Periodic.webhooks(database: services.database, clock: services.clock, key: key,
                                            policy: configuration.outboxPolicy, interval: interval, logger: logger))
        if let gateway = configuration.smsGateway {
            background.append(Periodic.sms(database: services.database, clock: services.clock, gateway: gateway, key: key,
                                           policy: configuration.outboxPolicy, interval: interval, logger: logger))
        }
    }
    if let metrics = configuration.metrics {
        background.append(buildMetricsApplication(hostname: metrics.hostname, port: metrics.port, logger: logger))
    }
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(configuration.idleTimeout.components.seconds))),
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

/// /metrics on a listener of its own (by default on loopback), so that what the service counts
/// is not open to whoever can reach the API.
public func buildMetricsApplication(hostname: String, port: Int, logger: Logger) -> some ApplicationProtocol {
    let router = Router(context: HotlineRequestContext.self)
    MetricsExport.register(on: router)
    return Application(router: router, configuration: .init(address: .hostname(hostname, port: port), serverName: "hotline-metrics"),
                       logger: logger)
}

func buildRouter(_ services: AppServices) -> Router<HotlineRequestContext> {
    let router = Router(context: HotlineRequestContext.self)
    MetricsExport.bootstrapOnce(maxConnections: services.configuration.database.options.maximumConnections)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: RequestLogger())
    router.add(middleware: ProblemMiddleware())
    ServiceRoutes(services: services).register(on: router)
    PublicRoutes(
        services: services,
        clientAddress: ClientAddress(trustForwardedFor: services.configuration.trustForwardedFor)
    ).register(on: router)
    RatingRoutes(services: services).register(on: router)
    if let pages = services.workbench {
        WorkbenchRoutes(services: services, pages: pages,
                        clientAddress: ClientAddress(trustForwardedFor: services.configuration.trustForwardedFor)).register(on: router)
    }
    let api = router.group("api/v1").add(middleware: Authenticator(database: services.database, clock: services.clock))
    OrganisationRoutes(services: services).register(on: api)
    CalendarRoutes(services: services).register(on: api)
    CaseRoutes(services: services).register(on: api)
    HandlingRoutes(services: services).register(on: api)
    SupervisionRoutes(services: services).register(on: api)
    KnowledgeRoutes(services: services).register(on: api)
    AppraisalRoutes(services: services).register(on: api)
    Open311Routes(services: services).register(on: router, api: api)
    SubscriptionRoutes(services: services).register(on: api)
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
