import Foundation

/// A computed deadline. `provisional` when some day it counted lies in a year whose official
/// calendar is not loaded, so Monday–Friday stood in for it.
public struct Deadline: Sendable, Equatable {
    public let at: Date
    public let provisional: Bool

    public init(at: Date, provisional: Bool) {
        self.at = at
        self.provisional = provisional
    }
}

/// The official working-day calendar (DOMAIN §6) and the deadline arithmetic on it.
public struct WorkingCalendar: Sendable {
    /// Days that differ from Monday–Friday: false for a holiday, true for a make-up working day.
    public let exceptions: [LocalDate: Bool]
    /// Years whose official notice is loaded.
    public let coveredYears: Set<Int>

    public init(exceptions: [LocalDate: Bool], coveredYears: Set<Int>) {
        self.exceptions = exceptions
        self.coveredYears = coveredYears
    }

    public func isWorkingDay(_ day: LocalDate) -> Bool {
        exceptions[day] ?? !day.isWeekend
    }

    public func isCovered(_ day: LocalDate) -> Bool {
        coveredYears.contains(day.year)
    }

    /// N working days after an event: the end (23:59:59+08:00) of the N-th working day after
    /// the day of the event. The event's own day never counts, so an event on a holiday or a
    /// weekend starts counting at the next working day.
    public func addingWorkingDays(_ count: Int, to event: Date) -> Deadline {
        precondition(count >= 1, "a limit in working days is at least one day")
        var day = LocalDate(event)
        var counted = 0
        var provisional = false
        while counted < count {
            day = day.adding(days: 1)
            if !isCovered(day) { provisional = true }
            if isWorkingDay(day) { counted += 1 }
        }
        return Deadline(at: day.endOfDayInstant, provisional: provisional)
    }

    /// The latest a passed-down deadline may fall (DOMAIN §5a): one working day before its
    /// parent's reply deadline, that is the end of the last working day before the day that
    /// deadline falls on; on an urgent case two hours before it.
    public func tierCap(beforeParentDue due: Date, urgent: Bool) -> Date {
        if urgent { return due.addingTimeInterval(-2 * 3600) }
        var day = LocalDate(due).adding(days: -1)
        while !isWorkingDay(day) { day = day.adding(days: -1) }
        return min(due, day.endOfDayInstant)
    }

    /// A limit in hours or minutes is natural time, to the second.
    public func adding(_ limit: Limit, to event: Date) -> Deadline {
        switch limit.unit {
        case .workingDays: addingWorkingDays(limit.amount, to: event)
        case .hours: Deadline(at: event.addingTimeInterval(TimeInterval(limit.amount) * 3600), provisional: false)
        case .minutes: Deadline(at: event.addingTimeInterval(TimeInterval(limit.amount) * 60), provisional: false)
        }
    }

    /// The last day of the unbroken run of loaded years that contains `day`; nil if its year is
    /// not loaded.
    public func coverageEnd(from day: LocalDate) -> LocalDate? {
        guard isCovered(day) else { return nil }
        var year = day.year
        while coveredYears.contains(year + 1) { year += 1 }
        return LocalDate(year: year, month: 12, day: 31)
    }
}

extension WorkingCalendar {
    /// Working days after the day of `from` up to and including the day of `to`.
    public func workingDays(after from: Date, through to: Date) -> Int {
        var day = LocalDate(from)
        let last = LocalDate(to)
        var count = 0
        while day < last {
            day = day.adding(days: 1)
            if isWorkingDay(day) { count += 1 }
        }
        return count
    }
}
