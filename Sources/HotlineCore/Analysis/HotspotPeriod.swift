import Foundation

/// What hotspots are counted by (DOMAIN §15): a calendar month `YYYY-MM` or an ISO week
/// `YYYY-Www` (Monday to Sunday, week 1 the one with the year's first Thursday), in Asia/Shanghai.
public struct HotspotPeriod: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case month, week }

    public let kind: Kind
    /// The period's first day: the 1st of the month, or the week's Monday.
    public let firstDay: LocalDate

    init(kind: Kind, firstDay: LocalDate) {
        self.kind = kind
        self.firstDay = firstDay
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, let year = Int(parts[0]), (2000...2200).contains(year) else { return nil }
        if parts[1].first == "W" {
            let digits = parts[1].dropFirst()
            guard digits.count == 2, let week = Int(digits), week >= 1, week <= Self.weeks(in: year) else { return nil }
            self.init(kind: .week, firstDay: Self.firstMonday(of: year).adding(days: 7 * (week - 1)))
        } else {
            guard parts[1].count == 2, let month = Int(parts[1]), (1...12).contains(month) else { return nil }
            self.init(kind: .month, firstDay: LocalDate(year: year, month: month, day: 1)!)
        }
    }

    public static func parse(_ text: String?, field: String = "period") throws -> HotspotPeriod {
        guard let text, let period = HotspotPeriod(text) else {
            throw HotlineError.validation(field: field, "must be a month YYYY-MM or an ISO week YYYY-Www")
        }
        return period
    }

    /// The Monday of ISO week 1: the week holding 4 January.
    static func firstMonday(of year: Int) -> LocalDate {
        let fourth = LocalDate(year: year, month: 1, day: 4)!
        return fourth.adding(days: 1 - fourth.isoWeekday)
    }

    static func weeks(in year: Int) -> Int {
        (firstMonday(of: year + 1).dayNumber - firstMonday(of: year).dayNumber) / 7
    }

    public var next: HotspotPeriod {
        switch kind {
        case .week: return HotspotPeriod(kind: .week, firstDay: firstDay.adding(days: 7))
        case .month:
            let (year, month, _) = firstDay.civil
            return HotspotPeriod(kind: .month, firstDay: LocalDate(year: month == 12 ? year + 1 : year, month: month % 12 + 1, day: 1)!)
        }
    }

    public var previous: HotspotPeriod {
        switch kind {
        case .week: return HotspotPeriod(kind: .week, firstDay: firstDay.adding(days: -7))
        case .month:
            let (year, month, _) = firstDay.civil
            return HotspotPeriod(kind: .month, firstDay: LocalDate(year: month == 1 ? year - 1 : year, month: month == 1 ? 12 : month - 1, day: 1)!)
        }
    }

    /// The same month a year before; for a week, the same week number (week 53 of a year whose
    /// year before has 52: that year's week 52).
    public var yearBefore: HotspotPeriod {
        switch kind {
        case .month:
            let (year, month, _) = firstDay.civil
            return HotspotPeriod(kind: .month, firstDay: LocalDate(year: year - 1, month: month, day: 1)!)
        case .week:
            let (year, week) = isoWeek
            let last = min(week, Self.weeks(in: year - 1))
            return HotspotPeriod(kind: .week, firstDay: Self.firstMonday(of: year - 1).adding(days: 7 * (last - 1)))
        }
    }

    var isoWeek: (year: Int, week: Int) {
        let year = firstDay.adding(days: 3).year  // the week's Thursday names its year
        return (year, (firstDay.dayNumber - Self.firstMonday(of: year).dayNumber) / 7 + 1)
    }

    public var start: Date { firstDay.startInstant }
    public var end: Date { next.start }

    public var description: String {
        switch kind {
        case .month:
            let (year, month, _) = firstDay.civil
            return String(format: "%04d-%02d", year, month)
        case .week:
            let (year, week) = isoWeek
            return String(format: "%04d-W%02d", year, week)
        }
    }

    /// "2026年3月", "2026年第10周"
    public var chineseName: String {
        switch kind {
        case .month:
            let (year, month, _) = firstDay.civil
            return "\(year)年\(month)月"
        case .week:
            let (year, week) = isoWeek
            return "\(year)年第\(week)周"
        }
    }
}
