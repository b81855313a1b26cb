import Foundation
@testable import HotlineCore
import HotlineHTTP
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Migrations") struct MigrationTests {
    /// Creates an empty database (no template) and drops it afterwards.
    static func withEmptyDatabase(_ body: (PostgresClient.Configuration) async throws -> Void) async throws {
        let name = "m_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await TestDatabase.withClient(try TestDatabase.configuration(database: "postgres")) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: String(name))", logger: TestDatabase.logger)
        }
        try await body(try TestDatabase.configuration(database: String(name)))
        try await TestDatabase.drop(String(name))
    }

    @Test func instancesMigratingAtOnceApplyEachMigrationOnce() async throws {
        try await Self.withEmptyDatabase { configuration in
            let migrator = TestDatabase.migrator
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TestDatabase.withClient(configuration) { client in
                            try await migrator.migrate(client: client, logger: TestDatabase.logger)
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == migrator.migrations.map(\.version))
            try await TestDatabase.withClient(configuration) { client in
                let rows = try await client.query("SELECT version FROM schema_migrations ORDER BY version", logger: TestDatabase.logger)
                var versions: [Int] = []
                for try await version in rows.decode(Int.self) { versions.append(version) }
                #expect(versions == migrator.migrations.map(\.version))
                #expect(try await migrator.pending(client: client, logger: TestDatabase.logger).isEmpty)
            }
        }
    }

    @Test func theServerRefusesASchemaThatIsBehindAndNamesWhatIsMissing() async throws {
        try await Self.withEmptyDatabase { configuration in
            let migrator = TestDatabase.migrator
            // Apply all but the last migration.
            let partial = Migrator(migrations: Array(migrator.migrations.dropLast()))
            try await TestDatabase.withClient(configuration) { client in
                try await partial.migrate(client: client, logger: TestDatabase.logger)
            }
            let app = try await buildApplication(
                HotlineConfiguration(database: configuration, migrations: migrator), logger: TestDatabase.logger
            )
            do {
                try await app.test(.router) { _ in Issue.record("the application started on an old schema") }
            } catch {
                #expect("\(error)".contains(migrator.migrations.last!.name), "\(error)")
            }
        }
    }

    @Test func anEditedMigrationIsRefused() async throws {
        try await Self.withEmptyDatabase { configuration in
            var migrations = TestDatabase.migrator.migrations
            try await TestDatabase.withClient(configuration) { client in
                try await Migrator(migrations: migrations).migrate(client: client, logger: TestDatabase.logger)
            }
            let first = migrations[0]
            migrations[0] = Migration(version: first.version, name: first.name, sql: first.sql + "\n-- edited\n")
            let edited = Migrator(migrations: migrations)
            await #expect(throws: Migrator.Failure.self) {
                try await TestDatabase.withClient(configuration) { client in
                    try await edited.migrate(client: client, logger: TestDatabase.logger)
                }
            }
        }
    }

    @Test func scriptsAreSplitIntoStatementsOutsideQuotesAndFunctionBodies() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'it''s; fine');
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'no; never'; END $$;
            /* block; comment */ SELECT "odd;name" FROM a;
            """
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 3)
        #expect(statements[1].hasSuffix("END $$"))
    }
}
