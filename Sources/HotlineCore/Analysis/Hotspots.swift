import Foundation
import Logging
import PostgresNIO

/// What the citizens call about, and what is rising (DOMAIN §15; articles 78–80): counts of
/// cases by category, region or both for a month or an ISO week, against the period before and
/// the same period a year before, with the satisfaction and the share of repeat calls of each
/// cell, the ten fastest rising and the candidates for a citywide programme (每月一题).
public struct HotspotReport: Codable, Sendable, Equatable {
    public struct Cell: Codable, Sendable, Equatable {
        public var category: String?
        public var categoryName: String?
        /// nil where cases have no region (未指定区域), when the report is by region.
        public var region: String?
        public var regionName: String?
        public var count: Int
        public var previous: Int
        public var yearBefore: Int
        /// Relative change against the period before, nil where it had none.
        public var change: Double?
        public var yearChange: Double?
        /// Rated visits made in the period on the cell's cases (a case visited again after a
        /// reopening is rated again).
        public var satisfaction: Indicator
        /// Cases of the period that were repeat calls (a phone with cases in the 30 days before).
        public var repeatShare: Indicator
        /// The counts of `trend_periods`, oldest first.
        public var trend: [Int]

        enum CodingKeys: String, CodingKey {
            case category, region, count, previous, change, satisfaction, trend
            case categoryName = "category_name"
            case regionName = "region_name"
            case yearBefore = "year_before"
            case yearChange = "year_change"
            case repeatShare = "repeat_share"
        }
    }

    public struct Candidate: Codable, Sendable, Equatable {
        public var category: String?
        public var categoryName: String?
        public var region: String?
        public var regionName: String?
        /// The measures the cell was in the top ten of, in each of the last three periods:
        /// `volume`, `repeat_share`, `dissatisfaction`.
        public var measures: [String]

        enum CodingKeys: String, CodingKey {
            case category, region, measures
            case categoryName = "category_name"
            case regionName = "region_name"
        }
    }

    public var period: String
    public var by: [String]
    public var previousPeriod: String
    public var yearBeforePeriod: String
    public var trendPeriods: [String]
    public var total: Int
    public var totalPrevious: Int
    public var totalYearBefore: Int
    /// Every cell with a case in the period, the period before or the year before; most cases first.
    public var cells: [Cell]
    /// The ten fastest rising against the period before (new cells first), among cells of at
    /// least 10 cases that rose.
    public var rising: [Cell]
    public var candidates: [Candidate]
    public var generatedAt: Date

    enum CodingKeys: String, CodingKey {
        case period, by, total, cells, rising, candidates
        case previousPeriod = "previous_period"
        case yearBeforePeriod = "year_before_period"
        case trendPeriods = "trend_periods"
        case totalPrevious = "total_previous"
        case totalYearBefore = "total_year_before"
        case generatedAt = "generated_at"
    }
}

public enum Hotspots {
    public enum Dimension: String, Sendable, CaseIterable { case category, region }

    /// The smallest cell that can rise or lead by a share: below it one case moves a rate by tens of points.
    public static let smallestCell = 10
    static let ranked = 10
    /// The periods a trend line shows, the report's own last.
    static let trendLength = 6
    /// What a cell without a region is called.
    public static let noRegion = "未指定区域"

    /// `by` as given: `category`, `region` or both, comma-separated.
    public static func dimensions(_ text: String?) throws -> [Dimension] {
        guard let text else { return [.category, .region] }
        var out: [Dimension] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let dimension = Dimension(rawValue: part.trimmingCharacters(in: .whitespaces)), !out.contains(dimension) else {
                throw HotlineError.validation(field: "by", "must be category, region or category,region")
            }
            out.append(dimension)
        }
        return Dimension.allCases.filter(out.contains)
    }

    struct Key: Hashable { let category: String?; let region: String? }

    struct Figures {
        var count = 0
        var repeats = 0
        var satisfied = 0
        var rated = 0
    }

    public static func report(
        _ period: HotspotPeriod, by dimensions: [Dimension], for staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> HotspotReport {
        try staff.require(.operator, .dispatcher, .manager, .supervisor)
        var trend = [period]
        while trend.count < trendLength { trend.insert(trend[0].previous, at: 0) }
        let yearBefore = period.yearBefore
        let byCategory = dimensions.contains(.category), byRegion = dimensions.contains(.region)
        let category = byCategory ? "c.category" : "NULL::text", region = byRegion ? "c.region" : "NULL::text"
        // Every period the report reads, by its first day: the trend's (which hold the last three)
        // and the year before's. Days kept (`HotspotDays`) are summed; the days after them are read
        // from the cases and visits themselves.
        var figures: [LocalDate: [Key: Figures]] = [:]
        func add(_ rows: [PostgresRandomAccessRow]) throws {
            for row in rows {
                let key = Key(category: try row.value("category"), region: try row.value("region"))
                let day = LocalDate(iso: try row.value("first_day", as: String.self))!
                var cell = figures[day, default: [:]][key, default: Figures()]
                cell.count += try row.value("n", as: Int.self)
                cell.repeats += try row.value("repeats", as: Int.self)
                cell.satisfied += try row.value("satisfied", as: Int.self)
                cell.rated += try row.value("rated", as: Int.self)
                figures[day, default: [:]][key] = cell
            }
        }
        let through = try await HotspotDays.through(on: connection, logger: logger)
        let live = through.map { $0.adding(days: 1).startInstant } ?? Date.distantPast
        if let through {
            let category = byCategory ? "d.category" : "NULL::text", region = byRegion ? "d.region" : "NULL::text"
            try add(await connection.rows("""
                SELECT date_trunc(\(period.kind.rawValue), d.day)::date::text AS first_day,
                       \(unescaped: category) AS category, \(unescaped: region) AS region,
                       sum(d.cases)::int8 AS n, sum(d.repeats)::int8 AS repeats, sum(d.satisfied)::int8 AS satisfied, sum(d.rated)::int8 AS rated
                FROM hotspot_days d
                WHERE d.day <= \(through.description)::date
                  AND ((d.day >= \(trend[0].firstDay.description)::date AND d.day < \(period.next.firstDay.description)::date)
                    OR (d.day >= \(yearBefore.firstDay.description)::date AND d.day < \(yearBefore.next.firstDay.description)::date))
                GROUP BY 1, 2, 3
                """, logger: logger))
        }
        if live < period.end {
            try add(await connection.rows("""
                SELECT date_trunc(\(period.kind.rawValue), c.accepted_at AT TIME ZONE 'Asia/Shanghai')::date::text AS first_day,
                       \(unescaped: category) AS category, \(unescaped: region) AS region,
                       count(*) AS n, count(*) FILTER (WHERE c.repeat_of <> '{}') AS repeats, 0::int8 AS satisfied, 0::int8 AS rated
                FROM cases c
                WHERE c.accepted_at >= \(live)
                  AND ((c.accepted_at >= \(trend[0].start) AND c.accepted_at < \(period.end))
                    OR (c.accepted_at >= \(yearBefore.start) AND c.accepted_at < \(yearBefore.end)))
                GROUP BY 1, 2, 3
                """, logger: logger))
            // Satisfaction of the last three periods (the candidates' measure): the rated visits made
            // in the period, by the case's cell.
            try add(await connection.rows("""
                SELECT date_trunc(\(period.kind.rawValue), v.visited_at AT TIME ZONE 'Asia/Shanghai')::date::text AS first_day,
                       \(unescaped: category) AS category, \(unescaped: region) AS region, 0::int8 AS n, 0::int8 AS repeats,
                       count(*) FILTER (WHERE v.satisfaction IN ('satisfied', 'basically_satisfied')) AS satisfied, count(*) AS rated
                FROM visits v JOIN cases c ON c.id = v.case_id
                WHERE v.reached AND v.visited_at >= \(live)
                  AND v.visited_at >= \(trend[trend.count - 3].start) AND v.visited_at < \(period.end)
                GROUP BY 1, 2, 3
                """, logger: logger))
        }
        let names = try await self.names(on: connection, logger: logger)
        let current = figures[period.firstDay] ?? [:], before = figures[period.previous.firstDay] ?? [:]
        let lastYear = figures[yearBefore.firstDay] ?? [:]
        // Cells with cases in one of the three (a cell with only visits, on older cases, is not one).
        let keys = Set([current, before, lastYear].flatMap { $0.filter { $0.value.count > 0 }.keys })
        func cell(_ key: Key) -> HotspotReport.Cell {
            let now = current[key] ?? Figures(), then = before[key]?.count ?? 0, year = lastYear[key]?.count ?? 0
            return HotspotReport.Cell(
                category: key.category, categoryName: key.category.map { names.categories[$0] ?? $0 },
                region: key.region, regionName: byRegion ? key.region.map { names.units[$0] ?? $0 } ?? noRegion : nil,
                count: now.count, previous: then, yearBefore: year,
                change: relative(now.count, then), yearChange: relative(now.count, year),
                satisfaction: Indicator(numerator: now.satisfied, denominator: now.rated),
                repeatShare: Indicator(numerator: now.repeats, denominator: now.count),
                trend: trend.map { figures[$0.firstDay]?[key]?.count ?? 0 })
        }
        let cells = keys.map(cell).sorted(by: order)
        let rising = cells.filter { $0.count >= smallestCell && ($0.change ?? 1) > 0 }.sorted { a, b in
            // A cell that had nothing before rises fastest of all.
            let (x, y) = (a.change ?? .infinity, b.change ?? .infinity)
            return x != y ? x > y : order(a, b)
        }
        let candidates = programme(Array(trend.suffix(3)).map { figures[$0.firstDay] ?? [:] }).map { key, measures in
            HotspotReport.Candidate(category: key.category, categoryName: key.category.map { names.categories[$0] ?? $0 },
                                    region: key.region, regionName: byRegion ? key.region.map { names.units[$0] ?? $0 } ?? noRegion : nil,
                                    measures: measures)
        }
        return HotspotReport(
            period: period.description, by: dimensions.map(\.rawValue), previousPeriod: period.previous.description,
            yearBeforePeriod: yearBefore.description, trendPeriods: trend.map(\.description),
            total: current.values.reduce(0) { $0 + $1.count }, totalPrevious: before.values.reduce(0) { $0 + $1.count },
            totalYearBefore: lastYear.values.reduce(0) { $0 + $1.count },
            cells: cells, rising: Array(rising.prefix(ranked)), candidates: candidates, generatedAt: now)
    }

    /// Most cases first; then by code, a cell without a region last.
    static func order(_ a: HotspotReport.Cell, _ b: HotspotReport.Cell) -> Bool {
        if a.count != b.count { return a.count > b.count }
        if a.category != b.category { return (a.category ?? "") < (b.category ?? "") }
        return (a.region ?? "\u{10FFFF}") < (b.region ?? "\u{10FFFF}")
    }

    static func relative(_ now: Int, _ then: Int) -> Double? {
        then == 0 ? nil : (Double(now - then) / Double(then) * 10_000).rounded() / 10_000
    }

    /// 每月一题: the cells in the top ten by one measure in each of the periods given (the last
    /// three), with the measures they were. A share is ranked only on a base of at least 10 (the
    /// repeat share on 10 cases, dissatisfaction on 10 rated visits): on less, one call is tens of points.
    static func programme(_ periods: [[Key: Figures]]) -> [(Key, [String])] {
        let measures: [(String, (Figures) -> Double?)] = [
            ("volume", { Double($0.count) }),
            ("repeat_share", { $0.count >= smallestCell ? Double($0.repeats) / Double($0.count) : nil }),
            ("dissatisfaction", { $0.rated >= smallestCell ? 1 - Double($0.satisfied) / Double($0.rated) : nil }),
        ]
        var found: [Key: [String]] = [:]
        for (name, measure) in measures {
            let tops = periods.map { cells -> Set<Key> in
                let scored = cells.compactMap { key, figures in measure(figures).flatMap { $0 > 0 ? (key, $0) : nil } }
                let sorted = scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : keyOrder($0.0, $1.0) }
                return Set(sorted.prefix(ranked).map(\.0))
            }
            for key in tops.dropFirst().reduce(tops.first ?? [], { $0.intersection($1) }) {
                found[key, default: []].append(name)
            }
        }
        return found.sorted { keyOrder($0.key, $1.key) }.map { ($0.key, $0.value) }
    }

    static func keyOrder(_ a: Key, _ b: Key) -> Bool {
        if a.category != b.category { return (a.category ?? "") < (b.category ?? "") }
        return (a.region ?? "\u{10FFFF}") < (b.region ?? "\u{10FFFF}")
    }

    static func names(on connection: PostgresConnection, logger: Logger) async throws -> (categories: [String: String], units: [String: String]) {
        var categories: [String: String] = [:], units: [String: String] = [:]
        for row in try await connection.rows("SELECT code, name FROM categories", logger: logger) {
            categories[try row.value("code")] = try row.value("name")
        }
        for row in try await connection.rows("SELECT code, name FROM units", logger: logger) {
            units[try row.value("code")] = try row.value("name")
        }
        return (categories, units)
    }
}
