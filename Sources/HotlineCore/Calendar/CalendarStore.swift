import Foundation
import Logging
import PostgresNIO

/// One day of a year's notice, named after the holiday it belongs to.
public struct CalendarDay: Codable, Sendable, Equatable {
    public var date: String
    public var name: String

    public init(date: String, name: String = "") {
        self.date = date
        self.name = name
    }

    /// A day may be written as `"2026-02-16"` or as `{"date": "2026-02-16", "name": "春节"}`.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let date = try? single.decode(String.self) {
            self.init(date: date)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(date: try c.decode(String.self, forKey: .date), name: try c.decodeIfPresent(String.self, forKey: .name) ?? "")
    }
}

/// A year of the official calendar, as loaded and as read back.
public struct CalendarYear: Codable, Sendable, Equatable {
    public var year: Int?
    public var source: String
    public var offDays: [CalendarDay]
    public var makeUpWorkingDays: [CalendarDay]
    public var loadedAt: Date?

    public init(year: Int?, source: String = "", offDays: [CalendarDay], makeUpWorkingDays: [CalendarDay], loadedAt: Date? = nil) {
        self.year = year
        self.source = source
        self.offDays = offDays
        self.makeUpWorkingDays = makeUpWorkingDays
        self.loadedAt = loadedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        year = try c.decodeIfPresent(Int.self, forKey: .year)
        source = try c.decodeIfPresent(String.self, forKey: .source) ?? ""
        offDays = try c.decode([CalendarDay].self, forKey: .offDays)
        makeUpWorkingDays = try c.decode([CalendarDay].self, forKey: .makeUpWorkingDays)
        loadedAt = nil
    }

    enum CodingKeys: String, CodingKey {
        case year, source
        case offDays = "off_days"
        case makeUpWorkingDays = "make_up_working_days"
        case loadedAt = "loaded_at"
    }
}

/// The calendar as PostgreSQL keeps it. Deadlines are computed on a fresh read, so every
/// instance sees a year the moment another one loads it.
public enum CalendarStore {
    public static func load(on connection: PostgresConnection, logger: Logger) async throws -> WorkingCalendar {
        var exceptions: [LocalDate: Bool] = [:]
        for row in try await connection.rows("SELECT day - DATE '1970-01-01' AS n, working FROM calendar_days", logger: logger) {
            exceptions[LocalDate(dayNumber: try row.value("n", as: Int32.self).asInt)] = try row.value("working", as: Bool.self)
        }
        let years = try await connection.rows("SELECT year FROM calendar_years", logger: logger)
        return WorkingCalendar(
            exceptions: exceptions,
            coveredYears: Set(try years.map { Int(try $0.value("year", as: Int32.self)) })
        )
    }

    public static func loadedYears(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.rows("SELECT year FROM calendar_years ORDER BY year", logger: logger)
            .map { Int(try $0.value("year", as: Int32.self)) }
    }

    public static func year(_ year: Int, on connection: PostgresConnection, logger: Logger) async throws -> CalendarYear {
        guard let head = try await connection.row(
            "SELECT source, loaded_at FROM calendar_years WHERE year = \(year)", logger: logger
        ) else { throw HotlineError.notFound("calendar year") }
        var off: [CalendarDay] = []
        var work: [CalendarDay] = []
        for row in try await connection.rows(
            "SELECT day::text AS day, working, name FROM calendar_days WHERE year = \(year) ORDER BY day", logger: logger
        ) {
            let day = CalendarDay(date: try row.value("day"), name: try row.value("name"))
            if try row.value("working", as: Bool.self) { work.append(day) } else { off.append(day) }
        }
        return CalendarYear(year: year, source: try head.value("source"), offDays: off, makeUpWorkingDays: work,
                            loadedAt: try head.value("loaded_at"))
    }

    /// Loads (or reloads) a year's notice, replacing what that year said before.
    public static func put(
        _ year: Int, _ document: CalendarYear, by staff: Staff?, on connection: PostgresConnection, logger: Logger, now: Date
    ) async throws -> CalendarYear {
        let days = try validate(year, document)
        try await connection.execute("""
            INSERT INTO calendar_years (year, source, loaded_at) VALUES (\(year), \(document.source.trimmingWhitespace()), \(now))
            ON CONFLICT (year) DO UPDATE SET source = excluded.source, loaded_at = excluded.loaded_at
            """, logger: logger)
        try await connection.execute("DELETE FROM calendar_days WHERE year = \(year)", logger: logger)
        let dates = days.map { $0.date.description }
        if let clash = try await connection.row("""
            SELECT day::text AS day, year FROM calendar_days WHERE day = ANY(\(dates)::date[]) ORDER BY day LIMIT 1
            """, logger: logger) {
            throw HotlineError(.unprocessable, code: .calendarOverlap,
                               "\(try clash.value("day", as: String.self)) is already given by the calendar of \(try clash.value("year", as: Int32.self))")
        }
        try await connection.execute("""
            INSERT INTO calendar_days (day, year, working, name)
            SELECT d::date, \(year), w, n FROM unnest(\(dates), \(days.map(\.working)), \(days.map(\.name))) AS u (d, w, n)
            """, logger: logger)
        // Every deadline not met yet is computed again on the calendar as it now is.
        let calendar = try await load(on: connection, logger: logger)
        let moved = try await DeadlineLedger.recompute(calendar: calendar, by: staff, at: now, on: connection, logger: logger)
        logger.info("calendar year loaded", metadata: ["year": "\(year)", "deadlines_moved": "\(moved)"])
        return try await self.year(year, on: connection, logger: logger)
    }

    struct Entry {
        let date: LocalDate
        let working: Bool
        let name: String
    }

    static func validate(_ year: Int, _ document: CalendarYear) throws -> [Entry] {
        var checker = FieldChecker()
        if !(2000...2200).contains(year) { checker.fail("year", "must be between 2000 and 2200") }
        if let given = document.year, given != year { checker.fail("year", "does not match the year in the path") }
        checker.text(document.source, field: "source", max: 500, required: false)
        // A notice may reach a month into the neighbouring years (New Year's Eve, say).
        let first = LocalDate(year: year - 1, month: 12, day: 1)
        let last = LocalDate(year: year + 1, month: 1, day: 31)
        var entries: [Entry] = []
        var seen = Set<LocalDate>()
        for (list, working, field) in [(document.offDays, false, "off_days"), (document.makeUpWorkingDays, true, "make_up_working_days")] {
            if list.count > 366 { checker.fail(field, "has more days than a year") }
            for (index, day) in list.enumerated() {
                let here = "\(field)[\(index)]"
                guard let date = LocalDate(iso: day.date) else {
                    checker.fail(here, "must be a date YYYY-MM-DD")
                    continue
                }
                if let first, let last, !(first...last).contains(date) {
                    checker.fail(here, "lies outside the year \(year) and the month on either side")
                }
                if working && !date.isWeekend { checker.fail(here, "a make-up working day must be a Saturday or Sunday") }
                if !seen.insert(date).inserted { checker.fail(here, "is given twice") }
                let name = checker.text(day.name, field: here + ".name", max: 50, required: false) ?? ""
                entries.append(Entry(date: date, working: working, name: name))
            }
        }
        try checker.check()
        return entries
    }
}

extension Int32 {
    var asInt: Int { Int(self) }
}

extension CalendarStore {
    /// The deadline the service would set for an event at `from` (GET /calendar/deadline).
    public static func deadline(
        from: Date, limit: Limit, on connection: PostgresConnection, logger: Logger
    ) async throws -> Deadline {
        var checker = FieldChecker()
        if limit.unit == .workingDays && !(1...250).contains(limit.amount) {
            checker.fail("working_days", "must be between 1 and 250")
        }
        if limit.unit == .hours && !(1...(24 * 365)).contains(limit.amount) {
            checker.fail("hours", "must be between 1 and 8760")
        }
        try checker.check()
        return try await load(on: connection, logger: logger).adding(limit, to: from)
    }
}
