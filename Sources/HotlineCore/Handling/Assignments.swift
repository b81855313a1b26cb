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
            throw HotlineError(.conflict, code: .invalidTransition,
                               "cannot \(action): the assignment of \(assignment.unit) is \(assignment.status.rawValue)")
        }
    }

    /// Ends an assignment (an approved return, a round released with it) and what it still
    /// owed: its open deadlines close, a pending extension request lapses.
    static func end(
        _ assignment: Assignment, as ending: Assignment.Status, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await move(assignment, to: ending, from: [.dispatched, .signed, .done], action: "end the assignment", at: now,
                       on: connection, logger: logger)
        try await DeadlineLedger.close(assignmentId: assignment.id, reason: ending == .returned ? "returned" : "cancelled",
                                       at: now, on: connection, logger: logger)
        try await ExtensionRequests.lapse(assignmentId: assignment.id, at: now, on: connection, logger: logger)
    }

    /// Ends every active assignment of a case (withdrawn, merged) and its deadlines. A deadline
    /// already missed stays missed: closing it after its time does not excuse it (DOMAIN §5).
    static func cancelAll(caseId: Int64, reason: String, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("""
            UPDATE assignments SET status = 'cancelled', ended_at = \(now)
            WHERE case_id = \(caseId) AND status IN ('dispatched', 'signed', 'done')
            """, logger: logger)
        try await DeadlineLedger.close(caseId: caseId, reason: reason, at: now, on: connection, logger: logger)
        try await ExtensionRequests.lapse(caseId: caseId, at: now, on: connection, logger: logger)
        // A return asked for and not yet reviewed has nothing left to return.
        try await connection.execute("""
            UPDATE return_requests SET status = 'lapsed', reviewed_at = \(now) WHERE case_id = \(caseId) AND status = 'pending'
            """, logger: logger)
    }
}

/// What the handling steps share: the case's time limits, a reason's rules.
enum Handling {
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
