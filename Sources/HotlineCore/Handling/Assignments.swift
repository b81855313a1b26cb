import Foundation
import Logging
import PostgresNIO

/// A unit's part in a case, as the handling steps need it.
struct Assignment: Sendable {
    enum Role: String { case lead, assist }
    enum Status: String { case dispatched, signed, returned, replied, done, cancelled }

    let id: Int64
    let unit: String
    let role: Role
    let status: Status
    let round: Int
    let designated: Bool
    let returnUntil: Date?
    let dispatchedAt: Date

    /// Still part of the case: not returned, not cancelled.
    var isActive: Bool { status != .returned && status != .cancelled }
}

enum Assignments {
    static func all(caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [Assignment] {
        try await connection.rows("""
            SELECT id, unit_code, role, status, round, designated, return_until, dispatched_at
            FROM assignments WHERE case_id = \(caseId) ORDER BY id
            """, logger: logger).map { row in
            Assignment(
                id: try row.value("id"),
                unit: try row.value("unit_code"),
                role: Assignment.Role(rawValue: try row.value("role"))!,
                status: Assignment.Status(rawValue: try row.value("status"))!,
                round: Int(try row.value("round", as: Int32.self)),
                designated: try row.value("designated"),
                returnUntil: try row.value("return_until"),
                dispatchedAt: try row.value("dispatched_at")
            )
        }
    }

    static func activeLead(caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Assignment? {
        try await all(caseId: caseId, on: connection, logger: logger).last { $0.role == .lead && $0.isActive }
    }

    /// Moves an assignment between statuses, guarded by the status it must be in.
    static func move(
        _ assignment: Assignment, to status: Assignment.Status, from allowed: [Assignment.Status],
        action: String, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let ended: Date? = (status == .returned || status == .cancelled) ? now : nil
        let moved = try await connection.execute("""
            UPDATE assignments SET status = \(status.rawValue), ended_at = coalesce(\(ended), ended_at)
            WHERE id = \(assignment.id) AND status = ANY(\(allowed.map(\.rawValue))) RETURNING id
            """, logger: logger)
        guard moved == 1 else {
            throw HotlineError(.conflict, code: "invalid_transition",
                               "cannot \(action): the assignment of \(assignment.unit) is \(assignment.status.rawValue)")
        }
    }

    /// Ends every active assignment of a case (withdrawn, merged, re-dispatched) and its deadlines.
    static func cancelAll(caseId: Int64, reason: String, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("""
            UPDATE assignments SET status = 'cancelled', ended_at = \(now)
            WHERE case_id = \(caseId) AND status IN ('dispatched', 'signed')
            """, logger: logger)
        try await DeadlineLedger.close(caseId: caseId, reason: reason, at: now, on: connection, logger: logger)
    }
}

/// What every handling step does first: find and lock the case, and check who may act.
enum Handling {
    /// The case, locked for the rest of the transaction so that steps on one case queue up.
    /// A handler whose unit has never been assigned to it learns nothing, not even that it
    /// exists: 404, as for a case that does not exist.
    static func lock(_ number: String, for staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> CaseHandle {
        guard let handle = try await CaseAccess.find(number, on: connection, logger: logger, lock: true) else {
            throw HotlineError.notFound("case")
        }
        if staff.role == .handler {
            guard try await CaseAccess.unitSees(handle, unit: staff.unit, on: connection, logger: logger) else {
                throw HotlineError.notFound("case")
            }
        }
        return handle
    }

    static func require(_ handle: CaseHandle, in statuses: Set<CaseStatus>, to action: String) throws {
        guard statuses.contains(handle.status) else {
            throw HotlineError.invalidTransition(current: handle.status.rawValue, action: action)
        }
    }

    /// "谁办理、谁答复": only a handler of the current lead unit; anyone else is told so.
    static func requireLead(
        _ staff: Staff, _ handle: CaseHandle, on connection: PostgresConnection, logger: Logger
    ) async throws -> Assignment {
        let lead = try await Assignments.activeLead(caseId: handle.id, on: connection, logger: logger)
        guard staff.role == .handler, let lead, lead.unit == staff.unit else {
            throw HotlineError(.forbidden, code: "not_lead_unit", "only a handler of the case's lead unit may do this")
        }
        return lead
    }

    /// The caller's unit's active assignment on the case, of the given role if one is given.
    static func requireOwn(
        _ staff: Staff, _ handle: CaseHandle, role: Assignment.Role? = nil,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Assignment {
        let own = try await Assignments.all(caseId: handle.id, on: connection, logger: logger)
            .last { $0.unit == staff.unit && $0.isActive && (role == nil || $0.role == role) }
        guard staff.role == .handler, let own else {
            if role == .assist {
                throw HotlineError(.forbidden, code: "not_assisting_unit", "only a handler of an assisting unit may do this")
            }
            throw HotlineError(.forbidden, code: "not_assigned", "only a handler of a unit assigned to the case may do this")
        }
        return own
    }

    static func limits(for handle: CaseHandle, on connection: PostgresConnection, logger: Logger) async throws -> [LimitStep: Limit] {
        try await TimeLimits.resolve(type: handle.type, urgency: handle.urgency, category: handle.category,
                                     on: connection, logger: logger)
    }

    static func reason(_ text: String?, field: String = "reason") throws -> String {
        var checker = FieldChecker()
        let value = checker.text(text, field: field, max: 1000, multiline: true)
        try checker.check()
        return value!
    }
}
