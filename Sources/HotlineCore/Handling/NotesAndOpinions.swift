import Foundation
import Logging
import PostgresNIO

/// 进展 (DOMAIN §7): a handler's progress note, answering an urging; it ends no ladder.
public enum ProgressNotes {
    public struct Request: Decodable, Sendable {
        public var text: String
    }

    public static func add(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.addNote, number, by: staff, at: now, on: connection, logger: logger) { step in
            step.details = ["text": .string(try Handling.reason(try input().text, field: "text"))]
        }
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
        try await StepRunner.run(.giveOpinion, number, by: staff, at: now, on: connection, logger: logger) { step in
            let own = step.own!
            var checker = FieldChecker()
            let text = checker.text(try input().text, field: "text", max: 4000, multiline: true)
            try checker.check()
            guard own.status == .signed || own.status == .done else {
                throw HotlineError(.conflict, code: .invalidTransition, "sign the assignment before giving an opinion")
            }
            let id = try await connection.row("""
                INSERT INTO opinions (case_id, assignment_id, unit_code, text, given_at, given_by)
                VALUES (\(step.handle.id), \(own.id), \(own.unit), \(text!), \(now), \(staff.id)) RETURNING id
                """, logger: logger)!.value("id", as: Int64.self)
            let onTime = try await DeadlineLedger.meet(assignmentId: own.id, step: .opinion, at: now, on: connection, logger: logger)
            if own.status == .signed {
                try await Assignments.move(own, to: .done, from: [.signed], action: "give an opinion", at: now,
                                           on: connection, logger: logger)
            }
            step.details = ["opinion_id": JSONValue(id), "on_time": onTime.map(JSONValue.bool) ?? .null]
        }
    }
}
