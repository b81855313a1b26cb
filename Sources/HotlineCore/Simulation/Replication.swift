import Foundation
import Logging
import PostgresNIO

/// Multiplies a generated record for benchmarks at scale: every case, with everything that
/// hangs off it (contacts, assignments, deadlines, requests, opinions, replies and their reviews,
/// first contacts, visits, urgings,
/// escalations and its timeline), copied with fresh ids and case numbers. A copy of a
/// consistent record is consistent, so reports over it mean what they mean over the original;
/// simulating millions of cases one operation at a time would take this machine days.
public enum Replication {
    /// Each table, and the columns of it that point at rows of copied tables.
    static let tables: [(name: String, references: [String: String])] = [
        ("cases", ["merged_into": "cases"]),
        ("case_contacts", ["case_id": "cases"]),
        // A child assignment after its parent (ordered by id, which the trigger that checks the
        // parent can then see).
        ("assignments", ["case_id": "cases", "parent_id": "assignments"]),
        ("deadlines", ["case_id": "cases", "assignment_id": "assignments"]),
        ("return_requests", ["case_id": "cases", "assignment_id": "assignments"]),
        ("extension_requests", ["case_id": "cases", "assignment_id": "assignments", "deadline_id": "deadlines"]),
        ("opinions", ["case_id": "cases", "assignment_id": "assignments"]),
        ("replies", ["case_id": "cases", "assignment_id": "assignments", "reviewer_assignment_id": "assignments"]),
        ("reply_reviews", ["case_id": "cases", "reply_id": "replies", "assignment_id": "assignments"]),
        ("contacts", ["case_id": "cases", "assignment_id": "assignments"]),
        ("visits", ["case_id": "cases", "reply_id": "replies"]),
        ("urgings", ["case_id": "cases", "deadline_id": "deadlines"]),
        ("escalations", ["case_id": "cases", "deadline_id": "deadlines"]),
        ("case_events", ["case_id": "cases"]),
        ("case_articles", ["case_id": "cases"]),
        // A copy's appraisal facts are its original's (the copy is the same record); the sums
        // are added up from them once every copy is made.
        ("appraisal_facts", ["case_id": "cases"]),
    ]

    /// Moves the id sequence of every table a copy writes to at least `floor`: rows made by the
    /// service's operations after it (a benchmark's open cases) stay clear of the ids later
    /// copies take, which follow the original's extent from below.
    public static func reserveIds(from floor: Int64, database: Database, logger: Logger) async throws {
        try await database.transaction(logger: logger) { connection in
            for table in tables.map(\.name) {
                guard try await connection.row("""
                    SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = \(table) AND column_name = 'id'
                    """, logger: logger) != nil else { continue }
                try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(table)', 'id'), greatest(\(floor), (SELECT coalesce(max(id), 0) FROM \(table))))
                    """), logger: logger)
            }
        }
    }

    /// Copies the first `baseCases` cases (by id) `copies` times.
    public static func replicate(
        baseCases: Int64, copies: ClosedRange<Int>, database: Database, logger: Logger,
        progress: (@Sendable (Int) -> Void)? = nil
    ) async throws {
        // The extent of the original record in every table, fixed before the first copy.
        var extent: [String: Int64] = [:]
        var columns: [String: [String]] = [:]
        let maxSeq = try await database.read(logger: logger) { connection -> Int in
            for table in tables.map(\.name) {
                columns[table] = try await connection.rows("""
                    SELECT column_name FROM information_schema.columns
                    WHERE table_schema = 'public' AND table_name = \(table) ORDER BY ordinal_position
                    """, logger: logger).map { try $0.value("column_name", as: String.self) }
                if columns[table]!.contains("id") {
                    let row = try await connection.row(
                        "SELECT coalesce(max(id), 0) AS n FROM \(unescaped: table) WHERE \(unescaped: table == "cases" ? "id" : "case_id") <= \(baseCases)",
                        logger: logger
                    )!
                    extent[table] = try row.value("n", as: Int64.self)
                }
            }
            return try await connection.row(
                "SELECT coalesce(max(right(number, 6)::int), 0) AS n FROM cases WHERE id <= \(baseCases)", logger: logger
            )!.value("n", as: Int.self)
        }
        for copy in copies {
            try await database.transaction(logger: logger) { connection in
                // The copied events would each compute their case's facts again at COMMIT: the
                // facts are copied instead (the owner's right; back on at the end of the copy).
                try await connection.query("ALTER TABLE case_events DISABLE TRIGGER case_events_appraisal", logger: logger)
                for (table, references) in tables {
                    let names = columns[table]!
                    let values = names.map { column -> String in
                        if column == "id" { return "id + \(Int64(copy) * extent[table]!)" }
                        if let target = references[column] { return "\(column) + \(Int64(copy) * extent[target]!)" }
                        if table == "cases" && column == "number" {
                            return "left(number, 8) || lpad((right(number, 6)::int + \(copy * maxSeq))::text, 6, '0')"
                        }
                        // A case points at its reply, which is copied after it: set below.
                        if table == "cases" && column == "reply_id" { return "NULL" }
                        return column
                    }
                    let scope = table == "cases" ? "id <= \(baseCases)" : "case_id <= \(baseCases)"
                    let overriding = names.contains("id") ? "OVERRIDING SYSTEM VALUE" : ""
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        INSERT INTO \(table) (\(names.joined(separator: ", "))) \(overriding)
                        SELECT \(values.joined(separator: ", ")) FROM \(table) WHERE \(scope)\(names.contains("id") ? " ORDER BY id" : "")
                        """), logger: logger)
                }
                let (caseShift, replyShift) = (Int64(copy) * extent["cases"]!, Int64(copy) * extent["replies"]!)
                try await connection.query("""
                    UPDATE cases c SET reply_id = o.reply_id + \(replyShift)
                    FROM cases o WHERE o.id <= \(baseCases) AND o.reply_id IS NOT NULL AND c.id = o.id + \(caseShift)
                    """, logger: logger)
                // The copies' other deferred triggers run now: a table with pending trigger events
                // cannot be altered.
                try await connection.query("SET CONSTRAINTS ALL IMMEDIATE", logger: logger)
                try await connection.query("ALTER TABLE case_events ENABLE ALWAYS TRIGGER case_events_appraisal", logger: logger)
            }
            progress?(copy)
        }
        try await database.transaction(logger: logger) { connection in
            for table in tables.map(\.name) where columns[table]!.contains("id") {
                try await connection.query(PostgresQuery(unsafeSQL:
                    "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT max(id) FROM \(table)))"), logger: logger)
            }
            // A day's next number follows the copies' last (sql/0023: a number is the sequence's
            // value less the day's base).
            try await connection.query("""
                INSERT INTO case_number_days (day, base)
                SELECT to_date(left(number, 8), 'YYYYMMDD'), (SELECT last_value FROM case_numbers) - max(right(number, 6)::int) - 1
                FROM cases GROUP BY 1
                ON CONFLICT (day) DO UPDATE SET base = least(case_number_days.base, excluded.base)
                """, logger: logger)
            try await connection.query("SELECT appraisal_sums_from_facts()", logger: logger)
            // The copies landed on days already kept: the hotspots' days are kept again.
            try await HotspotDays.forget(on: connection, logger: logger)
        }
    }
}
