import Foundation
import Logging
import PostgresNIO

/// 延期 (DOMAIN §5): once per assignment, before the reply deadline, at most the limit's working
/// days, never on an urgent case; an approval moves the reply deadline by the days granted.
public enum ExtensionRequests {
    public struct Request: Decodable, Sendable {
        public var workingDays: Int
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case reason
            case workingDays = "working_days"
        }
    }

    public struct Approval: Decodable, Sendable {
        public var workingDays: Int?

        enum CodingKeys: String, CodingKey {
            case workingDays = "working_days"
        }
    }

    public struct Rejection: Decodable, Sendable {
        public var reason: String
    }

    public struct Requested: Codable, Sendable {
        public let id: Int64
    }

    public static func request(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Requested {
        try await StepRunner.run(.requestExtension, number, by: staff, at: now, on: connection, logger: logger) { step in
            let lead = step.own!
            let request = try input()
            let reason = try Handling.reason(request.reason)
            let most = try await Handling.limits(for: step.handle, on: connection, logger: logger)[.extension]!.amount
            guard most > 0 else {
                throw HotlineError(.unprocessable, code: .extensionNotAllowed,
                                   "this case's limits allow no extension (urgent cases have none)")
            }
            guard (1...most).contains(request.workingDays) else {
                throw HotlineError.validation(field: "working_days", "must be between 1 and \(most)")
            }
            guard let reply = try await openReplyDeadline(lead.id, on: connection, logger: logger) else {
                throw HotlineError(.conflict, code: .invalidTransition, "the lead unit has no reply pending")
            }
            guard now <= reply.due else {
                throw HotlineError(.unprocessable, code: .deadlinePassed, "an extension must be asked for before the reply deadline")
            }
            guard let row = try await connection.row("""
                INSERT INTO extension_requests (case_id, assignment_id, deadline_id, unit_code, working_days, reason,
                                                requested_at, requested_by)
                VALUES (\(step.handle.id), \(lead.id), \(reply.id), \(lead.unit), \(request.workingDays), \(reason), \(now), \(staff.id))
                ON CONFLICT (assignment_id) DO NOTHING RETURNING id
                """, logger: logger) else {
                throw HotlineError(.unprocessable, code: .alreadyRequested, "an extension is asked for once per assignment")
            }
            let id: Int64 = try row.value("id")
            step.details = [
                "extension_request_id": JSONValue(id), "working_days": .number(Double(request.workingDays)), "reason": .string(reason),
            ]
            return Requested(id: id)
        }
    }

    public static func approve(
        _ number: String, requestId: Int64, _ input: @autoclosure () throws -> Approval, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.approveExtension, number, by: staff, at: now, on: connection, logger: logger) { step in
            let approval = try input()
            let pending = try await pendingRequest(requestId, of: step.handle, at: now, on: connection, logger: logger)
            let asking = step.chain.assignments.first { $0.id == pending.assignmentId }!
            try Tiers.requireReviewer(of: asking, step, what: "the extension")
            let days = approval.workingDays ?? pending.workingDays
            guard (1...pending.workingDays).contains(days) else {
                throw HotlineError.validation(field: "working_days", "must be between 1 and the \(pending.workingDays) asked for")
            }
            let calendar = try await CalendarStore.load(on: connection, logger: logger)
            var moved = calendar.addingWorkingDays(days, to: pending.deadline.due)
            // Inside a tier an extension stays capped one working day before the parent's reply (§5a).
            if let parent = step.chain.parent(of: asking),
               let parentReply = try await openReplyDeadline(parent.id, on: connection, logger: logger) {
                let cap = calendar.tierCap(beforeParentDue: parentReply.due, urgent: step.handle.urgency == .urgent)
                if cap < moved.at { moved = Deadline(at: max(cap, pending.deadline.due), provisional: moved.provisional) }
            }
            try await DeadlineLedger.move(pending.deadline.id, to: moved, extendingBy: days, calendar: calendar,
                                          on: connection, logger: logger)
            try await connection.execute("""
                UPDATE extension_requests SET status = 'approved', approved_days = \(days), reviewed_at = \(now), reviewed_by = \(staff.id)
                WHERE id = \(requestId)
                """, logger: logger)
            step.details = [
                "extension_request_id": JSONValue(requestId), "working_days": .number(Double(days)),
                "reply_due_before": .string(Timestamp.format(pending.deadline.due)), "reply_due": .string(Timestamp.format(moved.at)),
            ]
        }
    }

    public static func reject(
        _ number: String, requestId: Int64, _ input: @autoclosure () throws -> Rejection, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.rejectExtension, number, by: staff, at: now, on: connection, logger: logger) { step in
            let reason = try Handling.reason(try input().reason)
            let pending = try await pendingRequest(requestId, of: step.handle, at: now, on: connection, logger: logger)
            try Tiers.requireReviewer(of: step.chain.assignments.first { $0.id == pending.assignmentId }!, step, what: "the extension")
            try await connection.execute("""
                UPDATE extension_requests SET status = 'rejected', reviewed_at = \(now), reviewed_by = \(staff.id), review_reason = \(reason)
                WHERE id = \(requestId)
                """, logger: logger)
            step.details = ["extension_request_id": JSONValue(requestId), "reason": .string(reason)]
        }
    }

    /// Pending requests of an assignment (or a whole case) lapse: the reply they asked about
    /// was given, or the assignment ended.
    static func lapse(
        assignmentId: Int64? = nil, caseId: Int64? = nil, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.execute("""
            UPDATE extension_requests SET status = 'lapsed', reviewed_at = \(now)
            WHERE status = 'pending'
              AND (\(assignmentId)::bigint IS NULL OR assignment_id = \(assignmentId))
              AND (\(caseId)::bigint IS NULL OR case_id = \(caseId))
            """, logger: logger)
    }

    /// Requests whose deadline passed unreviewed lapse at that moment (the sweep calls this).
    static func lapseOverdue(at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.execute("""
            UPDATE extension_requests e SET status = 'lapsed', reviewed_at = d.due_at
            FROM deadlines d
            WHERE d.id = e.deadline_id AND e.status = 'pending' AND d.due_at < \(now)
            """, logger: logger)
    }

    struct OpenDeadline {
        let id: Int64
        let started: Date
        let due: Date
    }

    static func openReplyDeadline(_ assignmentId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> OpenDeadline? {
        guard let row = try await connection.row("""
            SELECT id, started_at, due_at FROM deadlines
            WHERE assignment_id = \(assignmentId) AND step = 'reply' AND met_at IS NULL AND closed_at IS NULL
            """, logger: logger) else { return nil }
        return OpenDeadline(id: try row.value("id"), started: try row.value("started_at"), due: try row.value("due_at"))
    }

    struct Pending {
        let assignmentId: Int64
        let workingDays: Int
        let deadline: OpenDeadline
    }

    /// A request still waiting for review. One whose deadline has passed, been met or ended has
    /// lapsed, whether or not the sweep has written so yet.
    static func pendingRequest(
        _ id: Int64, of handle: CaseHandle, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Pending {
        guard let row = try await connection.row("""
            SELECT e.assignment_id, e.working_days, e.status, d.id AS deadline_id, d.started_at, d.due_at,
                   d.met_at IS NULL AND d.closed_at IS NULL AS running
            FROM extension_requests e LEFT JOIN deadlines d ON d.id = e.deadline_id
            WHERE e.id = \(id) AND e.case_id = \(handle.id)
            """, logger: logger) else { throw HotlineError.notFound("extension request") }
        let status: String = try row.value("status")
        guard status == "pending" else {
            throw HotlineError(.conflict, code: .invalidTransition, "this extension request is already \(status)")
        }
        guard let deadline: Int64 = try row.value("deadline_id"), try row.value("running", as: Bool?.self) == true,
              now <= (try row.value("due_at", as: Date.self)) else {
            throw HotlineError(.conflict, code: .requestLapsed,
                               "this extension request lapsed: the reply deadline it asked about has passed or ended")
        }
        return Pending(assignmentId: try row.value("assignment_id"), workingDays: Int(try row.value("working_days", as: Int32.self)),
                       deadline: OpenDeadline(id: deadline, started: try row.value("started_at"), due: try row.value("due_at")))
    }
}
