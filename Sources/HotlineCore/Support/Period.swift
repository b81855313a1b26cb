import Foundation

/// A calendar month (`YYYY-MM`) or year (`YYYY`) in Asia/Shanghai: what reports are about.
public struct Period: Sendable, Equatable, CustomStringConvertible {
    public let year: Int
    /// nil for a whole year.
    public let month: Int?

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.first?.count == 4, let year = Int(parts[0]), (2000...2200).contains(year) else { return nil }
        switch parts.count {
        case 1:
            self.year = year
            self.month = nil
        case 2:
            guard parts[1].count == 2, let month = Int(parts[1]), (1...12).contains(month) else { return nil }
            self.year = year
            self.month = month
        default:
            return nil
        }
    }

    public static func parse(_ text: String?, field: String = "period") throws -> Period {
        guard let text else { throw HotlineError.validation(field: field, "is required: YYYY-MM or YYYY") }
        guard let period = Period(text) else { throw HotlineError.validation(field: field, "must be YYYY-MM or YYYY") }
        return period
    }

    /// The first instant of the period.
    public var start: Date { LocalDate(year: year, month: month ?? 1, day: 1)!.startInstant }

    /// The first instant after the period.
    public var end: Date {
        if let month {
            return month == 12 ? LocalDate(year: year + 1, month: 1, day: 1)!.startInstant
                               : LocalDate(year: year, month: month + 1, day: 1)!.startInstant
        }
        return LocalDate(year: year + 1, month: 1, day: 1)!.startInstant
    }

    public var description: String {
        month.map { String(format: "%04d-%02d", year, $0) } ?? String(format: "%04d", year)
    }
}
