import Foundation
import Logging
import PostgresNIO

/// The one way a case's status changes: an UPDATE guarded by the status it must be in, so that
/// of two people acting at once exactly one succeeds and the other learns the state it found.
enum CaseTransitions {
    static func move(
        _ handle: CaseHandle, from allowed: Set<CaseStatus>, action: String,
        update: (_ allowed: [String]) -> PostgresQuery,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard allowed.contains(handle.status) else {
            throw HotlineError.invalidTransition(current: handle.status.rawValue, action: action)
        }
        let moved = try await connection.execute(update(allowed.map(\.rawValue)), logger: logger)
        guard moved == 1 else {
            let now = try await CaseAccess.find(handle.number, on: connection, logger: logger)
            throw HotlineError.invalidTransition(current: now?.status.rawValue ?? "gone", action: action)
        }
    }
}

/// Handing an emergency call to 110, 119, 120 or 122 (DOMAIN §5 "transfer").
public enum EmergencyTransfer {
    public struct Request: Decodable, Sendable {
        public var service: EmergencyService
        public var note: String?

        public init(service: EmergencyService, note: String? = nil) {
            self.service = service
            self.note = note
        }
    }

    public static func transfer(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.operator, .dispatcher)
        let request = try input()
        var checker = FieldChecker()
        let note = checker.text(request.note, field: "note", max: 500, required: false, multiline: true)
        try checker.check()
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        try await CaseTransitions.move(handle, from: [.accepted], action: "transfer", update: { allowed in
            """
            UPDATE cases SET status = 'closed', closure = 'emergency_transfer',
                   transfer_service = \(request.service.rawValue), closed_at = \(now)
            WHERE id = \(handle.id) AND status = ANY(\(allowed)) RETURNING id
            """
        }, on: connection, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .transferred, by: staff, at: now, details: [
            "service": .string(request.service.rawValue), "note": JSONValue(note),
        ], on: connection, logger: logger)
        logger.info("case transferred", metadata: ["case": "\(number)", "service": "\(request.service.rawValue)"])
    }
}

/// Closing a case at the citizen's request (DOMAIN §5 "withdraw"); excluded from appraisal.
public enum Withdrawal {
    public struct Request: Decodable, Sendable {
        public var reason: String

        public init(reason: String) {
            self.reason = reason
        }
    }

    static let open: Set<CaseStatus> = [.accepted, .dispatched, .inProgress, .returnRequested, .replied, .merged]

    public static func withdraw(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.operator, .dispatcher)
        let request = try input()
        var checker = FieldChecker()
        let reason = checker.text(request.reason, field: "reason", max: 500, multiline: true)
        try checker.check()
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        try await CaseTransitions.move(handle, from: open, action: "withdraw", update: { allowed in
            """
            UPDATE cases SET status = 'closed', closure = 'withdrawn', closed_at = \(now), status_before_return = NULL
            WHERE id = \(handle.id) AND status = ANY(\(allowed)) RETURNING id
            """
        }, on: connection, logger: logger)
        // The units' work on it ends with the case; its duplicates go back to the center.
        try await Assignments.cancelAll(caseId: handle.id, reason: "withdrawn", at: now, on: connection, logger: logger)
        try await Merging.releaseDuplicates(of: handle, by: staff, at: now, on: connection, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .withdrawn, by: staff, at: now, details: [
            "reason": .string(reason!), "from_status": .string(handle.status.rawValue),
        ], on: connection, logger: logger)
        logger.info("case withdrawn", metadata: ["case": "\(number)"])
    }
}
