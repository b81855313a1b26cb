import Foundation
import HotlineCore
import Logging
import PostgresNIO

/// Real PostgreSQL for every test: `scripts/test` starts a throwaway cluster and exports
/// HOTLINE_TEST_DATABASE_URL. The schema is migrated once into a template; each test gets its
/// own database cloned from it, so tests run in parallel and never see each other's rows.
enum TestDatabase {
    static let logger: Logger = {
        var logger = Logger(label: "hotline.test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return logger
    }()

    static var adminURL: String {
        guard let url = ProcessInfo.processInfo.environment["HOTLINE_TEST_DATABASE_URL"] else {
            fatalError("HOTLINE_TEST_DATABASE_URL is not set: run the tests with scripts/test")
        }
        return url
    }

    static func configuration(database name: String) throws -> PostgresClient.Configuration {
        var configuration = try DatabaseURL.configuration(adminURL)
        configuration.database = name
        configuration.options.maximumConnections = 8
        return configuration
    }

    static let migrator: Migrator = {
        do { return try Migrator(directory: Migrator.locate(nil)) } catch { fatalError("\(error)") }
    }()

    /// Made once per test process.
    private static let template = Task<String, any Error> {
        let name = "hotline_template_\(ProcessInfo.processInfo.processIdentifier)"
        try await withClient(try configuration(database: "postgres")) { admin in
            try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
            try await admin.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        }
        try await withClient(try configuration(database: name)) { client in
            try await migrator.migrate(client: client, logger: logger)
            // The service's own login: a member of the runtime role the migrations set up.
            try await client.query("""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline_test_service') THEN
                        CREATE ROLE hotline_test_service LOGIN IN ROLE hotline_runtime;
                    END IF;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END $$
                """, logger: logger)
        }
        return name
    }

    /// The login the service runs as in the tests: it can only do what `hotline_runtime` may.
    static let serviceRole = "hotline_test_service"

    /// A connection of a test's database as the service's runtime role.
    static func serviceConfiguration(database name: String) throws -> PostgresClient.Configuration {
        var configuration = try configuration(database: name)
        configuration.username = serviceRole
        configuration.password = nil
        return configuration
    }

    /// A new database with the current schema; dropped by `drop`.
    static func fresh() async throws -> String {
        let template = try await template.value
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await withClient(try configuration(database: "postgres")) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: String(name)) TEMPLATE \(unescaped: template)", logger: logger)
        }
        return String(name)
    }

    static func drop(_ name: String) async throws {
        try await withClient(try configuration(database: "postgres")) { admin in
            try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
        }
    }

    /// Runs `body` with a running client, and shuts the client down afterwards.
    static func withClient<T: Sendable>(
        _ configuration: PostgresClient.Configuration, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
