import ArgumentParser
import Foundation
import HotlineCore
import Logging
import PostgresNIO

/// Benchmarks that print figures. Never tests: they run against a database of their own
/// (`scripts/bench` makes one) and fill it with generated rows through the real tables.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print figures (see scripts/bench).", subcommands: [SweepBench.self]
    )
}

struct SweepBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Seed open assignments and time supervision sweeps over them."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Open assignments (each with an open reply deadline) to seed") var assignments = 1_000_000
    @Option(help: "How many of them are overdue when the sweep runs") var due = 1_000
    @Option(help: "Sweeps to time") var repeats = 5

    func run() async throws {
        let logger = {
            var logger = makeLogger("hotline.bench")
            logger.logLevel = .warning
            return logger
        }()
        let migrator = try database.migrator()
        let (assignments, due, repeats) = (self.assignments, self.due, self.repeats)
        try await database.withDatabase(logger: logger) { client in
            try await migrator.migrate(client: client, logger: logger)
            let db = Database(client: client)
            let seeded = try await db.read(logger: logger) { connection in
                try await connection.query("SELECT count(*) FROM deadlines", logger: logger).collect().first!.decode(Int.self)
            }
            let now = Date()
            if seeded == 0 {
                print("seeding \(assignments) open assignments (\(due) overdue)…")
                let started = ContinuousClock.now
                try await Self.seed(assignments: assignments, due: due, now: now, database: db, logger: logger)
                print("seeded in \(ContinuousClock.now - started)")
            } else {
                print("reusing \(seeded) seeded deadlines")
            }
            let plan = try await db.read(logger: logger) { connection in
                try await connection.query("""
                    EXPLAIN SELECT id FROM deadlines
                    WHERE ladder_next_at < \(now) AND ladder_next_at IS NOT NULL AND met_at IS NULL AND closed_at IS NULL
                    ORDER BY ladder_next_at LIMIT 500 FOR UPDATE SKIP LOCKED
                    """, logger: logger).collect().map { try $0.decode(String.self) }
            }
            print("plan of the sweep's claim:\n  " + plan.joined(separator: "\n  "))
            // The first sweep writes urging no. 1 for every overdue deadline; the later ones find
            // nothing due until the end of the next working day: the steady cost of a sweep.
            for run in 1...max(repeats, 2) {
                let report = try await UrgingLadder.sweep(database: db, at: now, logger: logger)
                print(String(format: "sweep %d: %.1f ms, %d urgings, %d escalations, %d deadlines examined",
                             run, report.milliseconds, report.urgings, report.escalations, report.examined))
            }
        }
    }

    /// Cases in progress, each with a signed lead assignment and an open reply deadline; `due`
    /// of them passed an hour ago, the rest fall due over the coming weeks.
    static func seed(assignments: Int, due: Int, now: Date, database: Database, logger: Logger) async throws {
        try await database.transaction(logger: logger) { connection in
            try await DemoOrganisation.install(on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO users (name, role) SELECT 'bench', 'dispatcher'
                WHERE NOT EXISTS (SELECT 1 FROM users WHERE name = 'bench')
                """, logger: logger)
        }
        let units = DemoOrganisation.units.map(\.code)
        // Every stride-th case (ids start at 1 in a fresh database) is overdue.
        let stride = max(assignments / max(due, 1), 1)
        let chunk = 100_000
        var done = 0
        while done < assignments {
            let count = min(chunk, assignments - done)
            let first = done + 1
            try await database.transaction(logger: logger) { connection in
                try await connection.query("""
                    WITH new_cases AS (
                        INSERT INTO cases (number, channel, case_type, urgency, category, subject, description, anonymous,
                                           confidential, contact_consent, status, accepted_at, accepted_by, dispatch_round)
                        SELECT '29' || lpad(g::text, 12, '0'), 'phone', 'complaint', 'normal', 'housing.property',
                               '基准测试', '基准测试工单', true, false, false, 'in_progress', \(now) - interval '3 days',
                               (SELECT id FROM users WHERE name = 'bench'), 1
                        FROM generate_series(\(first), \(first + count - 1)) g
                        RETURNING id
                    ), new_assignments AS (
                        INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at, round, signed_at, signed_by)
                        SELECT id, (\(units))[1 + id % \(units.count)], 'lead', 'signed', \(now) - interval '3 days', 1,
                               \(now) - interval '3 days', (SELECT id FROM users WHERE name = 'bench')
                        FROM new_cases
                        RETURNING id, case_id, unit_code
                    )
                    INSERT INTO deadlines (case_id, assignment_id, unit_code, step, started_at, limit_amount, limit_unit,
                                           warn_at, due_at, provisional)
                    SELECT case_id, id, unit_code, 'reply', \(now) - interval '3 days', 5, 'working_days',
                           CASE WHEN case_id % \(stride) = 0 THEN \(now) - interval '2 hours'
                                ELSE \(now) + (1 + case_id % 20) * interval '1 day' END,
                           CASE WHEN case_id % \(stride) = 0 THEN \(now) - interval '1 hour'
                                ELSE \(now) + (2 + case_id % 20) * interval '1 day' END,
                           false
                    FROM new_assignments
                    """, logger: logger)
            }
            done += count
            print("  \(done) / \(assignments)")
        }
        try await database.read(logger: logger) { connection in
            try await connection.query("ANALYZE", logger: logger)
        }
    }
}
