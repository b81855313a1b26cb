import Foundation
import PostgresNIO

/// Where a list of cases walks from, newest first. Walking every case backwards and probing each
/// for the filter finds a page at once when most cases match, and walks deep into the record
/// when few do: a unit's own cases, a lead unit's, the escalated, the overdue are each a small
/// part of a city's record, and each has an index of its own in case order. Walked from it,
/// a page costs its own rows whatever the record's size.
enum CaseWalk: Sendable, Equatable {
    /// Every case (the filters are probed on each, or `q=` leaves the planner its bitmaps).
    case all
    /// The cases a unit leads now (`lead_unit=`), through `assignments_unit_lead`.
    case lead(String)
    /// The cases of the reader's unit, now or before, through `assignments_unit`.
    case unit(String)
    /// The cases ever escalated, through `escalations_case`.
    case escalated
    /// The cases with a step owed past its deadline at that moment, through `deadlines_open_owed`.
    case overdue(Date)

    /// The narrowest walk the filter and the reader give. Text is left to the planner: its
    /// bigram indexes may name fewer cases still, and a walk would match the text on every row.
    static func from(_ filter: CaseFilter, unit: String?) -> CaseWalk {
        guard filter.text == nil else { return .all }
        if let lead = filter.leadUnit { return .lead(lead) }
        if let unit { return .unit(unit) }
        if filter.escalated == true { return .escalated }
        if filter.overdue == true { return .overdue(filter.now) }
        return .all
    }

    /// The column a list is ordered by, newest first.
    var order: String { self == .all ? "c.id" : "w.id" }
}

extension PostgresQuery.StringInterpolation {
    /// The FROM clause of a case list walked from `walk`, below the cursor `after`: the walk's
    /// case ids in descending order (DISTINCT: a unit may hold a case in several rounds), each
    /// case read by its key. The case is read in a LATERAL subquery that OFFSET 0 keeps whole, so
    /// that the planner reads it per id in the walk's order and stops at the page, rather than
    /// merging the walk with another index of every case (cases_status) from the newest down.
    mutating func appendInterpolation(walk: CaseWalk, after: Int64?) {
        switch walk {
        case .all:
            appendLiteral("cases c")
            return
        case .lead(let unit):
            appendLiteral("(SELECT DISTINCT x.case_id AS id FROM assignments x WHERE x.unit_code = ")
            appendInterpolation(unit)
            appendLiteral(" AND x.role = 'lead' AND x.status IN ('dispatched', 'signed', 'replied')")
        case .unit(let unit):
            appendLiteral("(SELECT DISTINCT x.case_id AS id FROM assignments x WHERE x.unit_code = ")
            appendInterpolation(unit)
        case .escalated:
            appendLiteral("(SELECT DISTINCT x.case_id AS id FROM escalations x WHERE true")
        case .overdue(let now):
            appendLiteral("""
                (SELECT DISTINCT x.case_id AS id FROM deadlines x WHERE x.met_at IS NULL AND x.closed_at IS NULL
                   AND x.step IN ('sign', 'reply', 'opinion', 'review', 'contact') AND x.due_at < 
                """)
            appendInterpolation(now)
        }
        if let after {
            appendLiteral(" AND x.case_id < ")
            appendInterpolation(after)
        }
        appendLiteral(" ORDER BY x.case_id DESC) w CROSS JOIN LATERAL (SELECT * FROM cases c WHERE c.id = w.id OFFSET 0) c")
    }
}
