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

    /// A database that ran the lifecycle before the table (schema 13) upgrades with its record:
    /// an open return window becomes a deadline with the limit that set it and no ladder, a
    /// pending extension request learns the deadline it asked about, a request whose assignment
    /// ended lapses, and stored times become whole seconds (so 23:59:59.4 is on time).
    @Test func aDatabaseOfTheOldLifecycleUpgradesWithItsRecord() async throws {
        try await Self.withEmptyDatabase { configuration in
            let migrator = TestDatabase.migrator
            let old = Migrator(migrations: migrator.migrations.filter { $0.version <= 13 })
            try await TestDatabase.withClient(configuration) { client in
                try await old.migrate(client: client, logger: TestDatabase.logger)
                try await client.withConnection { connection in
                    let logger = TestDatabase.logger
                    _ = try await DemoOrganisation.install(on: connection, logger: logger, without: [.community])
                    // Written as schema 13 holds a user (today's Users.create names later columns).
                    let userId = try await connection.query(
                        "INSERT INTO users (name, role) VALUES ('旧系统派单员', 'dispatcher') RETURNING id", logger: logger
                    ).collect()[0].decode(Int64.self)
                    // Two cases as schema 13 numbered them: the day's row counted to 2.
                    let ids = try await connection.query("""
                        INSERT INTO cases (number, channel, case_type, urgency, category, subject, description, anonymous,
                                           confidential, contact_consent, status, accepted_at, accepted_by)
                        SELECT '2026030200000' || n, 'phone', 'complaint', 'normal', 'housing.property', '楼道灯坏了', '三号楼楼道灯坏了一周',
                               false, false, true, 'in_progress', '2026-03-02 09:00:00+08', \(userId)
                        FROM generate_series(1, 2) n ORDER BY n RETURNING id
                        """, logger: logger).collect().map { try $0.decode(Int64.self) }
                    try await connection.query("INSERT INTO case_number_days (day, last_seq) VALUES ('2026-03-02', 2)", logger: logger)
                    // As the old code left them: one case signed at 23:59:59.4 with an extension
                    // pending; one whose assignment was cancelled with a return still pending.
                    try await connection.query("""
                        INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at, round, return_until, signed_at, signed_by)
                        VALUES (\(ids[0]), 'housing', 'lead', 'signed', '2026-03-02 09:10:00.7+08', 1, '2026-03-04 23:59:59+08',
                                '2026-03-03 23:59:59.4+08', \(userId)),
                               (\(ids[1]), 'housing', 'lead', 'cancelled', '2026-03-02 09:10:00+08', 1, '2026-03-04 23:59:59+08', NULL, NULL)
                        """, logger: logger)
                    try await connection.query("""
                        INSERT INTO deadlines (case_id, assignment_id, unit_code, step, started_at, limit_amount, limit_unit, warn_at, due_at,
                                               provisional, met_at)
                        SELECT a.case_id, a.id, 'housing', s.step, a.dispatched_at, s.amount, 'working_days', s.warn::timestamptz,
                               s.due::timestamptz, false, s.met::timestamptz
                        FROM assignments a, (VALUES ('sign', 1, '2026-03-02 23:59:59+08', '2026-03-03 23:59:59+08', '2026-03-03 23:59:59.4+08'),
                                                    ('reply', 5, '2026-03-06 23:59:59+08', '2026-03-09 23:59:59+08', NULL))
                                             AS s (step, amount, warn, due, met)
                        WHERE a.case_id = \(ids[0])
                        """, logger: logger)
                    try await connection.query("""
                        INSERT INTO extension_requests (case_id, assignment_id, unit_code, working_days, reason, requested_at, requested_by)
                        SELECT case_id, id, 'housing', 3, '需协调', '2026-03-04 10:00:00.25+08', \(userId) FROM assignments WHERE case_id = \(ids[0])
                        """, logger: logger)
                    try await connection.query("""
                        INSERT INTO return_requests (case_id, assignment_id, unit_code, reason, requested_at, requested_by)
                        SELECT case_id, id, 'housing', '不属本单位', '2026-03-02 10:00:00+08', \(userId) FROM assignments WHERE case_id = \(ids[1])
                        """, logger: logger)
                }
                #expect(try await migrator.migrate(client: client, logger: TestDatabase.logger).contains(14))
                try await client.withConnection { connection in
                    let logger = TestDatabase.logger
                    let window = try await connection.query("""
                        SELECT limit_amount, limit_unit, to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'),
                               provisional, ladder_next_at IS NULL
                        FROM deadlines WHERE step = 'return'
                        """, logger: logger).collect()
                    #expect(window.count == 1)  // the open window; the cancelled assignment's is not open
                    let (amount, unit, due, provisional, noLadder) = try window[0].decode((Int, String, String, Bool, Bool).self)
                    #expect("\(amount) \(unit) \(due) \(provisional) \(noLadder)" == "2 working_days 2026-03-04 23:59:59 false true")
                    let pending = try await connection.query("""
                        SELECT e.status, d.step, to_char(e.requested_at, 'US') FROM extension_requests e JOIN deadlines d ON d.id = e.deadline_id
                        """, logger: logger).collect()
                    let request = try pending.first.map { row in
                        let (status, step, micros) = try row.decode((String, String, String).self)
                        return "\(status) \(step) \(micros)"
                    }
                    #expect(request == "pending reply 000000")
                    let returned = try await connection.query("SELECT status FROM return_requests", logger: logger).collect()
                    #expect(try returned.first?.decode(String.self) == "lapsed")
                    let sign = try await connection.query("""
                        SELECT met_at <= due_at FROM deadlines WHERE step = 'sign'
                        """, logger: logger).collect()
                    #expect(try sign.first?.decode(Bool.self) == true)
                    // The day's numbers go on after the upgrade of the numbering (sql/0023).
                    let input = try JSONDecoder().decode(NewCase.self, from: Data(CaseBodies.complaint().utf8))
                    let userId = try await connection.query("SELECT id FROM users LIMIT 1", logger: logger).collect()[0].decode(Int64.self)
                    let next = try await Intake.accept(input, by: Staff(id: userId, role: .operator, unit: nil),
                                                       at: Timestamp.parse("2026-03-02T18:00:00+08:00")!, on: connection, logger: logger)
                    #expect(next.number == "20260302000003")
                }
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
