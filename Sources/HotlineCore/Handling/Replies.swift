import Foundation
import Logging
import PostgresNIO

public enum ReplyOutcome: String, Vocabulary {
    case resolved
    case partlyResolved = "partly_resolved"
    case unresolved, explained
}

/// 答复 (DOMAIN §5 "reply"): "whoever handles it answers it". Only a handler of the current lead
/// unit replies; the reply names the unit and the handler, and its text is the unit's own.
public enum Replies {
    public struct Request: Decodable, Sendable {
        public var outcome: ReplyOutcome
        public var text: String
        public var contactedCitizen: Bool
        public var handlerName: String
        public var handlerPhone: String

        enum CodingKeys: String, CodingKey {
            case outcome, text
            case contactedCitizen = "contacted_citizen"
            case handlerName = "handler_name"
            case handlerPhone = "handler_phone"
        }
    }

    public static func reply(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        // Who may reply is settled before what was sent is looked at.
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        let lead = try await Handling.requireLead(staff, handle, on: connection, logger: logger)
        let request = try input()
        var checker = FieldChecker()
        let text = checker.text(request.text, field: "text", max: 4000, multiline: true)
        let name = checker.text(request.handlerName, field: "handler_name", max: 50)
        let phone = Contact.normalisePhone(request.handlerPhone)
        if phone == nil { checker.fail("handler_phone", "must be a phone number: 5–20 digits, an optional leading +") }
        try checker.check()
        try Handling.require(handle, in: [.inProgress], to: "reply to")
        try await Assignments.move(lead, to: .replied, from: [.signed], action: "reply", at: now, on: connection, logger: logger)
        let replyId = try await connection.row("""
            INSERT INTO replies (case_id, assignment_id, unit_code, outcome, text, contacted_citizen,
                                 handler_id, handler_name, handler_phone, replied_at)
            VALUES (\(handle.id), \(lead.id), \(lead.unit), \(request.outcome.rawValue), \(text!), \(request.contactedCitizen),
                    \(staff.id), \(name!), \(phone!), \(now))
            RETURNING id
            """, logger: logger)!.value("id", as: Int64.self)
        let onTime = try await DeadlineLedger.meet(assignmentId: lead.id, step: .reply, at: now, on: connection, logger: logger)
        // Once the lead has answered, what the others still owe is moot.
        try await DeadlineLedger.close(caseId: handle.id, steps: [.sign, .opinion], reason: "replied", at: now,
                                       on: connection, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .replied, by: staff, at: now, details: [
            "reply_id": JSONValue(replyId), "outcome": .string(request.outcome.rawValue),
            "on_time": onTime.map(JSONValue.bool) ?? .null,
        ], on: connection, logger: logger)
        try await deliver(replyId: replyId, to: handle, by: staff, at: now, on: connection, logger: logger)

        // Duplicates merged into this case receive the same reply and are visited on their own.
        let duplicates = try await connection.rows(
            "SELECT id FROM cases WHERE merged_into = \(handle.id) AND status = 'merged' ORDER BY id", logger: logger
        )
        for row in duplicates {
            let duplicate = try await CaseAccess.find(id: try row.value("id"), on: connection, logger: logger, lock: true)
            try await Timeline.record(caseId: duplicate.id, kind: .replyReceived, by: staff, at: now, details: [
                "reply_id": JSONValue(replyId), "master": .string(handle.number),
            ], on: connection, logger: logger)
            try await deliver(replyId: replyId, to: duplicate, by: staff, at: now, on: connection, logger: logger)
        }
        logger.info("case replied", metadata: ["case": "\(number)", "unit": "\(lead.unit)"])
    }

    /// A case receives a reply: it waits for its return visit, or closes at once when the
    /// citizen is anonymous (there is no one to call).
    static func deliver(
        replyId: Int64, to handle: CaseHandle, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        if handle.anonymous {
            try await connection.execute("""
                UPDATE cases SET status = 'closed', closure = 'no_visit_needed', closed_at = \(now), reply_id = \(replyId)
                WHERE id = \(handle.id)
                """, logger: logger)
            try await Timeline.record(caseId: handle.id, kind: .closedNoVisit, by: nil, at: now, on: connection, logger: logger)
            return
        }
        try await connection.execute(
            "UPDATE cases SET status = 'replied', reply_id = \(replyId) WHERE id = \(handle.id)", logger: logger
        )
        let limits = try await Handling.limits(for: handle, on: connection, logger: logger)
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        try await DeadlineLedger.open(caseId: handle.id, assignmentId: nil, unit: nil, step: .visit, start: now,
                                      limit: limits[.visit]!, calendar: calendar, on: connection, logger: logger)
    }
}
