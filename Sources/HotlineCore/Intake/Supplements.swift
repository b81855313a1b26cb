import Foundation
import Logging
import PostgresNIO

/// 催单, 补充诉求 (DOMAIN §15): the citizen calls again about an open case, and the operator adds
/// what they said to it instead of filing a new case. The units of the case read it masked, as
/// all free text (DOMAIN §10); the center's figures count it as a repeat call.
public enum Supplements {
    public struct Request: Decodable, Sendable {
        public var text: String
    }

    @discardableResult
    public static func add(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Int64 {
        // A merged duplicate's work is its master's: say which, so the operator adds it there.
        if staff.role == .operator, let handle = try await CaseAccess.find(number, on: connection, logger: logger),
           handle.status == .merged, let master = handle.mergedInto {
            let masterNumber = try await CaseAccess.find(id: master, on: connection, logger: logger).number
            throw HotlineError(.conflict, code: .invalidTransition,
                               "case \(number) is merged into \(masterNumber): add the supplement to that case", resource: masterNumber)
        }
        return try await StepRunner.run(.supplement, number, by: staff, at: now, on: connection, logger: logger) { step in
            var checker = FieldChecker()
            let text = checker.text(try input().text, field: "text", max: 4000, multiline: true)
            try checker.check()
            let id = try await connection.row("""
                INSERT INTO supplements (case_id, text, recorded_at, recorded_by)
                VALUES (\(step.handle.id), \(text!), \(now), \(staff.id)) RETURNING id
                """, logger: logger)!.value("id", as: Int64.self)
            step.details = ["supplement_id": JSONValue(id)]
            return id
        }
    }
}
