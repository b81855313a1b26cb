import Foundation
import Logging
import PostgresNIO

/// 延期 (DOMAIN §5): once per assignment, before the reply deadline, at most the limit's working
/// days, never on an urgent case; an approval moves the reply deadline by the days granted.
public enum Extensions {
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
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        let lead = try await Handling.requireLead(staff, handle, on: connection, logger: logger)
        let request = try input()
        let reason = try Handling.reason(request.reason)
        try Handling.require(handle, in: [.inProgress], to: "extend")
        let most = try await Handling.limits(for: handle, on: connection, logger: logger)[.extension]!.amount
        guard most > 0 else {
            throw HotlineError(.unprocessable, code: "extension_not_allowed", "this case's limits allow no extension (urgent cases have none)")
        }
        guard (1...most).contains(request.workingDays) else {
            throw HotlineError.validation(field: "working_days", "must be between 1 and \(most)")
        }
        guard let reply = try await openReplyDeadline(lead.id, on: connection, logger: logger) else {
            throw HotlineError(.conflict, code: "invalid_transition", "the lead unit has no reply pending")
        }
        guard now <= reply.due else {
            throw HotlineError(.unprocessable, code: "deadline_passed", "an extension must be asked for before the reply deadline")
        }
        guard let row = try await connection.row("""
            INSERT INTO extension_requests (case_id, assignment_id, unit_code, working_days, reason, requested_at, requested_by)
            VALUES (\(handle.id), \(lead.id), \(lead.unit), \(request.workingDays), \(reason), \(now), \(staff.id))
            ON CONFLICT (assignment_id) DO NOTHING RETURNING id
            """, logger: logger) else {
            throw HotlineError(.unprocessable, code: "already_requested", "an extension is asked for once per assignment")
        }
        let id: Int64 = try row.value("id")
        try await Timeline.record(caseId: handle.id, kind: .extensionRequested, by: staff, at: now, details: [
            "extension_request_id": JSONValue(id), "working_days": .number(Double(request.workingDays)), "reason": .string(reason),
        ], on: connection, logger: logger)
        return Requested(id: id)
    }

    public static func approve(
        _ number: String, requestId: Int64, _ input: @autoclosure () throws -> Approval, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.dispatcher)
        let approval = try input()
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        let pending = try await pendingRequest(requestId, of: handle, on: connection, logger: logger)
        let days = approval.workingDays ?? pending.workingDays
        guard (1...pending.workingDays).contains(days) else {
            throw HotlineError.validation(field: "working_days", "must be between 1 and the \(pending.workingDays) asked for")
        }
        try Handling.require(handle, in: [.inProgress], to: "extend")
        guard let reply = try await openReplyDeadline(pending.assignmentId, on: connection, logger: logger) else {
            throw HotlineError(.conflict, code: "invalid_transition", "the reply this extension was for has been given")
        }
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        let moved = calendar.addingWorkingDays(days, to: reply.due)
        let warn = calendar.warning(for: Limit(amount: 1, unit: .workingDays), start: reply.started, due: moved.at)
        try await connection.execute("""
            UPDATE deadlines SET due_at = \(moved.at), warn_at = \(warn), extended_days = extended_days + \(days),
                   provisional = provisional OR \(moved.provisional)
            WHERE id = \(reply.id)
            """, logger: logger)
        try await connection.execute("""
            UPDATE extension_requests SET status = 'approved', approved_days = \(days), reviewed_at = \(now), reviewed_by = \(staff.id)
            WHERE id = \(requestId)
            """, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .extensionApproved, by: staff, at: now, details: [
            "extension_request_id": JSONValue(requestId), "working_days": .number(Double(days)),
            "reply_due_before": .string(Timestamp.format(reply.due)), "reply_due": .string(Timestamp.format(moved.at)),
        ], on: connection, logger: logger)
    }

    public static func reject(
        _ number: String, requestId: Int64, _ input: @autoclosure () throws -> Rejection, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.dispatcher)
        let reason = try Handling.reason(try input().reason)
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        _ = try await pendingRequest(requestId, of: handle, on: connection, logger: logger)
        try await connection.execute("""
            UPDATE extension_requests SET status = 'rejected', reviewed_at = \(now), reviewed_by = \(staff.id), review_reason = \(reason)
            WHERE id = \(requestId)
            """, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .extensionRejected, by: staff, at: now, details: [
            "extension_request_id": JSONValue(requestId), "reason": .string(reason),
        ], on: connection, logger: logger)
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
    }

    static func pendingRequest(
        _ id: Int64, of handle: CaseHandle, on connection: PostgresConnection, logger: Logger
    ) async throws -> Pending {
        guard let row = try await connection.row("""
            SELECT assignment_id, working_days, status FROM extension_requests WHERE id = \(id) AND case_id = \(handle.id)
            """, logger: logger) else { throw HotlineError.notFound("extension request") }
        let status: String = try row.value("status")
        guard status == "pending" else {
            throw HotlineError(.conflict, code: "invalid_transition", "this extension request is already \(status)")
        }
        return Pending(assignmentId: try row.value("assignment_id"), workingDays: Int(try row.value("working_days", as: Int32.self)))
    }
}
