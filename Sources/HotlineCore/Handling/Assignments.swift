import Foundation
import Logging
import PostgresNIO

/// A unit's part in a case, as the handling steps need it.
struct Assignment: Sendable {
    enum Role: String { case lead, assist }
    enum Status: String {
        case dispatched, signed, returned, replied, done, cancelled
        case takenBack = "taken_back"
        case reassigned
    }

    let id: Int64
    /// The parent's assignment of a passed-down one (DOMAIN §5a); nil for the center's dispatch.
    let parent: Int64?
    let unit: String
    let role: Role
    let status: Status
    let round: Int
    let designated: Bool
    let returnUntil: Date?
    let dispatchedAt: Date

    /// Still part of the case: not returned, cancelled, taken back or reassigned.
    var isActive: Bool { status != .returned && status != .cancelled && status != .takenBack && status != .reassigned }

    /// Owes the case its handling: dispatched or signed, not yet replied.
    var isHandling: Bool { status == .dispatched || status == .signed }
}

/// The lead assignments of a case from the center's down (DOMAIN §5a): each the child of the
/// one before; the one that handles the case is the deepest still handling.
struct LeadChain: Sendable {
    let assignments: [Assignment]
    /// The active leads, top first.
    let leads: [Assignment]

    init(_ assignments: [Assignment]) {
        self.assignments = assignments
        var leads: [Assignment] = []
        var parent: Int64? = nil
        while let next = assignments.last(where: { $0.role == .lead && $0.isActive && $0.parent == parent }) {
            leads.append(next)
            parent = next.id
        }
        self.leads = leads
    }

    /// The lead that handles the case now: the deepest one still handling, else (the reply gone
    /// up, or given) the deepest of all.
    var handling: Assignment? { leads.last(where: \.isHandling) ?? leads.last }

    /// The active lead of `unit` in the chain.
    func lead(of unit: String?) -> Assignment? { leads.last { $0.unit == unit } }

    func parent(of assignment: Assignment) -> Assignment? {
        assignment.parent.flatMap { id in assignments.first { $0.id == id } }
    }

    /// The active lead directly below `assignment`, if it has one.
    func child(of assignment: Assignment) -> Assignment? { leads.first { $0.parent == assignment.id } }

    /// Whether `assignment` (any role) sits below `ancestor` in the tree of assignments.
    func isBelow(_ assignment: Assignment, _ ancestor: Assignment) -> Bool {
        var next = parent(of: assignment)
        while let current = next {
            if current.id == ancestor.id { return true }
            next = parent(of: current)
        }
        return false
    }
}

enum Assignments {
    static func all(caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [Assignment] {
        try await connection.rows("""
            SELECT id, parent_id, unit_code, role, status, round, designated, return_until, dispatched_at
            FROM assignments WHERE case_id = \(caseId) ORDER BY id
            """, logger: logger).map { row in
            Assignment(
                id: try row.value("id"),
                parent: try row.value("parent_id"),
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

    static func chain(caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> LeadChain {
        LeadChain(try await all(caseId: caseId, on: connection, logger: logger))
    }

    /// Moves an assignment between statuses, guarded by the status it must be in.
    static func move(
        _ assignment: Assignment, to status: Assignment.Status, from allowed: [Assignment.Status],
        action: String, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let ended: Date? = [.returned, .cancelled, .takenBack, .reassigned].contains(status) ? now : nil
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
        let reason = switch ending {
        case .returned: "returned"
        case .takenBack: "taken_back"
        case .reassigned: "reassigned"
        default: "cancelled"
        }
        try await DeadlineLedger.close(assignmentId: assignment.id, reason: reason, at: now, on: connection, logger: logger)
        try await ExtensionRequests.lapse(assignmentId: assignment.id, at: now, on: connection, logger: logger)
        try await connection.execute("""
            UPDATE return_requests SET status = 'lapsed', reviewed_at = \(now) WHERE assignment_id = \(assignment.id) AND status = 'pending'
            """, logger: logger)
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
        // A reply still going up for review reaches no one now.
        try await connection.execute("""
            UPDATE replies SET status = 'cancelled', reviewer_assignment_id = NULL WHERE case_id = \(caseId) AND status = 'under_review'
            """, logger: logger)
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
