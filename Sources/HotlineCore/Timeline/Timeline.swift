import Foundation
import Logging
import PostgresNIO

/// What happened to a case. Each kind is written by exactly one operation.
public enum EventKind: String, Vocabulary {
    case accepted
    case answeredDirectly = "answered_directly"
    case transferred
    case withdrawn
    case contactRevealed = "contact_revealed"
    case dispatched, signed
    case returnRequested = "return_requested"
    case returnApproved = "return_approved"
    case returnRejected = "return_rejected"
    case extensionRequested = "extension_requested"
    case extensionApproved = "extension_approved"
    case extensionRejected = "extension_rejected"
    case opinionGiven = "opinion_given"
    case note
    case replied
    case replyReceived = "reply_received"
    case visited
    case visitFailed = "visit_failed"
    case closedUnreachable = "closed_unreachable"
    case closedNoVisit = "closed_no_visit_needed"
    case reopened
    case closedAfterReview = "closed_after_review"
    case exempted, merged
    case duplicateMerged = "duplicate_merged"
    case unmerged
    case deadlineRecomputed = "deadline_recomputed"
    case urged, escalated, disclosed
    case passedDown = "passed_down"
    case takenBack = "taken_back"
    case reassigned
    case replyApproved = "reply_approved"
    case replySentBack = "reply_sent_back"
    case contacted
    case supplemented
}

/// An event of a case's timeline as read back.
public struct TimelineEvent: Codable, Sendable, Equatable {
    public struct Actor: Codable, Sendable, Equatable {
        public let id: Int64?
        public let role: String
        public let name: String?
    }

    public let id: Int64
    public let at: Date
    public let kind: String
    public let actor: Actor
    public let unit: String?
    public let details: JSONValue

    func with(details: JSONValue) -> TimelineEvent {
        TimelineEvent(id: id, at: at, kind: kind, actor: actor, unit: unit, details: details)
    }
}

/// The append-only timeline (DOMAIN §11). Writers call `record` inside the transaction of the
/// change; the table's trigger refuses any UPDATE or DELETE.
public enum Timeline {
    public static func record(
        caseId: Int64, kind: EventKind, by staff: Staff?, at: Date,
        unit: String? = nil, details: [String: JSONValue] = [:],
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let role = staff?.role.rawValue ?? "system"
        try await connection.run(Append(query: """
            INSERT INTO case_events (case_id, at, kind, actor_id, actor_role, unit_code, details)
            VALUES (\(caseId), \(at), \(kind.rawValue), \(staff?.id), \(role), \(unit ?? staff?.unit), \(JSONValue.object(details)))
            """), logger: logger)
    }

    /// Every step of every case writes one: prepared.
    struct Append: PreparedStatement { let query: PostgresQuery }

    /// Events of a case after the one given (all, from the first), oldest first.
    public static func events(
        caseId: Int64, after: Int64? = nil, limit: Int = 10_000, on connection: PostgresConnection, logger: Logger
    ) async throws -> [TimelineEvent] {
        try await connection.rows("""
            SELECT e.id, e.at, e.kind, e.actor_id, e.actor_role, u.name AS actor_name, e.unit_code, e.details
            FROM case_events e LEFT JOIN users u ON u.id = e.actor_id
            WHERE e.case_id = \(caseId) AND e.id > \(after ?? 0) ORDER BY e.id LIMIT \(limit)
            """, logger: logger).map { row in
            TimelineEvent(
                id: try row.value("id"),
                at: try row.value("at"),
                kind: try row.value("kind"),
                actor: .init(id: try row.value("actor_id"), role: try row.value("actor_role"), name: try row.value("actor_name")),
                unit: try row.value("unit_code"),
                details: try row.value("details")
            )
        }
    }
}
