import Foundation
import Logging
import PostgresNIO

/// One line of a handler's inbox: an assignment waiting for its unit.
public struct InboxItem: Codable, Sendable, Equatable {
    public var number: String
    public var subject: String
    public var type: CaseType
    public var urgency: Urgency
    public var category: String
    public var caseStatus: CaseStatus
    public var role: String
    public var status: String
    public var nextStep: DeadlineStep?
    public var dueAt: Date?
    public var card: Card
    /// For a sub-center's dispatcher: what waits for it (`pass_down`, `review_reply`,
    /// `review_return`, `review_extension`).
    public var waiting: String? = nil

    enum CodingKeys: String, CodingKey {
        case number, subject, type, urgency, category, role, status, card, waiting
        case caseStatus = "case_status"
        case nextStep = "next_step"
        case dueAt = "due_at"
    }
}

public enum Inbox {
    /// The caller's unit's assignments that wait for it (to sign, to reply, to give an
    /// opinion), soonest deadline first; for a sub-center's dispatcher, the cases its unit may
    /// pass down and what the units below it wait on it for (DOMAIN §5a, §5b).
    public static func list(
        for staff: Staff, limit: Int, cursor: String?, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<InboxItem> {
        if !staff.isUnitDispatcher { try staff.require(.handler) }
        guard (1...500).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 500") }
        // An inbox is short and changes as it is worked: a position is cursor enough.
        let offset = try cursor.map { Int(try Cursor.decode($0)) - 1 } ?? 0
        let rows: [PostgresRandomAccessRow]
        if staff.isUnitDispatcher {
            rows = try await connection.rows(subCenterQuery(staff.unit!, offset: offset, limit: limit), logger: logger)
        } else {
            rows = try await handlerRows(staff.unit!, offset: offset, limit: limit, on: connection, logger: logger)
        }
        let page = Array(rows.prefix(limit))
        let texts = try await CaseText.page(try page.map(CaseText.protection), for: staff, on: connection, logger: logger)
        let items = try page.map { row -> InboxItem in
            let due: Date? = try row.value("due_at")
            let warn: Date? = try row.value("warn_at")
            return InboxItem(
                number: try row.value("number"),
                subject: texts[try row.value("id", as: Int64.self)]!(try row.value("subject", as: String.self)),
                type: CaseType(rawValue: try row.value("case_type"))!,
                urgency: Urgency(rawValue: try row.value("urgency"))!,
                category: try row.value("category"),
                caseStatus: CaseStatus(rawValue: try row.value("case_status"))!,
                role: try row.value("role"),
                status: try row.value("status"),
                nextStep: (try row.value("step", as: String?.self)).flatMap(DeadlineStep.init(rawValue:)),
                dueAt: due,
                card: due.map { DeadlineLedger.card(warnAt: warn!, dueAt: $0, pending: true, now: now) } ?? .none,
                waiting: row.contains("waiting") ? try row.value("waiting") : nil
            )
        }
        let next = rows.count > limit ? Cursor.encode(Int64(offset + limit + 1)) : nil
        return Page(items: items, nextCursor: next)
    }

    static let handlerColumns = """
        c.id, c.number, c.subject, c.case_type, c.urgency, c.category, c.confidential, c.status AS case_status,
        a.role = 'lead' AS unit_leads, a.role, a.status
        """
    static let handlerSteps = "('sign', 'reply', 'opinion', 'review', 'contact')"

    /// A unit's open assignments, the one whose next deadline falls first first (deadlines due
    /// at the same moment in the order they were opened), then those with no deadline running
    /// (by assignment). Read from the unit's open deadlines in the order they fall
    /// (deadlines_unit_open), each assignment at its earliest: the first few hundred of them are
    /// taken in that order and joined, more only when those do not fill the page (an assignment
    /// has at most five open deadlines, one a step, and a deadline of a unit outlives its open
    /// assignment only briefly), so that a page of an inbox of ten thousand reads a page's worth
    /// of rows; the few assignments with nothing running are read only when a page gets to them.
    static func handlerRows(
        _ unit: String, offset: Int, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [PostgresRandomAccessRow] {
        let wanted = offset + limit + 1
        var bound = 5 * wanted + 64
        var running: [PostgresRandomAccessRow]
        while true {
            running = try await connection.rows("""
                WITH d AS MATERIALIZED (
                    SELECT id, assignment_id, step, due_at, warn_at FROM deadlines
                    WHERE unit_code = \(unit) AND met_at IS NULL AND closed_at IS NULL AND step IN \(unescaped: handlerSteps)
                    ORDER BY due_at, id
                    LIMIT \(bound)
                )
                SELECT \(unescaped: handlerColumns), d.step, d.due_at, d.warn_at, (SELECT count(*) FROM d) AS scanned
                FROM d
                JOIN assignments a ON a.id = d.assignment_id
                JOIN cases c ON c.id = a.case_id
                WHERE a.unit_code = \(unit) AND a.status IN ('dispatched', 'signed')
                  AND c.status IN ('dispatched', 'in_progress', 'return_requested')
                  AND NOT EXISTS (
                      SELECT FROM deadlines e
                      WHERE e.assignment_id = a.id AND e.met_at IS NULL AND e.closed_at IS NULL AND e.step IN \(unescaped: handlerSteps)
                        AND (e.due_at, e.id) < (d.due_at, d.id))
                ORDER BY d.due_at, d.id
                LIMIT \(wanted)
                """, logger: logger)
            // Done when the page is full, or every open deadline of the unit was looked at.
            if running.count >= wanted { break }
            let seenAll = try await running.isEmpty
                ? fewer(than: bound, unit, on: connection, logger: logger)
                : running[0].value("scanned", as: Int.self) < bound
            if seenAll { break }
            bound *= 8
        }
        guard running.count < wanted else { return Array(running.dropFirst(offset)) }
        let idle = try await connection.rows("""
            SELECT \(unescaped: handlerColumns), NULL::text AS step, NULL::timestamptz AS due_at, NULL::timestamptz AS warn_at
            FROM assignments a
            JOIN cases c ON c.id = a.case_id
            WHERE a.unit_code = \(unit) AND a.status IN ('dispatched', 'signed')
              AND c.status IN ('dispatched', 'in_progress', 'return_requested')
              AND NOT EXISTS (
                  SELECT FROM deadlines e
                  WHERE e.assignment_id = a.id AND e.met_at IS NULL AND e.closed_at IS NULL AND e.step IN \(unescaped: handlerSteps))
            ORDER BY a.id
            OFFSET \(max(0, offset - running.count)) LIMIT \(wanted - max(offset, running.count))
            """, logger: logger)
        return Array(running.dropFirst(offset)) + idle
    }

    /// Whether the unit has fewer open deadlines than `bound` (an empty first look says nothing
    /// about the ones after it).
    static func fewer(than bound: Int, _ unit: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.row("""
            SELECT count(*) AS n FROM (
                SELECT 1 FROM deadlines
                WHERE unit_code = \(unit) AND met_at IS NULL AND closed_at IS NULL AND step IN \(unescaped: handlerSteps)
                LIMIT \(bound)) d
            """, logger: logger)!.value("n", as: Int.self) < bound
    }

    /// A sub-center's work: its unit's signed lead assignments with a reply to review, a request
    /// of a unit below to review, or nothing passed down yet. The deadline shown is the review's,
    /// else the unit's own reply.
    static func subCenterQuery(_ unit: String, offset: Int, limit: Int) -> PostgresQuery {
        """
        SELECT * FROM (
            SELECT c.id, c.number, c.subject, c.case_type, c.urgency, c.category, c.confidential, c.status AS case_status,
                   true AS unit_leads, a.id AS assignment_id, a.role, a.status, d.step, d.due_at, d.warn_at,
                   CASE WHEN p.id IS NOT NULL THEN 'review_reply'
                        WHEN EXISTS (SELECT FROM return_requests r JOIN assignments k ON k.id = r.assignment_id
                                     WHERE k.parent_id = a.id AND r.status = 'pending') THEN 'review_return'
                        WHEN EXISTS (SELECT FROM extension_requests e JOIN assignments k ON k.id = e.assignment_id
                                     WHERE k.parent_id = a.id AND e.status = 'pending') THEN 'review_extension'
                        WHEN c.status = 'in_progress' AND NOT EXISTS (
                            SELECT FROM assignments k WHERE k.parent_id = a.id AND k.role = 'lead' AND k.status IN ('dispatched', 'signed'))
                            THEN 'pass_down'
                   END AS waiting
            FROM assignments a
            JOIN cases c ON c.id = a.case_id
            LEFT JOIN replies p ON p.reviewer_assignment_id = a.id AND p.status = 'under_review'
            LEFT JOIN LATERAL (
                SELECT step, due_at, warn_at FROM deadlines
                WHERE assignment_id = a.id AND met_at IS NULL AND closed_at IS NULL AND step IN ('review', 'reply')
                ORDER BY step = 'review' DESC, due_at LIMIT 1
            ) d ON true
            WHERE a.unit_code = \(unit) AND a.role = 'lead' AND a.status = 'signed'
        ) w
        WHERE waiting IS NOT NULL
        ORDER BY due_at NULLS LAST, assignment_id
        OFFSET \(offset) LIMIT \(limit + 1)
        """
    }
}
