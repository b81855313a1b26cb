import ArgumentParser
import Foundation
import HotlineCore
import Logging
import PostgresNIO

/// Benchmarks that print figures. Never tests: they run against a database of their own
/// (`scripts/bench` makes one) and fill it with generated rows through the real tables.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print figures (see scripts/bench).", subcommands: [SweepBench.self, SearchBench.self, AppraisalBench.self, ReadsFixture.self]
    )

    /// The one number a counting query gives.
    static func count(_ query: PostgresQuery, _ db: Database, _ logger: Logger) async throws -> Int {
        try await db.read(logger: logger) { connection in
            try await connection.query(query, logger: logger).collect().first!.decode(Int.self)
        }
    }
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
        printLinesAsTheyCome()
        let logger = makeLogger("hotline.bench", level: .warning)
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

struct SearchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Generate knowledge articles from a corpus and time searches over them."
    )

    struct Corpus: Decodable {
        struct Article: Decodable {
            let unit, category, title, body: String
            let keywords: [String]
        }
        struct Query: Decodable {
            let q: String
        }
        let articles: [Article]
        let queries: [Query]
    }

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Articles to generate") var articles = 100_000
    @Option(help: "Searches to time") var queries = 1_000
    @Option(help: "The corpus the articles are made from") var corpus = "Tests/HotlineTests/Fixtures/knowledge.json"

    func run() async throws {
        printLinesAsTheyCome()
        let logger = makeLogger("hotline.bench", level: .warning)
        let corpus = try JSONDecoder().decode(Corpus.self, from: Data(contentsOf: URL(fileURLWithPath: self.corpus)))
        let migrator = try database.migrator()
        let (count, searches) = (articles, queries)
        try await database.withDatabase(logger: logger) { client in
            try await migrator.migrate(client: client, logger: logger)
            let db = Database(client: client)
            let existing = try await db.read(logger: logger) { connection in
                try await connection.query("SELECT count(*) FROM knowledge_articles", logger: logger).collect().first!.decode(Int.self)
            }
            if existing == 0 {
                print("generating \(count) articles…")
                let started = ContinuousClock.now
                try await Self.generate(count, from: corpus, database: db, logger: logger)
                print("generated in \(ContinuousClock.now - started)")
            }
            // The fixture's questions, then two-character pieces of titles, as operators type them.
            var questions = corpus.queries.map(\.q)
            var generator = SystemRandomNumberGenerator()
            while questions.count < searches {
                let title = Array(corpus.articles.randomElement(using: &generator)!.title.filter { $0.unicodeScalars.first!.properties.isIdeographic })
                guard title.count >= 2 else { continue }
                let start = Int.random(in: 0..<(title.count - 1), using: &generator)
                questions.append(String(title[start...start + 1]))
            }
            var timings: [Double] = []
            let now = Date()
            for question in questions.prefix(searches) {
                let started = ContinuousClock.now
                _ = try await db.read(logger: logger) { connection in
                    try await KnowledgeBase.search(question, limit: 10, at: now, on: connection, logger: logger)
                }
                let elapsed = ContinuousClock.now - started
                timings.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            timings.sort()
            func percentile(_ p: Double) -> Double { timings[min(timings.count - 1, Int(Double(timings.count) * p))] }
            print(String(format: "search over %d articles, %d questions: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms",
                         count, timings.count, percentile(0.50), percentile(0.95), percentile(0.99), timings.last ?? 0))
        }
    }

    /// Articles made from the corpus: each a corpus article placed in a district or town, with a
    /// passage of another one, so that the vocabulary (and its common pieces) is the real one.
    static func generate(_ count: Int, from corpus: Corpus, database: Database, logger: Logger) async throws {
        try await database.transaction(logger: logger) { connection in
            try await DemoOrganisation.install(on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO users (name, role) SELECT 'bench', 'admin' WHERE NOT EXISTS (SELECT 1 FROM users WHERE name = 'bench')
                """, logger: logger)
        }
        let places = DemoOrganisation.units.filter { $0.group.isArea }.map(\.name)
        let batch = 2_000
        var made = 0
        while made < count {
            let size = min(batch, count - made)
            var units: [String] = [], categories: [String] = [], titles: [String] = [], bodies: [String] = []
            var keywords: [String] = [], vectors: [String] = []
            for i in made..<(made + size) {
                let base = corpus.articles[i % corpus.articles.count]
                let other = corpus.articles[(i * 7 + 3) % corpus.articles.count]
                let place = places[(i / corpus.articles.count) % places.count]
                let title = "\(place)\(base.title)"
                let body = "\(base.body)\(other.body.prefix(60))。本条适用于\(place)，文号\(i)。"
                units.append(base.unit)
                categories.append(base.category)
                titles.append(title)
                bodies.append(body)
                keywords.append(base.keywords.joined(separator: "|"))
                vectors.append(ChineseText.vector([(title, "A"), (base.keywords.joined(separator: " "), "B"), (body, "C")]))
            }
            try await database.transaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO knowledge_articles (unit_code, category, status, version, title, body, keywords,
                                                    created_at, updated_at, updated_by, search)
                    SELECT u, c, 'published', 1, t, b, string_to_array(k, '|'), now(), now(),
                           (SELECT id FROM users WHERE name = 'bench'), v::tsvector
                    FROM unnest(\(units), \(categories), \(titles), \(bodies), \(keywords), \(vectors)) AS x (u, c, t, b, k, v)
                    """, logger: logger)
            }
            made += size
            if made % 20_000 == 0 || made == count { print("  \(made) / \(count)") }
        }
        try await database.read(logger: logger) { connection in
            try await connection.query("ANALYZE knowledge_articles", logger: logger)
        }
    }
}

struct AppraisalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appraisal",
        abstract: "Time a month's and a year's appraisal over a simulated year multiplied to millions of cases."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Cases of the simulated year the larger record is copied from") var base = 20_000
    @Option(help: "Work orders to time reports at, in order (comma-separated)") var targets = "1000000"
    @Option(help: "The month to time") var month = "2026-06"
    @Flag(help: "Only copy the record up to the targets (for scripts/bench reads)") var copyOnly = false

    func run() async throws {
        printLinesAsTheyCome()
        let logger = makeLogger("hotline.bench", level: .error)
        let targets = try targets.split(separator: ",").map { text -> Int in
            guard let value = Int(text), value > 0 else { throw ValidationError("--targets are case counts") }
            return value
        }
        guard let month = Period(month), month.month != nil else { throw ValidationError("--month is YYYY-MM") }
        let year = Period(String(month.year))!
        let (base, migrator) = (self.base, try database.migrator())
        try await database.withDatabase(logger: logger) { client in
            try await migrator.migrate(client: client, logger: logger)
            let db = Database(client: client)
            if try await Bench.count("SELECT count(*) FROM cases", db, logger) == 0 {
                print("simulating a year of \(base) cases through the service's operations…")
                let started = ContinuousClock.now
                try await YearSimulation(cases: base, from: year.start, to: year.end, seed: 2026, units: 300)
                    .run(database: db, logger: logger) { print(Seed.Generate.describe($0)) }
                print("simulated in \(ContinuousClock.now - started)")
                // The simulated year is the cases up to the last id it made, kept for the later runs:
                // an intake the simulation had refused leaves a gap, so their count is not that id.
                try await db.read(logger: logger) { connection in
                    try await connection.query("CREATE TABLE bench_base AS SELECT max(id) AS last_case FROM cases", logger: logger)
                }
            }
            let baseLast = Int64(try await Bench.count("SELECT last_case FROM bench_base", db, logger))
            let baseCases = try await Bench.count("SELECT count(*) FROM cases WHERE id <= \(baseLast)", db, logger)
            let after = Date(timeIntervalSince1970: year.end.timeIntervalSince1970 + 40 * 86_400)
            for target in targets {
                let copies = Int((Double(target) / Double(baseCases)).rounded(.up)) - 1
                // The copies so far (the reads' open cases have ids of their own, far above).
                let have = try await Bench.count("""
                    SELECT count(*) FROM cases WHERE id > \(baseLast) AND id < \(ReadsFixture.reservedIds)
                    """, db, logger) / baseCases
                if copies > have {
                    print("copying the year up to \(target) cases (\(copies - have) copies)…")
                    let started = ContinuousClock.now
                    try await Replication.replicate(baseCases: baseLast, copies: (have + 1)...copies, database: db, logger: logger) { copy in
                        if copy % 10 == 0 { print("  copy \(copy) of \(copies)") }
                    }
                    try await db.read(logger: logger) { try await $0.query("VACUUM ANALYZE", logger: logger) }
                    print("copied in \(ContinuousClock.now - started)")
                }
                if copyOnly { continue }
                let total = try await Bench.count("SELECT count(*) FROM cases", db, logger)
                let events = try await Bench.count("SELECT count(*) FROM case_events", db, logger)
                for (label, period) in [("month \(month)", month), ("year \(year)", year)] {
                    func time(recount: Bool) async throws -> Double {
                        let started = ContinuousClock.now
                        _ = try await db.read(logger: logger) { connection in
                            try await Appraisal.compute(period, recount: recount, at: after, on: connection, logger: logger)
                        }
                        let elapsed = ContinuousClock.now - started
                        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    }
                    var timings: [Double] = []
                    for _ in 0..<3 { timings.append(try await time(recount: false)) }
                    // The whole-record recount (the oracle, and how every report was made before the
                    // facts), once: what the facts save.
                    let recount = try await time(recount: true)
                    print(String(format: "%d work orders (%d events), %@: %.2f s (best of 3; runs %@); recount of the record %.2f s",
                                 total, events, label, timings.min()!, timings.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                                 recount))
                }
            }
        }
    }

}
