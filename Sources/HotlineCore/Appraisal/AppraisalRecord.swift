import Foundation
import Logging
import PostgresNIO

/// The attribution rules of DOMAIN §9, as SQL over the record of one month.
///
/// A deadline is *on time* when its step was done by it; *late* when done after it, or still
/// not done once it has passed, or made moot by the lead's reply or the case's closing only
/// after it had passed. A deadline ended because its assignment was returned (an approved
/// return), cancelled, merged away or withdrawn is neither. Withdrawn cases are left out of
/// every figure; exempted cases out of satisfaction and resolution.
enum AppraisalRecord {
    static let onTime = "d.met_at IS NOT NULL AND d.met_at <= d.due_at"

    static func late(_ now: Date) -> String {
        // `now` is written as a literal: PostgresNIO binds values, not fragments, and this
        // fragment is used inside several statements. A timestamp has no quoting to get wrong.
        let stamp = Timestamp.format(now)
        return """
            (d.met_at > d.due_at
             OR (d.met_at IS NULL AND d.closed_at IS NULL AND d.due_at < '\(stamp)'::timestamptz)
             OR (d.met_at IS NULL AND d.closed_reason IN ('replied', 'closed') AND d.closed_at > d.due_at))
            """
    }

    static let notWithdrawn = "c.closure IS DISTINCT FROM 'withdrawn'"

    static func counts(
        _ month: Period, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: Counts] {
        let (start, end) = (month.start, month.end)
        let late = late(now)
        var counts: [String: Counts] = [:]

        // On-time signing: assignments dispatched in the month (approved returns excluded).
        for row in try await connection.rows("""
            SELECT d.unit_code AS unit, count(*) FILTER (WHERE \(unescaped: onTime)) AS num,
                   count(*) FILTER (WHERE \(unescaped: onTime) OR \(unescaped: late)) AS den
            FROM assignments a
            JOIN deadlines d ON d.assignment_id = a.id AND d.step = 'sign'
            JOIN cases c ON c.id = a.case_id
            WHERE a.dispatched_at >= \(start) AND a.dispatched_at < \(end)
              AND a.status NOT IN ('returned', 'cancelled') AND \(unescaped: notWithdrawn)
            GROUP BY d.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.onTimeSign = try indicator(row)
        }
        // On-time replies: reply deadlines (the first, each reopen's, as extended) falling in the month.
        for row in try await connection.rows("""
            SELECT d.unit_code AS unit, count(*) FILTER (WHERE \(unescaped: onTime)) AS num,
                   count(*) FILTER (WHERE \(unescaped: onTime) OR \(unescaped: late)) AS den
            FROM deadlines d JOIN cases c ON c.id = d.case_id
            WHERE d.step = 'reply' AND d.due_at >= \(start) AND d.due_at < \(end) AND \(unescaped: notWithdrawn)
            GROUP BY d.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.onTimeReply = try indicator(row)
        }
        // Satisfaction and resolution: the latest rating of each case in the month, for the unit
        // whose reply it rated.
        for row in try await connection.rows("""
            SELECT unit, count(*) AS den,
                   count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied')) AS satisfied,
                   count(*) FILTER (WHERE resolved) AS resolved
            FROM (
                SELECT DISTINCT ON (v.case_id) v.case_id, r.unit_code AS unit, v.satisfaction, v.resolved
                FROM visits v JOIN replies r ON r.id = v.reply_id JOIN cases c ON c.id = v.case_id
                WHERE v.reached AND v.visited_at >= \(start) AND v.visited_at < \(end)
                  AND \(unescaped: notWithdrawn) AND c.exempt_reason IS NULL
                ORDER BY v.case_id, v.visited_at DESC, v.id DESC
            ) latest
            GROUP BY unit
            """, logger: logger) {
            let unit: String = try row.value("unit")
            let den: Int = try row.value("den")
            counts[unit, default: Counts()].indicators.satisfaction = Indicator(numerator: try row.value("satisfied"), denominator: den)
            counts[unit, default: Counts()].indicators.resolution = Indicator(numerator: try row.value("resolved"), denominator: den)
        }
        // Reopens of the month over replies of the month.
        for row in try await connection.rows("""
            SELECT unit, sum(reopens)::int8 AS num, sum(replies)::int8 AS den FROM (
                SELECT e.unit_code AS unit, 1 AS reopens, 0 AS replies
                FROM case_events e JOIN cases c ON c.id = e.case_id
                WHERE e.kind = 'reopened' AND e.at >= \(start) AND e.at < \(end) AND \(unescaped: notWithdrawn)
                UNION ALL
                SELECT r.unit_code, 0, 1
                FROM replies r JOIN cases c ON c.id = r.case_id
                WHERE r.replied_at >= \(start) AND r.replied_at < \(end) AND \(unescaped: notWithdrawn)
            ) x GROUP BY unit
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.reopen = try indicator(row)
        }
        // Unreasonable returns, by the time of the rejection; escalations, by their time.
        for row in try await connection.rows("""
            SELECT unit, sum(rejected)::int8 AS rejected, sum(escalated)::int8 AS escalated FROM (
                SELECT q.unit_code AS unit, 1 AS rejected, 0 AS escalated
                FROM return_requests q JOIN cases c ON c.id = q.case_id
                WHERE q.status = 'rejected' AND q.reviewed_at >= \(start) AND q.reviewed_at < \(end) AND \(unescaped: notWithdrawn)
                UNION ALL
                SELECT e.unit_code, 0, 1
                FROM escalations e JOIN cases c ON c.id = e.case_id
                WHERE e.escalated_at >= \(start) AND e.escalated_at < \(end) AND \(unescaped: notWithdrawn)
            ) x GROUP BY unit
            """, logger: logger) {
            let unit: String = try row.value("unit")
            counts[unit, default: Counts()].unreasonableReturns = try row.value("rejected")
            counts[unit, default: Counts()].escalations = try row.value("escalated")
        }
        // Overdue cases: at least one of the unit's deadlines falling in the month and missed.
        for row in try await connection.rows("""
            SELECT d.unit_code AS unit, count(DISTINCT d.case_id) AS overdue
            FROM deadlines d JOIN cases c ON c.id = d.case_id
            WHERE d.step IN ('sign', 'opinion', 'reply') AND d.due_at >= \(start) AND d.due_at < \(end)
              AND \(unescaped: late) AND \(unescaped: notWithdrawn)
            GROUP BY d.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].overdue = try row.value("overdue")
        }
        return counts
    }

    static func indicator(_ row: PostgresRandomAccessRow) throws -> Indicator {
        Indicator(numerator: try row.value("num"), denominator: try row.value("den"))
    }
}
