import Foundation
import Logging
import PostgresNIO

/// The attribution rules of DOMAIN §9, as SQL over the record of one month.
///
/// A deadline is *on time* when its step was done by it; *late* when done after it, or still
/// not done once it has passed, or made moot by the lead's reply or the case's closing only
/// or merged away or taken back by the parent only after it had passed. A deadline ended because its assignment was returned
/// (an approved return) or cancelled, merged away while still running, or withdrawn is neither;
/// nothing of an assignment returned with approval counts against its unit. Withdrawn cases are left out of
/// every figure; exempted cases out of satisfaction and resolution.
enum AppraisalRecord {
    static let onTime = onTime(of: "d")

    static func onTime(of d: String) -> String { "\(d).met_at IS NOT NULL AND \(d).met_at <= \(d).due_at" }

    static func late(_ now: Date) -> String { late(now, of: "d") }

    static func late(_ now: Date, of d: String) -> String {
        // `now` is written as a literal: PostgresNIO binds values, not fragments, and this
        // fragment is used inside several statements. A timestamp has no quoting to get wrong.
        let stamp = Timestamp.format(now)
        return """
            (\(d).met_at > \(d).due_at
             OR (\(d).met_at IS NULL AND \(d).closed_at IS NULL AND \(d).due_at < '\(stamp)'::timestamptz)
             OR (\(d).met_at IS NULL AND \(d).closed_reason IN ('replied', 'closed', 'merged', 'taken_back') AND \(d).closed_at > \(d).due_at))
            """
    }

    /// The row's case is not withdrawn: an anti-join on the few withdrawn cases (a partial
    /// index) rather than a join with every case.
    static func kept(_ alias: String) -> String {
        "NOT EXISTS (SELECT FROM cases w WHERE w.id = \(alias).case_id AND w.closure = 'withdrawn')"
    }

    /// The deadline's dispatch round was not returned with approval nor reassigned (改派):
    /// nothing of that round counts (the returning unit's part, nor the assisting units released
    /// with it). A pass-down opens a round of its own, so a child's return spares its parent.
    static let notReturned = notOfAReturnedRound("d.assignment_id")

    static func notOfAReturnedRound(_ assignment: String) -> String {
        """
        NOT EXISTS (SELECT FROM assignments ra JOIN assignments rr
                      ON rr.case_id = ra.case_id AND rr.round = ra.round AND rr.status IN ('returned', 'reassigned')
                    WHERE ra.id = \(assignment))
        """
    }

    /// The Asia/Shanghai month a time falls in, for the figures that are counted per month.
    static func month(_ column: String) -> String {
        "date_trunc('month', \(column), 'Asia/Shanghai')"
    }

    /// What the record says of each unit over consecutive whole months, summed month by month:
    /// one pass over the span, each row attributed to the month of its time, and the two
    /// figures that count a case once per month (the latest rating, overdue cases) grouped by
    /// month before they are summed.
    static func counts(
        _ months: [Period], unit only: String? = nil, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: Counts] {
        guard let first = months.first, let last = months.last else { return [:] }
        let (start, end) = (first.start, last.end)
        let late = late(now)
        var counts: [String: Counts] = [:]

        // On-time signing: assignments dispatched in the month (rounds returned with approval
        // excluded). A
        // sign deadline that ended unmet before it passed (cancelled, merged while running) is
        // neither met nor missed; one missed before its case was merged stays missed.
        for row in try await connection.rows("""
            SELECT d.unit_code AS unit, count(*) FILTER (WHERE \(unescaped: onTime)) AS num,
                   count(*) FILTER (WHERE \(unescaped: onTime) OR \(unescaped: late)) AS den
            FROM assignments a
            JOIN deadlines d ON d.assignment_id = a.id AND d.step = 'sign'
            WHERE a.dispatched_at >= \(start) AND a.dispatched_at < \(end)
              AND \(unescaped: notOfAReturnedRound("a.id")) AND \(unescaped: kept("a"))
              AND (\(only)::text IS NULL OR a.unit_code = \(only))
            GROUP BY d.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.onTimeSign = try indicator(row)
        }
        // Response (响应率): lead assignments dispatched in the month, at any level, signed on
        // time and, where the center's dispatch owed a first contact, contacted on time. A
        // contact deadline that ended unmet is a contact not made (a reply does not make one),
        // unless the case was merged away before it passed: then it was not owed. One still
        // running leaves a lead signed on time uncounted for now; a contact missed counts even
        // while the sign deadline is undecided.
        let contact = "k.assignment_id = a.id AND k.step = 'contact'"
        let contactMade = """
            (NOT EXISTS (SELECT FROM deadlines k WHERE \(contact))
             OR EXISTS (SELECT FROM deadlines k WHERE \(contact) AND (\(onTime(of: "k"))
                        OR (k.met_at IS NULL AND k.closed_reason = 'merged' AND k.closed_at <= k.due_at))))
            """
        let contactMissed = """
            EXISTS (SELECT FROM deadlines k WHERE \(contact)
                    AND (k.met_at > k.due_at OR (k.met_at IS NULL AND k.closed_at IS NULL AND k.due_at < '\(Timestamp.format(now))'::timestamptz)
                         OR (k.met_at IS NULL AND k.closed_at IS NOT NULL AND NOT (k.closed_reason = 'merged' AND k.closed_at <= k.due_at))))
            """
        for row in try await connection.rows("""
            SELECT d.unit_code AS unit,
                   count(*) FILTER (WHERE \(unescaped: onTime) AND \(unescaped: contactMade)) AS num,
                   count(*) FILTER (WHERE (\(unescaped: onTime) AND \(unescaped: contactMade)) OR \(unescaped: late)
                                       OR \(unescaped: contactMissed)) AS den
            FROM assignments a
            JOIN deadlines d ON d.assignment_id = a.id AND d.step = 'sign'
            WHERE a.role = 'lead' AND a.dispatched_at >= \(start) AND a.dispatched_at < \(end)
              AND \(unescaped: notOfAReturnedRound("a.id")) AND \(unescaped: kept("a"))
              AND (\(only)::text IS NULL OR a.unit_code = \(only))
            GROUP BY d.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.response = try indicator(row)
        }
        // On-time replies: reply deadlines (the first, each reopen's, as extended) falling in the month.
        for row in try await connection.rows("""
            SELECT d.unit_code AS unit, count(*) FILTER (WHERE \(unescaped: onTime)) AS num,
                   count(*) FILTER (WHERE \(unescaped: onTime) OR \(unescaped: late)) AS den
            FROM deadlines d
            WHERE d.step = 'reply' AND d.due_at >= \(start) AND d.due_at < \(end) AND \(unescaped: kept("d"))
              AND \(unescaped: notReturned)
              AND (\(only)::text IS NULL OR d.unit_code = \(only))
            GROUP BY d.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.onTimeReply = try indicator(row)
        }
        // Satisfaction and resolution: the latest rating of each case in the month, for the unit
        // whose reply it rated and every lead above it that approved that reply (DOMAIN §5a).
        for row in try await connection.rows("""
            SELECT u.unit, count(*) AS den,
                   count(*) FILTER (WHERE latest.satisfaction IN ('satisfied', 'basically_satisfied')) AS satisfied,
                   count(*) FILTER (WHERE latest.resolved) AS resolved
            FROM (
                SELECT DISTINCT ON (\(unescaped: month("v.visited_at")), v.case_id) v.reply_id, v.satisfaction, v.resolved
                FROM visits v
                WHERE v.reached AND v.visited_at >= \(start) AND v.visited_at < \(end) AND \(unescaped: kept("v"))
                  AND NOT EXISTS (SELECT FROM cases x WHERE x.id = v.case_id AND x.exempt_reason IS NOT NULL)
                ORDER BY \(unescaped: month("v.visited_at")), v.case_id, v.visited_at DESC, v.id DESC
            ) latest
            JOIN LATERAL (
                SELECT r.unit_code AS unit FROM replies r WHERE r.id = latest.reply_id
                UNION
                SELECT a.unit_code FROM reply_reviews rv JOIN assignments a ON a.id = rv.assignment_id
                WHERE rv.reply_id = latest.reply_id AND rv.decision = 'approved'
            ) u ON true
            WHERE (\(only)::text IS NULL OR u.unit = \(only))
            GROUP BY u.unit
            """, logger: logger) {
            let unit: String = try row.value("unit")
            let den: Int = try row.value("den")
            counts[unit, default: Counts()].indicators.satisfaction = Indicator(numerator: try row.value("satisfied"), denominator: den)
            counts[unit, default: Counts()].indicators.resolution = Indicator(numerator: try row.value("resolved"), denominator: den)
        }
        // Reopens of the month over replies of the month that reached their citizens (one sent
        // back by a reviewer never did; one still under review has not yet).
        for row in try await connection.rows("""
            SELECT unit, sum(reopens)::int8 AS num, sum(replies)::int8 AS den FROM (
                SELECT e.unit_code AS unit, 1 AS reopens, 0 AS replies
                FROM case_events e
                WHERE e.kind = 'reopened' AND e.at >= \(start) AND e.at < \(end) AND \(unescaped: kept("e"))
                  AND (\(only)::text IS NULL OR e.unit_code = \(only))
                UNION ALL
                SELECT r.unit_code, 0, 1
                FROM replies r
                WHERE r.replied_at >= \(start) AND r.replied_at < \(end) AND r.status = 'approved' AND \(unescaped: kept("r"))
                  AND (\(only)::text IS NULL OR r.unit_code = \(only))
            ) x GROUP BY unit
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].indicators.reopen = try indicator(row)
        }
        // Unreasonable returns, by the time of the rejection; escalations, by their time.
        for row in try await connection.rows("""
            SELECT unit, sum(rejected)::int8 AS rejected, sum(escalated)::int8 AS escalated FROM (
                SELECT q.unit_code AS unit, 1 AS rejected, 0 AS escalated
                FROM return_requests q
                WHERE q.status = 'rejected' AND q.reviewed_at >= \(start) AND q.reviewed_at < \(end) AND \(unescaped: kept("q"))
                  AND (\(only)::text IS NULL OR q.unit_code = \(only))
                UNION ALL
                SELECT e.unit_code, 0, 1
                FROM escalations e
                WHERE e.escalated_at >= \(start) AND e.escalated_at < \(end) AND \(unescaped: kept("e"))
                  AND \(unescaped: Supervision.counts("e"))
                  AND (\(only)::text IS NULL OR e.unit_code = \(only))
            ) x GROUP BY unit
            """, logger: logger) {
            let unit: String = try row.value("unit")
            counts[unit, default: Counts()].unreasonableReturns = try row.value("rejected")
            counts[unit, default: Counts()].escalations = try row.value("escalated")
        }
        // Replies sent back (审核退回), by the time of the review, for the unit that wrote them.
        for row in try await connection.rows("""
            SELECT r.unit_code AS unit, count(*) AS n
            FROM reply_reviews rv JOIN replies r ON r.id = rv.reply_id
            WHERE rv.decision = 'sent_back' AND rv.reviewed_at >= \(start) AND rv.reviewed_at < \(end) AND \(unescaped: kept("r"))
              AND \(unescaped: notOfAReturnedRound("r.assignment_id"))
              AND (\(only)::text IS NULL OR r.unit_code = \(only))
            GROUP BY r.unit_code
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].sentBack = try row.value("n")
        }
        // Overdue cases: at least one of the unit's deadlines falling in the month and missed.
        for row in try await connection.rows("""
            SELECT unit, sum(cases)::int8 AS overdue FROM (
                SELECT d.unit_code AS unit, count(DISTINCT d.case_id) AS cases
                FROM deadlines d
                WHERE d.step IN ('sign', 'opinion', 'reply') AND d.due_at >= \(start) AND d.due_at < \(end)
                  AND \(unescaped: late) AND \(unescaped: kept("d")) AND \(unescaped: notReturned)
                  AND (\(only)::text IS NULL OR d.unit_code = \(only))
                GROUP BY d.unit_code, \(unescaped: month("d.due_at"))
            ) x GROUP BY unit
            """, logger: logger) {
            counts[try row.value("unit"), default: Counts()].overdue = try row.value("overdue")
        }
        return counts
    }

    static func indicator(_ row: PostgresRandomAccessRow) throws -> Indicator {
        Indicator(numerator: try row.value("num"), denominator: try row.value("den"))
    }
}
