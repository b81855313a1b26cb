import Foundation
import Logging
import PostgresNIO

/// 退单 (DOMAIN §5): the lead unit asks to give the case back within the return window; the
/// center approves (and re-dispatches) or rejects (an unreasonable return, 不合理退单). A
/// passed-down unit returns the case to its parent, whose sub-center reviews it (§5a).
public enum ReturnRequests {
    public struct Request: Decodable, Sendable {
        public var reason: String
        public var suggestedUnit: String?

        enum CodingKeys: String, CodingKey {
            case reason
            case suggestedUnit = "suggested_unit"
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
        try await StepRunner.run(.requestReturn, number, by: staff, at: now, on: connection, logger: logger) { step in
            let lead = step.own!
            let request = try input()
            let reason = try Handling.reason(request.reason)
            if lead.designated {
                throw HotlineError(.unprocessable, code: .designatedDispatch,
                                   "a designated dispatch (指定派单) cannot be returned")
            }
            if try await connection.row("SELECT 1 FROM return_requests WHERE assignment_id = \(lead.id)", logger: logger) != nil {
                throw HotlineError(.unprocessable, code: .alreadyRequested, "this assignment has asked for a return before")
            }
            guard try await DeadlineLedger.meet(assignmentId: lead.id, step: .returnWindow, at: now, on: connection, logger: logger) == true else {
                throw HotlineError(.unprocessable, code: .deadlinePassed, "the window for returning this case has closed")
            }
            if let suggested = request.suggestedUnit {
                try await Units.requireUnit(suggested, field: "suggested_unit", on: connection, logger: logger, active: true)
            }
            guard let row = try await connection.row("""
                INSERT INTO return_requests (case_id, assignment_id, unit_code, reason, suggested_unit, requested_at, requested_by)
                VALUES (\(step.handle.id), \(lead.id), \(lead.unit), \(reason), \(request.suggestedUnit), \(now), \(staff.id))
                ON CONFLICT (assignment_id) DO NOTHING RETURNING id
                """, logger: logger) else {
                throw HotlineError(.unprocessable, code: .alreadyRequested, "this assignment has asked for a return before")
            }
            let id: Int64 = try row.value("id")
            step.details = [
                "return_request_id": JSONValue(id), "reason": .string(reason), "suggested_unit": JSONValue(request.suggestedUnit),
            ]
            return Requested(id: id)
        }
    }

    public static func approve(
        _ number: String, requestId: Int64, _ input: @autoclosure () throws -> Dispatch.Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(among: [.approveReturn, .approveChildReturn], number, by: staff, at: now, on: connection,
                                 logger: logger, pick: { $0.actor == .unitDispatcher ? .approveChildReturn : .approveReturn }) { step in
            let handle = step.handle
            let request = try input()
            let note = try Dispatch.checkedNote(request.note)
            let pending = try await pendingRequest(requestId, of: handle, on: connection, logger: logger)
            let returning = step.chain.assignments.first { $0.id == pending.assignmentId }!
            try Tiers.requireReviewer(of: returning, step, what: "the return")
            var team: Dispatch.Team?
            if step.step == .approveReturn {
                var choice = request
                if choice.leadUnit == nil, let suggested = pending.suggestedUnit { choice.leadUnit = suggested }
                team = try await Dispatch.team(for: handle, request: choice, excluding: pending.unit, on: connection, logger: logger)
            }
            try await connection.execute("""
                UPDATE return_requests SET status = 'approved', reviewed_at = \(now), reviewed_by = \(staff.id)
                WHERE id = \(requestId) AND status = 'pending'
                """, logger: logger)
            // The returning unit's part ends as 'returned' (nothing of it counts against it); the
            // assisting units of its round are released with it.
            for assignment in step.chain.assignments where assignment.round == returning.round && assignment.isActive {
                let ending: Assignment.Status = assignment.id == pending.assignmentId ? .returned : .cancelled
                try await Assignments.end(assignment, as: ending, at: now, on: connection, logger: logger)
            }
            step.details = ["return_request_id": JSONValue(requestId), "returned_by": .string(pending.unit)]
            if let team {
                step.change.approvedReturn = true
                step.follow(.dispatched, try await Dispatch.createRound(&step, team: team, note: note, on: connection, logger: logger))
            } else {
                // Back to the parent, which handles it again (or passes it down to another unit).
                step.unit = step.own!.unit
                step.details["back_to"] = .string(step.own!.unit)
            }
        }
    }

    public static func reject(
        _ number: String, requestId: Int64, _ input: @autoclosure () throws -> Rejection, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        // Back to the same unit, its deadlines unchanged; its ladder resumes where it would be.
        try await StepRunner.run(.rejectReturn, number, by: staff, at: now, on: connection, logger: logger) { step in
            let reason = try Handling.reason(try input().reason)
            let pending = try await pendingRequest(requestId, of: step.handle, on: connection, logger: logger)
            try Tiers.requireReviewer(of: step.chain.assignments.first { $0.id == pending.assignmentId }!, step, what: "the return")
            try await connection.execute("""
                UPDATE return_requests SET status = 'rejected', reviewed_at = \(now), reviewed_by = \(staff.id), review_reason = \(reason)
                WHERE id = \(requestId) AND status = 'pending'
                """, logger: logger)
            step.details = ["return_request_id": JSONValue(requestId), "unit": .string(pending.unit), "reason": .string(reason)]
        }
    }

    struct Pending {
        let assignmentId: Int64
        let unit: String
        let suggestedUnit: String?
    }

    static func pendingRequest(
        _ id: Int64, of handle: CaseHandle, on connection: PostgresConnection, logger: Logger
    ) async throws -> Pending {
        guard let row = try await connection.row("""
            SELECT assignment_id, unit_code, suggested_unit, status FROM return_requests
            WHERE id = \(id) AND case_id = \(handle.id)
            """, logger: logger) else { throw HotlineError.notFound("return request") }
        let status: String = try row.value("status")
        guard status == "pending" else {
            throw HotlineError(.conflict, code: .invalidTransition, "this return request is already \(status)")
        }
        return Pending(assignmentId: try row.value("assignment_id"), unit: try row.value("unit_code"),
                       suggestedUnit: try row.value("suggested_unit"))
    }
}
