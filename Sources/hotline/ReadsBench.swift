import ArgumentParser
import Foundation
import HotlineCore
import Logging
import PostgresNIO

/// What `scripts/bench reads` reads with, over the record `bench appraisal` copied up: the
/// record's biggest unit given an inbox of open cases (made through the service's own
/// operations, so that each has its timeline, deadlines and masked contact), and tokens for the
/// roles that read. Writes files for wrk into `--output`: `tokens` (role and token per line),
/// and one file of request paths per read (cycled by scripts/lib/bench/reads.lua).
struct ReadsFixture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reads-fixture",
        abstract: "Give the biggest unit an inbox of open cases and write the tokens and paths scripts/bench reads uses."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Open cases in the biggest unit's inbox") var open = 10_000
    @Option(help: "Folder the tokens and path lists are written to") var output: String

    /// The open cases are accepted from this day on: after the simulated year, so that no copy of
    /// it ever makes a number of these days, and before the hour the service is read at.
    static let firstDay = LocalDate(year: 2027, month: 1, day: 4)!
    /// The open cases' ids (and their rows') start here: far above any id a copy of the
    /// record takes, up to 12 M cases and their events.
    static let reservedIds: Int64 = 2_000_000_000

    func run() async throws {
        printLinesAsTheyCome()
        let logger = makeLogger("hotline.bench", level: .error)
        let (open, output) = (self.open, URL(fileURLWithPath: self.output))
        try await database.withDatabase(logger: logger) { client in
            let db = Database(client: client)
            let cast = try await db.transaction(logger: logger) { connection in
                try await Cast.prepare(on: connection, logger: logger)
            }
            let made = try await Bench.count("""
                SELECT count(*) FROM assignments WHERE unit_code = \(cast.unit) AND role = 'lead'
                  AND status IN ('dispatched', 'signed') AND dispatched_at >= \(Self.firstDay.startInstant)
                """, db, logger)
            if made < open {
                print("opening \(open - made) cases in the inbox of \(cast.unit)…")
                let started = ContinuousClock.now
                try await Replication.reserveIds(from: Self.reservedIds, database: db, logger: logger)
                try await Self.openCases(made..<open, cast: cast, database: db, logger: logger)
                try await db.read(logger: logger) { try await $0.query("ANALYZE", logger: logger) }
                print("opened in \(ContinuousClock.now - started)")
            }
            try await Self.write(cast: cast, open: open, to: output, database: db, logger: logger)
            // The hotspots' days, as the service's sweep keeps them (scripts/bench reads at its clock's time).
            let keeping = ContinuousClock.now
            let days = try await HotspotDays.keep(database: db, at: Timestamp.parse("2027-01-20T10:00:00+08:00")!, logger: logger)
            if days > 0 { print("hotspots: \(days) days kept in \(ContinuousClock.now - keeping)") }
        }
    }

    struct Cast: Sendable {
        let unit: String
        let operatorStaff, dispatcher, handler: Staff
        let readers: [(name: String, id: Int64)]

        static func prepare(on connection: PostgresConnection, logger: Logger) async throws -> Cast {
            // The unit is chosen once and kept by its handler's name.
            let unit: String
            if let row = try await connection.query("SELECT unit_code FROM users WHERE name = '基准承办人'", logger: logger).collect().first {
                unit = try row.decode(String.self)
            } else {
                unit = try await connection.query("""
                    SELECT unit_code FROM assignments WHERE role = 'lead' GROUP BY unit_code ORDER BY count(*) DESC, unit_code LIMIT 1
                    """, logger: logger).collect().first!.decode(String.self)
            }
            func user(_ name: String, _ role: Role, _ unit: String?) async throws -> Staff {
                if let row = try await connection.query("SELECT id FROM users WHERE name = \(name)", logger: logger).collect().first {
                    return Staff(id: try row.decode(Int64.self), role: role, unit: unit)
                }
                let created = try await Users.create(NewUser(name: name, role: role, unit: unit), on: connection, logger: logger)
                return Staff(id: created.id, role: role, unit: unit)
            }
            let operatorStaff = try await user("基准话务员", .operator, nil)
            let dispatcher = try await user("基准派单员", .dispatcher, nil)
            let handler = try await user("基准承办人", .handler, unit)
            let supervisor = try await user("基准督办员", .supervisor, nil)
            let manager = try await user("基准考核员", .manager, nil)
            let admin = try await user("基准管理员", .admin, nil)
            return Cast(unit: unit, operatorStaff: operatorStaff, dispatcher: dispatcher, handler: handler,
                        readers: [("operator", operatorStaff.id), ("dispatcher", dispatcher.id), ("handler", handler.id),
                                  ("supervisor", supervisor.id), ("manager", manager.id), ("admin", admin.id)])
        }
    }

    /// Cases `range` of the inbox: accepted a minute apart over working hours from `firstDay`,
    /// dispatched to the unit, two in three signed; four at a time, each step its own transaction
    /// as the service runs it.
    static func openCases(_ range: Range<Int>, cast: Cast, database: Database, logger: Logger) async throws {
        let calendar = try await database.read(logger: logger) { try await CalendarStore.load(on: $0, logger: logger) }
        var day = firstDay
        var starts: [Date] = []
        while starts.count < range.upperBound {
            if calendar.isWorkingDay(day) {
                let nine = day.startInstant.addingTimeInterval(9 * 3600)
                starts += (0..<480).map { nine.addingTimeInterval(Double($0) * 60) }
            }
            day = day.adding(days: 1)
        }
        let lanes = 4, times = starts
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    for index in stride(from: range.lowerBound + lane, to: range.upperBound, by: lanes) {
                        let start = times[index]
                        let input = NewCase(
                            channel: .phone, type: index % 3 == 0 ? .complaint : .help, urgency: index % 10 == 0 ? .urgent : .normal,
                            category: "housing.property", subject: "小区电梯停运", description: "市民反映小区\(index % 50 + 1)号楼电梯停运，已多日未修。",
                            location: Location(address: "泰山区红门路\(index % 200 + 1)号", region: "taishan"),
                            citizen: CitizenInput(name: "市民", phone: "1380000\(String(format: "%04d", index % 10_000))",
                                                  confidential: false, contactConsent: true),
                            directAnswer: nil
                        )
                        let number = try await database.transaction(logger: logger) { connection in
                            try await Intake.accept(input, by: cast.operatorStaff, at: start, on: connection, logger: logger).number
                        }
                        try await database.transaction(logger: logger) { connection in
                            try await Dispatch.dispatch(number, .init(leadUnit: cast.unit, assistUnits: []), by: cast.dispatcher,
                                                        at: start.addingTimeInterval(600), on: connection, logger: logger)
                        }
                        if index % 3 != 2 {
                            try await database.transaction(logger: logger) { connection in
                                try await Signing.sign(number, by: cast.handler, at: start.addingTimeInterval(3600),
                                                       on: connection, logger: logger)
                            }
                        }
                        if index % 1000 == 999 { print("  \(index + 1) / \(range.upperBound)") }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Fresh tokens (long enough for the service's clock set ahead into 2027) and the paths each read cycles through.
    static func write(cast: Cast, open: Int, to folder: URL, database: Database, logger: Logger) async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (tokens, inbox, anyCases, words, category, lead, cell) = try await database.transaction(logger: logger) { connection in
            var tokens: [String] = []
            for reader in cast.readers {
                let issued = try await Users.issueToken(forUser: reader.id, lifetime: .seconds(400 * 86_400), on: connection, logger: logger)
                tokens.append("\(reader.name) \(issued.token)")
            }
            // The unit's own open cases, and cases of the whole record spread over its ids.
            let inbox = try await connection.query("""
                SELECT c.number, right(k.phone, 4), k.phone FROM cases c
                JOIN assignments a ON a.case_id = c.id AND a.unit_code = \(cast.unit) AND a.role = 'lead'
                JOIN case_contacts k ON k.case_id = c.id
                WHERE c.accepted_at >= \(firstDay.startInstant) ORDER BY c.id LIMIT 500
                """, logger: logger).collect().map { try $0.decode((String, String, String).self) }
            // The category and region of the inbox's cases: the similar cases' text route walks them.
            let cell = try await connection.query("""
                SELECT c.category, coalesce(c.region, '') FROM cases c
                JOIN assignments a ON a.case_id = c.id AND a.unit_code = \(cast.unit) AND a.role = 'lead'
                WHERE c.accepted_at >= \(firstDay.startInstant) ORDER BY c.id LIMIT 1
                """, logger: logger).collect().first!.decode((String, String).self)
            // Cases spread over the whole record (the copies' ids are below the inbox's).
            let anyCases = try await connection.query("""
                SELECT number FROM cases
                WHERE id IN (SELECT (1 + (g * (SELECT max(id) FROM cases WHERE accepted_at < \(firstDay.startInstant))) / 500)::bigint
                             FROM generate_series(0, 499) g)
                """, logger: logger).collect().map { try $0.decode(String.self) }
            let category = try await connection.query(
                "SELECT category FROM cases WHERE id >= (SELECT max(id) / 2 FROM cases WHERE accepted_at < \(firstDay.startInstant)) ORDER BY id LIMIT 1",
                logger: logger
            ).collect().first!.decode(String.self)
            let lead = try await connection.query("""
                SELECT unit_code FROM assignments WHERE role = 'lead' AND id >= (SELECT max(id) / 3 FROM assignments WHERE dispatched_at < \(firstDay.startInstant))
                ORDER BY id LIMIT 1
                """, logger: logger).collect().first!.decode(String.self)
            return (tokens, inbox, anyCases, ["电梯", "停运", "市民", "模拟", "物业", "噪音"], category, lead, cell)
        }
        func save(_ name: String, _ lines: [String]) throws {
            try (lines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        try save("tokens", tokens)
        // Each read: the role that makes it, then its paths.
        var reads: [(String, String, [String])] = [
            ("inbox", "handler", ["/api/v1/inbox", "/api/v1/inbox?limit=100"]),
            ("unit_cases", "handler", ["/api/v1/cases", "/api/v1/cases?status=in_progress"]),
            ("cases", "dispatcher", ["/api/v1/cases"]),
            ("cases_status", "dispatcher", ["/api/v1/cases?status=in_progress", "/api/v1/cases?status=closed", "/api/v1/cases?status=dispatched"]),
            ("cases_type", "dispatcher", ["/api/v1/cases?type=complaint", "/api/v1/cases?type=report"]),
            ("cases_urgency", "dispatcher", ["/api/v1/cases?urgency=urgent"]),
            ("cases_category", "dispatcher", ["/api/v1/cases?category=\(encoded(category))", "/api/v1/cases?category=housing"]),
            ("cases_accepted", "dispatcher", ["/api/v1/cases?accepted_from=2026-06-01&accepted_to=2026-06-30",
                                              "/api/v1/cases?accepted_from=2027-01-05&accepted_to=2027-01-05"]),
            ("cases_lead_unit", "dispatcher", ["/api/v1/cases?lead_unit=\(encoded(lead))", "/api/v1/cases?lead_unit=\(encoded(cast.unit))"]),
            ("cases_overdue", "dispatcher", ["/api/v1/cases?overdue=true", "/api/v1/cases?overdue=false"]),
            ("cases_escalated", "dispatcher", ["/api/v1/cases?escalated=true"]),
            ("cases_q", "dispatcher", words.map { "/api/v1/cases?q=\(encoded($0))" } + anyCases.prefix(20).map { "/api/v1/cases?q=\($0)" }),
            ("case_page", "handler", inbox.map { "/api/v1/cases/\($0.0)" }),
            ("case_timeline", "handler", inbox.map { "/api/v1/cases/\($0.0)/timeline" }),
            ("center_case_page", "dispatcher", anyCases.map { "/api/v1/cases/\($0)" }),
            ("own_appraisal_row", "handler", ["/api/v1/appraisals/2026-06", "/api/v1/appraisals/2027-01"]),
            ("supervision_warnings", "supervisor", ["/api/v1/supervision/warnings"]),
            ("supervision_escalations", "supervisor", ["/api/v1/supervision/escalations", "/api/v1/supervision/escalations?open=true"]),
            ("supervision_accountability", "manager", ["/api/v1/supervision/accountability?period=2026-06"]),
            ("public_lookup", "-", inbox.map { "/public/cases/\($0.0)?phone_last4=\($0.1)" }),
            // As the operator types (DOMAIN §15): by the phone of a case in hand, by the text of the
            // inbox's category and region (the simulated text is every case's: the route's worst
            // case), by a point, and all of them together as intake asks.
            ("similar_phone", "operator", inbox.prefix(100).map { "/api/v1/cases/similar?phone=\($0.2)" }),
            ("similar_text", "operator", ["模拟工单 市民来电反映的问题", "电梯停运三天无人维修"].map {
                "/api/v1/cases/similar?category=\(encoded(cell.0))&region=\(encoded(cell.1))&text=\(encoded($0))" }),
            ("similar_place", "operator", ["/api/v1/cases/similar?latitude=36.19&longitude=117.12"]),
            ("similar_intake", "operator", inbox.prefix(100).map {
                "/api/v1/cases/similar?phone=\($0.2)&category=\(encoded(cell.0))&region=\(encoded(cell.1))"
                    + "&text=\(encoded("模拟工单 市民来电反映的问题"))&latitude=36.19&longitude=117.12" }),
            ("hotspots_month", "manager", ["/api/v1/analysis/hotspots?period=2026-06", "/api/v1/analysis/hotspots?period=2026-12"]),
            ("hotspots_month_category", "manager", ["/api/v1/analysis/hotspots?period=2026-06&by=category"]),
            ("hotspots_week", "manager", ["/api/v1/analysis/hotspots?period=2026-W23"]),
            ("open311_list", "-", ["/open311/v2/requests.json", "/open311/v2/requests.json?status=open",
                                   "/open311/v2/requests.json?start_date=2026-06-01T00:00:00%2B08:00&end_date=2026-06-30T00:00:00%2B08:00"]),
        ]
        reads = reads.filter { !$0.2.isEmpty }
        try save("reads", reads.map { "\($0.0) \($0.1)" })
        for (name, _, paths) in reads { try save("paths-\(name)", paths) }
        print("fixture: unit \(cast.unit), \(open) open cases, \(reads.count) reads written to \(folder.path)")
    }
}
