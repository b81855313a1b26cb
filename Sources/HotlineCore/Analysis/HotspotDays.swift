import Foundation
import Logging
import PostgresNIO

/// The hotspots' kept counts (sql/0031): each day's cases, repeat calls and rated visits per
/// category and region, written once the day is over, so that a month's report sums rows of
/// days instead of reading seven months of cases; the days after the last kept one are read
/// live. Off intake's path: nothing an intake writes touches a shared row.
public enum HotspotDays {
    /// How long after its end a day is kept: an intake accepted at 23:59:59 has committed by then.
    static let settle: TimeInterval = 600
    /// Days kept per transaction, so that a first pass over a year of cases commits as it goes.
    static let daysPerPass = 31

    /// Keeps every day that is over and not kept yet. Instances doing it at once take turns on
    /// the row of `hotspot_kept`, and each day is kept once. Returns how many days were kept.
    @discardableResult
    public static func keep(database: Database, at now: Date, logger: Logger) async throws -> Int {
        let lastOver = LocalDate(now.addingTimeInterval(-settle)).adding(days: -1)
        var kept = 0
        while true {
            let done = try await database.transaction(logger: logger) { connection -> Int in
                let row = try await connection.row("SELECT through::text FROM hotspot_kept FOR UPDATE", logger: logger)
                let from: LocalDate
                if let through = try row?.value("through", as: String?.self).flatMap({ LocalDate(iso: $0) }) {
                    from = through.adding(days: 1)
                } else if let first = try await connection.row("SELECT min(accepted_at) AS first FROM cases", logger: logger)?
                    .value("first", as: Date?.self) {
                    from = LocalDate(first)
                } else {
                    return 0
                }
                guard from <= lastOver else { return 0 }
                let to = LocalDate(dayNumber: min(lastOver.dayNumber, from.dayNumber + daysPerPass - 1))
                try await connection.execute("""
                    INSERT INTO hotspot_days (day, category, region, cases, repeats, satisfied, rated)
                    SELECT day, category, region, sum(cases), sum(repeats), sum(satisfied), sum(rated)
                    FROM (SELECT (c.accepted_at AT TIME ZONE 'Asia/Shanghai')::date AS day, c.category, c.region,
                                 count(*) AS cases, count(*) FILTER (WHERE c.repeat_of <> '{}') AS repeats, 0 AS satisfied, 0 AS rated
                          FROM cases c
                          WHERE c.accepted_at >= \(from.startInstant) AND c.accepted_at < \(to.adding(days: 1).startInstant)
                          GROUP BY 1, 2, 3
                          UNION ALL
                          SELECT (v.visited_at AT TIME ZONE 'Asia/Shanghai')::date, c.category, c.region, 0, 0,
                                 count(*) FILTER (WHERE v.satisfaction IN ('satisfied', 'basically_satisfied')), count(*)
                          FROM visits v JOIN cases c ON c.id = v.case_id
                          WHERE v.reached AND v.visited_at >= \(from.startInstant) AND v.visited_at < \(to.adding(days: 1).startInstant)
                          GROUP BY 1, 2, 3) d
                    GROUP BY 1, 2, 3
                    """, logger: logger)
                try await connection.execute("UPDATE hotspot_kept SET through = \(to.description)::date", logger: logger)
                return to.dayNumber - from.dayNumber + 1
            }
            kept += done
            if done == 0 { return kept }
        }
    }

    /// The last day kept, if any: the report reads what is after it live.
    static func through(on connection: PostgresConnection, logger: Logger) async throws -> LocalDate? {
        try await connection.row("SELECT through::text FROM hotspot_kept", logger: logger)?
            .value("through", as: String?.self).flatMap { LocalDate(iso: $0) }
    }

    /// Forgets what was kept (a benchmark's copies of the record land on days already kept).
    public static func forget(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("DELETE FROM hotspot_days", logger: logger)
        try await connection.execute("UPDATE hotspot_kept SET through = NULL", logger: logger)
    }
}
