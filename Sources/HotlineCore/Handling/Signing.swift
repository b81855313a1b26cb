import Foundation
import Logging
import PostgresNIO

/// 签收 (DOMAIN §5 "sign"): each unit signs its own assignment; the lead's signature puts the
/// case in progress.
public enum Signing {
    public static func sign(
        _ number: String, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        let own = try await Handling.requireOwn(staff, handle, on: connection, logger: logger)
        try Handling.require(handle, in: own.role == .lead ? [.dispatched] : [.dispatched, .inProgress, .returnRequested], to: "sign")
        try await Assignments.move(own, to: .signed, from: [.dispatched], action: "sign", at: now, on: connection, logger: logger)
        try await connection.execute("""
            UPDATE assignments SET signed_at = \(now), signed_by = \(staff.id) WHERE id = \(own.id)
            """, logger: logger)
        let onTime = try await DeadlineLedger.meet(assignmentId: own.id, step: .sign, at: now, on: connection, logger: logger)
        if own.role == .lead {
            try await CaseTransitions.move(handle, from: [.dispatched], action: "sign", update: { allowed in
                "UPDATE cases SET status = 'in_progress' WHERE id = \(handle.id) AND status = ANY(\(allowed)) RETURNING id"
            }, on: connection, logger: logger)
        }
        try await Timeline.record(caseId: handle.id, kind: .signed, by: staff, at: now, details: [
            "role": .string(own.role.rawValue), "on_time": onTime.map(JSONValue.bool) ?? .null,
        ], on: connection, logger: logger)
    }
}

/// 进展 (DOMAIN §7): a handler's progress note, answering an urging; it ends no ladder.
public enum ProgressNotes {
    public struct Request: Decodable, Sendable {
        public var text: String
    }

    public static func add(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        _ = try await Handling.requireOwn(staff, handle, on: connection, logger: logger)
        let text = try Handling.reason(try input().text, field: "text")
        try Handling.require(handle, in: [.dispatched, .inProgress, .returnRequested, .replied], to: "add a note to")
        try await Timeline.record(caseId: handle.id, kind: .note, by: staff, at: now, details: ["text": .string(text)],
                                  on: connection, logger: logger)
    }
}

/// 协办意见 (DOMAIN §5 "assisting opinion"): from an assisting unit to the lead unit, never to
/// the citizen. The text is kept in `opinions`, not in the timeline, which every unit of the
/// case can read.
public enum AssistingOpinions {
    public struct Request: Decodable, Sendable {
        public var text: String
    }

    public static func give(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        let own = try await Handling.requireOwn(staff, handle, role: .assist, on: connection, logger: logger)
        var checker = FieldChecker()
        let text = checker.text(try input().text, field: "text", max: 4000, multiline: true)
        try checker.check()
        try Handling.require(handle, in: [.dispatched, .inProgress, .returnRequested], to: "give an opinion on")
        guard own.status == .signed || own.status == .done else {
            throw HotlineError(.conflict, code: "invalid_transition", "sign the assignment before giving an opinion")
        }
        let id = try await connection.row("""
            INSERT INTO opinions (case_id, assignment_id, unit_code, text, given_at, given_by)
            VALUES (\(handle.id), \(own.id), \(own.unit), \(text!), \(now), \(staff.id)) RETURNING id
            """, logger: logger)!.value("id", as: Int64.self)
        let onTime = try await DeadlineLedger.meet(assignmentId: own.id, step: .opinion, at: now, on: connection, logger: logger)
        if own.status == .signed {
            try await Assignments.move(own, to: .done, from: [.signed], action: "give an opinion", at: now, on: connection, logger: logger)
        }
        try await Timeline.record(caseId: handle.id, kind: .opinionGiven, by: staff, at: now, details: [
            "opinion_id": JSONValue(id), "on_time": onTime.map(JSONValue.bool) ?? .null,
        ], on: connection, logger: logger)
    }
}
