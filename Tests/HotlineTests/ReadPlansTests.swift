import Foundation
import HotlineCore
import PostgresNIO
import Testing

/// The report's and the workday reads' queries find their rows through indexes (issue 15): run
/// over a seeded database with `enable_seqscan = off`, which leaves a sequential scan in a plan
/// only where no index can serve it, none of them scans `cases`, `case_events` or `deadlines`.
/// The scans are counted by the database itself (pg_stat_user_tables.seq_scan), so that the
/// statements inside SQL functions (appraisal_running_figures) are held to it too, which an
/// EXPLAIN of the outer call does not show.
@Suite("Read plans") struct ReadPlansTests {
    static let watched = ["cases", "case_events", "deadlines"]

    /// Sequential scans of the watched tables so far, once every backend of `connection`'s
    /// database has reported its counts (the reads all run on this one connection).
    static func scans(_ connection: PostgresConnection) async throws -> [String: Int] {
        try await connection.query("SELECT pg_stat_force_next_flush()", logger: TestDatabase.logger)
        _ = try await connection.query("SELECT 1", logger: TestDatabase.logger).collect()
        try await connection.query("SELECT pg_stat_clear_snapshot()", logger: TestDatabase.logger)
        var counts: [String: Int] = [:]
        for row in try await connection.query(
            "SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname = ANY(\(watched))", logger: TestDatabase.logger
        ).collect() {
            let (table, count) = try row.decode((String, Int).self)
            counts[table] = count
        }
        return counts
    }

    @Test func theReportAndTheWorkdayReadsScanNoCasesEventsOrDeadlines() async throws {
        try await withHotline(start: Timestamp.parse("2027-01-18T09:00:00+08:00")!) { hotline in
            // setup: a generated year, and January's cases running: signed, not signed, replied.
            let simulation = YearSimulation(cases: 160, from: Timestamp.parse("2026-01-01T00:00:00+08:00")!,
                                            to: Timestamp.parse("2026-12-31T00:00:00+08:00")!, seed: 2_026_115)
            #expect(try await simulation.run(database: hotline.database, logger: TestDatabase.logger) == 0)
            var open: [String] = []
            for index in 0..<6 {
                let number = try await hotline.fileCase()
                _ = try await hotline.dispatch(number, lead: "housing")
                if index % 2 == 0 { _ = try await hotline.step(number, "sign", as: "handler:housing") }
                if index == 4 { _ = try await hotline.reply(number) }
                open.append(number)
            }
            let now = Timestamp.parse("2027-01-25T10:00:00+08:00")!
            try await hotline.sql { connection in
                try await connection.query("ANALYZE", logger: TestDatabase.logger)
                try await connection.query(#"ALTER DATABASE "\#(unescaped: hotline.databaseName)" SET enable_seqscan = off"#,
                                           logger: TestDatabase.logger)
            }
            // The setup's connections report their own scans when idle, at the latest 10 s after
            // (PostgreSQL's PGSTAT_IDLE_INTERVAL): counted before the reads, not among them.
            try await Task.sleep(for: .seconds(11))
            // One connection, opened after the setting: every read below runs on it.
            var configuration = try TestDatabase.configuration(database: hotline.databaseName)
            configuration.options.maximumConnections = 1
            try await TestDatabase.withClient(configuration) { client in
                let database = Database(client: client)
                let logger = TestDatabase.logger
                let (staff, sample) = try await database.read(logger: logger) { connection in
                    let setting = try await connection.query("SHOW enable_seqscan", logger: logger).collect().first!.decode(String.self)
                    #expect(setting == "off")
                    func person(_ name: String, _ role: Role, _ unit: String? = nil) async throws -> Staff {
                        let id = try await connection.query("""
                            SELECT id FROM users WHERE name = \(name) AND role = \(role.rawValue) AND unit_code IS NOT DISTINCT FROM \(unit)
                            """, logger: logger).collect().first!.decode(Int64.self)
                        return Staff(id: id, role: role, unit: unit)
                    }
                    let staff = [
                        "dispatcher": try await person("派单员甲", .dispatcher), "handler": try await person("承办人", .handler, "housing"),
                        "supervisor": try await person("监察员", .supervisor), "manager": try await person("中心主任", .manager),
                    ]
                    let sample = try await connection.query(
                        "SELECT number, category FROM cases WHERE id = (SELECT max(id) / 2 FROM cases)", logger: logger
                    ).collect().first!.decode((String, String).self)
                    return (staff, sample)
                }
                let phone = try await database.read(logger: logger) { connection in
                    try await connection.query("""
                        SELECT right(k.phone, 4) FROM case_contacts k JOIN cases c ON c.id = k.case_id WHERE c.number = \(open[0])
                        """, logger: logger).collect().first!.decode(String.self)
                }
                let before = try await database.read(logger: logger) { try await Self.scans($0) }

                // act: the reads of scripts/bench reads, and the report's month and year.
                var filters: [(String, CaseFilter)] = []
                func filter(_ name: String, _ change: (inout CaseFilter) -> Void) {
                    var filter = CaseFilter()
                    filter.now = now
                    change(&filter)
                    filters.append((name, filter))
                }
                filter("none") { _ in }
                filter("status") { $0.status = .inProgress }
                filter("type") { $0.type = .complaint }
                filter("urgency") { $0.urgency = .urgent }
                filter("category") { $0.category = sample.1 }
                filter("accepted") { $0.acceptedFrom = Timestamp.parse("2026-06-01T00:00:00+08:00")!; $0.acceptedTo = Timestamp.parse("2026-06-30T23:59:59+08:00")! }
                filter("lead unit") { $0.leadUnit = "housing" }
                filter("overdue") { $0.overdue = true }
                filter("not overdue") { $0.overdue = false }
                filter("escalated") { $0.escalated = true }
                filter("q words") { $0.text = "电梯" }
                filter("q number") { $0.text = sample.0 }
                var listed = 0
                try await database.read(logger: logger) { connection in
                    for (_, filter) in filters {
                        for reader in [staff["dispatcher"]!, staff["handler"]!] {
                            let page = try await CaseQueries.list(filter, for: reader, on: connection, logger: logger)
                            listed += page.items.count
                            if let next = page.nextCursor {
                                var second = filter
                                second.cursor = next
                                listed += try await CaseQueries.list(second, for: reader, on: connection, logger: logger).items.count
                            }
                        }
                    }
                    _ = try await Inbox.list(for: staff["handler"]!, limit: 50, cursor: nil, at: now, on: connection, logger: logger)
                    for number in open.prefix(3) {
                        _ = try await CaseQueries.view(number, for: staff["handler"]!, at: now, on: connection, logger: logger)
                        _ = try await CaseQueries.timeline(number, for: staff["handler"]!, limit: 50, cursor: nil, on: connection, logger: logger)
                    }
                    _ = try await CaseQueries.view(sample.0, for: staff["dispatcher"]!, at: now, on: connection, logger: logger)
                    _ = try await CaseQueries.timeline(sample.0, for: staff["dispatcher"]!, limit: 50, cursor: nil, on: connection, logger: logger)
                    for period in ["2026-06", "2027-01", "2026"] {
                        _ = try await Appraisal.compute(Period(period)!, rollup: true, at: now, on: connection, logger: logger)
                        _ = try await Appraisal.compute(Period(period)!, unit: "housing", at: now, on: connection, logger: logger)
                    }
                    _ = try await Supervision.warnings(for: staff["supervisor"]!, limit: 50, cursor: nil, at: now, on: connection, logger: logger)
                    for openOnly in [false, true] {
                        _ = try await Supervision.escalations(for: staff["supervisor"]!, openOnly: openOnly, at: now, on: connection, logger: logger)
                    }
                    _ = try await Supervision.accountability(for: staff["manager"]!, period: Period("2026-06")!, at: now,
                                                             on: connection, logger: logger)
                    var query = Open311.Query()
                    _ = try await Open311.requests(query, at: now, on: connection, logger: logger)
                    query.status = "open"
                    _ = try await Open311.requests(query, at: now, on: connection, logger: logger)
                }
                let progress = try await PublicRecord.lookup(open[0], phoneLastFour: phone, client: "10.0.0.1", limits: PublicLimits(),
                                                             at: now, database: database, logger: logger)
                #expect(progress.number == open[0])
                let after = try await database.read(logger: logger) { try await Self.scans($0) }

                // verify: no read scanned a watched table; and the count does move on a read no
                // index can serve, so the check can fail.
                #expect(listed > 0)
                #expect(after == before, "sequential scans before \(before), after \(after)")
                let unserved = try await database.read(logger: logger) { connection in
                    _ = try await connection.query("SELECT count(*) FROM case_events WHERE kind || '' = 'note'", logger: logger).collect()
                    return try await Self.scans(connection)
                }
                #expect(unserved["case_events"] == (after["case_events"] ?? 0) + 1)
            }
        }
    }
}

/// The inbox read in the order a unit's deadlines fall (deadlines_unit_open) lists what the
/// whole-unit query it replaces listed, in the same order, page by page.
@Suite("Inbox order") struct InboxOrderTests {
    @Test func everyPageOfTheInboxIsWhatTheWholeUnitQueryGives() async throws {
        try await withHotline { hotline in
            // setup: housing leads some cases and assists others, signed and not, dispatched an
            // hour apart; one lead is left with no deadline running (an idle assignment).
            var numbers: [String] = []
            for index in 0..<7 {
                hotline.clock.set(Timestamp.parse("2026-03-02T09:00:00+08:00")!.addingTimeInterval(Double(index) * 3600))
                let number = try await hotline.fileCase()
                _ = try await hotline.dispatch(number, lead: index % 3 == 2 ? "water" : "housing", assists: index % 3 == 2 ? ["housing"] : [])
                if index % 2 == 0 { _ = try await hotline.step(number, "sign", as: "handler:housing") }
                numbers.append(number)
            }
            try await hotline.sql { connection in
                try await connection.query("""
                    UPDATE deadlines SET closed_at = now(), closed_reason = 'cancelled'
                    WHERE met_at IS NULL AND closed_at IS NULL AND case_id = (SELECT id FROM cases WHERE number = \(numbers[3]))
                    """, logger: TestDatabase.logger)
            }
            // The order of the query the inbox used to make over all of the unit's assignments
            // (deadlines due at the same moment in the order they were opened).
            let expected = try await hotline.sql { connection in
                try await connection.query("""
                    SELECT c.number FROM assignments a
                    JOIN cases c ON c.id = a.case_id
                    LEFT JOIN LATERAL (
                        SELECT id, due_at FROM deadlines
                        WHERE assignment_id = a.id AND met_at IS NULL AND closed_at IS NULL AND step IN ('sign', 'reply', 'opinion', 'review', 'contact')
                        ORDER BY due_at, id LIMIT 1
                    ) d ON true
                    WHERE a.unit_code = 'housing' AND a.status IN ('dispatched', 'signed')
                      AND c.status IN ('dispatched', 'in_progress', 'return_requested')
                    ORDER BY d.due_at NULLS LAST, d.id, a.id
                    """, logger: TestDatabase.logger).collect().map { try $0.decode(String.self) }
            }
            // act: the inbox two at a time.
            var listed: [String] = []
            var cursor: String? = nil
            var pages = 0
            repeat {
                let page = try await hotline.request(.get, "/api/v1/inbox?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                                                     as: "handler:housing").object()
                listed += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? String }
                cursor = page["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            // verify
            #expect(expected.count == 7)
            #expect(expected.last == numbers[3])
            #expect(listed == expected)
            #expect(pages == 4)
        }
    }
}
