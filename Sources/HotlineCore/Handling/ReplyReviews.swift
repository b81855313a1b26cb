import Foundation
import Logging
import PostgresNIO

/// 审核 (DOMAIN §5b): a reply goes up a level at a time, each level's dispatcher approving it,
/// then to the center where the review policy says so, and only then to the citizen. A
/// send-back (退回重办) gives the lead directly below the reviewer a new reply deadline.
public enum ReplyReviews {
    public struct Approval: Decodable, Sendable {
        public var note: String?
    }

    public static func approve(
        _ number: String, replyId: Int64, _ input: @autoclosure () throws -> Approval, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let (handle, released) = try await StepRunner.run(
            among: [.approveReply, .releaseReply], number, by: staff, at: now, on: connection, logger: logger,
            pick: { place in
                // The center's approval is the last; a level's is, when no level and no center
                // review is left above it.
                guard place.actor == .unitDispatcher, let own = place.own else { return .releaseReply }
                if own.parent != nil { return .approveReply }
                return try await ReviewPolicy.centerReviews(place.handle, on: connection, logger: logger) ? .approveReply : .releaseReply
            }
        ) { step in
            let note = try Dispatch.checkedNote(try input().note)
            let review = try await underReview(replyId, step, on: connection, logger: logger)
            try await record(review, .approved, reason: note, step, on: connection, logger: logger)
            var details: [String: JSONValue] = ["reply_id": JSONValue(replyId), "unit": .string(review.unit), "note": JSONValue(note)]
            if let level = review.reviewer {
                // The level's own reply is this one now: its reply deadline is met by the approval.
                let onTime = try await DeadlineLedger.meet(assignmentId: level.id, step: .reply, at: now, on: connection, logger: logger)
                try await Assignments.move(level, to: .replied, from: [.signed], action: "approve the reply", at: now,
                                           on: connection, logger: logger)
                details["reply_on_time"] = onTime.map(JSONValue.bool) ?? .null
                step.unit = level.unit
            }
            if step.step == .approveReply {
                // Up a level: the parent's dispatcher, or the center at the top.
                let next = review.reviewer.flatMap { step.chain.parent(of: $0) }
                try await connection.execute(
                    "UPDATE replies SET reviewer_assignment_id = \(next?.id) WHERE id = \(replyId)", logger: logger
                )
                try await openReview(step, by: next, at: now, on: connection, logger: logger)
                details["next_reviewer"] = .string(next?.unit ?? "center")
            } else {
                try await connection.execute("""
                    UPDATE replies SET status = 'approved', reviewer_assignment_id = NULL WHERE id = \(replyId)
                    """, logger: logger)
                try await Replies.openVisit(for: step.handle, at: now, on: connection, logger: logger)
                step.change.replyId = replyId
                details["released"] = .bool(true)
            }
            step.details = details
            return (step.handle, step.step == .releaseReply)
        }
        if released { try await Replies.reachCitizens(replyId: replyId, of: handle, causedBy: staff, at: now, on: connection, logger: logger) }
    }

    public static func sendBack(
        _ number: String, replyId: Int64, _ input: @autoclosure () throws -> Review.Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.sendBackReply, number, by: staff, at: now, on: connection, logger: logger) { step in
            let reason = try Handling.reason(try input().reason)
            let review = try await underReview(replyId, step, on: connection, logger: logger)
            // The lead directly below the reviewer answers again (and may pass the case down again).
            let below = review.reviewer.map { step.chain.child(of: $0) } ?? step.chain.leads.first
            guard let lead = below else {
                throw HotlineError(.conflict, code: .invalidTransition, "no lead unit below the reviewer to send the reply back to")
            }
            try await record(review, .sentBack, reason: reason, step, on: connection, logger: logger)
            try await connection.execute("""
                UPDATE replies SET status = 'sent_back', reviewer_assignment_id = NULL WHERE id = \(replyId)
                """, logger: logger)
            try await Assignments.move(lead, to: .signed, from: [.replied], action: "send the reply back", at: now,
                                       on: connection, logger: logger)
            let limits = try await Handling.limits(for: step.handle, on: connection, logger: logger)
            let calendar = try await CalendarStore.load(on: connection, logger: logger)
            var cap: Date?
            if let parent = step.chain.parent(of: lead),
               let parentReply = try await ExtensionRequests.openReplyDeadline(parent.id, on: connection, logger: logger) {
                cap = calendar.tierCap(beforeParentDue: parentReply.due, urgent: step.handle.urgency == .urgent)
            }
            let due = try await DeadlineLedger.open(caseId: step.handle.id, assignmentId: lead.id, unit: lead.unit, step: .reply,
                                                    start: now, limit: limits[.sendBackReply]!, cap: cap, calendar: calendar,
                                                    on: connection, logger: logger).due.at
            step.unit = lead.unit
            step.details = [
                "reply_id": JSONValue(replyId), "reviewer": .string(review.reviewer?.unit ?? "center"), "unit": .string(lead.unit),
                "reason": .string(reason), "reply_due": .string(Timestamp.format(due)),
            ]
        }
    }

    /// Opens the review deadline of the level that reviews next: a unit's (with a ladder), or
    /// the center's.
    static func openReview(
        _ step: StepContext, by reviewer: Assignment?, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let limits = try await Handling.limits(for: step.handle, on: connection, logger: logger)
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        try await DeadlineLedger.open(caseId: step.handle.id, assignmentId: reviewer?.id, unit: reviewer?.unit, step: .review,
                                      start: now, limit: limits[.review]!, calendar: calendar, on: connection, logger: logger)
    }

    struct UnderReview {
        let replyId: Int64
        let unit: String
        /// The level reviewing it; nil for the center.
        let reviewer: Assignment?
    }

    /// The reply named, still under review, and the caller its reviewer. A level that has
    /// already reviewed this reply is told so (409), as a second click is.
    private static func underReview(
        _ replyId: Int64, _ step: StepContext, on connection: PostgresConnection, logger: Logger
    ) async throws -> UnderReview {
        guard let row = try await connection.row("""
            SELECT unit_code, status, reviewer_assignment_id FROM replies WHERE id = \(replyId) AND case_id = \(step.handle.id)
            """, logger: logger) else { throw HotlineError.notFound("reply") }
        let status: String = try row.value("status")
        guard status == "under_review" else {
            throw HotlineError(.conflict, code: .invalidTransition, "this reply is no longer under review: it is \(status)")
        }
        let level: Int64? = try row.value("reviewer_assignment_id")
        if step.actor == .unitDispatcher, let own = step.own, try await connection.row("""
            SELECT 1 FROM reply_reviews WHERE reply_id = \(replyId) AND assignment_id = \(own.id)
            """, logger: logger) != nil {
            throw HotlineError(.conflict, code: .invalidTransition, "\(own.unit) has already reviewed this reply")
        }
        let reviewer = level.flatMap { id in step.chain.assignments.first { $0.id == id } }
        let fine = switch step.actor {
        case .centerDispatcher: level == nil
        case .unitDispatcher: level != nil && level == step.own?.id
        default: false
        }
        guard fine else {
            throw HotlineError(.forbidden, code: .notReviewer,
                               "this reply is reviewed by " + (reviewer.map { "the dispatcher of \($0.unit)" } ?? "the center"))
        }
        return UnderReview(replyId: replyId, unit: try row.value("unit_code"), reviewer: reviewer)
    }

    private enum Decision: String { case approved, sentBack = "sent_back" }

    /// The level's review, once: the key on (reply, level) refuses a second one whoever races.
    private static func record(
        _ review: UnderReview, _ decision: Decision, reason: String?, _ step: StepContext,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard try await connection.row("""
            INSERT INTO reply_reviews (case_id, reply_id, assignment_id, decision, reason, reviewed_by, reviewed_at)
            VALUES (\(step.handle.id), \(review.replyId), \(review.reviewer?.id), \(decision.rawValue), \(reason), \(step.staff!.id), \(step.now))
            ON CONFLICT DO NOTHING RETURNING id
            """, logger: logger) != nil else {
            throw HotlineError(.conflict, code: .invalidTransition, "this reply has already been reviewed at this level")
        }
        if let level = review.reviewer {
            try await DeadlineLedger.meet(assignmentId: level.id, step: .review, at: step.now, on: connection, logger: logger)
        } else {
            try await DeadlineLedger.meetCenterReview(caseId: step.handle.id, at: step.now, on: connection, logger: logger)
        }
    }
}
