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
        // Who may reply is settled (by the runner) before what was sent is looked at. A reply of
        // a passed-down unit goes up for review, and so does one the center's policy reviews.
        let (replyId, handle, released) = try await StepRunner.run(
            among: [.reply, .submitReply], number, by: staff, at: now, on: connection, logger: logger,
            pick: { place in
                guard let own = place.own else { return .reply }
                if own.parent != nil { return .submitReply }
                return try await ReviewPolicy.centerReviews(place.handle, on: connection, logger: logger) ? .submitReply : .reply
            }
        ) { step in
            let lead = step.own!
            let request = try input()
            var checker = FieldChecker()
            let text = checker.text(request.text, field: "text", max: 4000, multiline: true)
            let name = checker.text(request.handlerName, field: "handler_name", max: 50)
            let phone = Contact.normalisePhone(request.handlerPhone)
            if phone == nil { checker.fail("handler_phone", "must be a phone number: 5–20 digits, an optional leading +") }
            try checker.check()
            let reviewed = step.step == .submitReply
            try await Assignments.move(lead, to: .replied, from: [.signed], action: "reply", at: now, on: connection, logger: logger)
            let replyId = try await connection.row("""
                INSERT INTO replies (case_id, assignment_id, unit_code, outcome, text, contacted_citizen,
                                     handler_id, handler_name, handler_phone, replied_at, status, reviewer_assignment_id)
                VALUES (\(step.handle.id), \(lead.id), \(lead.unit), \(request.outcome.rawValue), \(text!), \(request.contactedCitizen),
                        \(staff.id), \(name!), \(phone!), \(now), \(reviewed ? "under_review" : "approved"), \(reviewed ? lead.parent : nil))
                RETURNING id
                """, logger: logger)!.value("id", as: Int64.self)
            let onTime = try await DeadlineLedger.meet(assignmentId: lead.id, step: .reply, at: now, on: connection, logger: logger)
            // Once the lead has answered, what the others still owe is moot, and so is a request
            // about the deadline just met. The reply deadlines of the levels above stay: each is
            // met when that level approves.
            try await DeadlineLedger.close(caseId: step.handle.id, steps: [.sign, .opinion, .returnWindow, .contact], reason: "replied",
                                           at: now, on: connection, logger: logger)
            // The replying unit's own request lapses; a parent's, about its own deadline, stands.
            try await ExtensionRequests.lapse(assignmentId: lead.id, at: now, on: connection, logger: logger)
            step.details = [
                "reply_id": JSONValue(replyId), "outcome": .string(request.outcome.rawValue),
                "on_time": onTime.map(JSONValue.bool) ?? .null, "under_review": .bool(reviewed),
            ]
            step.unit = lead.unit
            if reviewed {
                let reviewer = step.chain.parent(of: lead)
                try await ReplyReviews.openReview(step, by: reviewer, at: now, on: connection, logger: logger)
            } else {
                try await openVisit(for: step.handle, at: now, on: connection, logger: logger)
                step.change.replyId = replyId
            }
            return (replyId, step.handle, !reviewed)
        }
        if released { try await reachCitizens(replyId: replyId, of: handle, causedBy: staff, at: now, on: connection, logger: logger) }
        logger.info("case replied", metadata: ["case": "\(number)"])
    }

    /// A reply that has reached its case's citizen reaches the duplicates merged into it too; an
    /// anonymous citizen's case closes, there being no one to call back.
    static func reachCitizens(
        replyId: Int64, of handle: CaseHandle, causedBy staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        if handle.anonymous { try await closeUnvisited(handle.id, at: now, on: connection, logger: logger) }
        // Duplicates merged into this case receive the same reply and are visited on their own.
        let duplicates = try await connection.rows(
            "SELECT id FROM cases WHERE merged_into = \(handle.id) AND status = 'merged' ORDER BY id", logger: logger
        )
        for row in duplicates {
            try await receive(replyId: replyId, master: handle.number, caseId: try row.value("id"), causedBy: staff, at: now,
                              on: connection, logger: logger)
        }
    }

    /// A duplicate receives its master's reply: it waits for its own return visit, or closes at
    /// once when its citizen is anonymous (there is no one to call).
    static func receive(
        replyId: Int64, master: String, caseId: Int64, causedBy staff: Staff?, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let duplicate = try await StepRunner.carry(.receiveReply, caseId: caseId, causedBy: staff, at: now,
                                                   on: connection, logger: logger) { step in
            try await openVisit(for: step.handle, at: now, on: connection, logger: logger)
            step.change.replyId = replyId
            step.details = ["reply_id": JSONValue(replyId), "master": .string(master)]
            return step.handle
        }
        if duplicate.anonymous { try await closeUnvisited(caseId, at: now, on: connection, logger: logger) }
    }

    /// The visit deadline of a case that received a reply; none for an anonymous citizen.
    static func openVisit(for handle: CaseHandle, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        guard !handle.anonymous else { return }
        let limits = try await Handling.limits(for: handle, on: connection, logger: logger)
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        try await DeadlineLedger.open(caseId: handle.id, assignmentId: nil, unit: nil, step: .visit, start: now,
                                      limit: limits[.visit]!, calendar: calendar, on: connection, logger: logger)
    }

    private static func closeUnvisited(_ caseId: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await StepRunner.carry(.closeNoVisit, caseId: caseId, causedBy: nil, at: now, on: connection, logger: logger)
    }
}
