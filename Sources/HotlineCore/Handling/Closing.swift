import Foundation
import Logging
import PostgresNIO

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
        let master = try await StepRunner.run(.transfer, number, by: staff, at: now, on: connection, logger: logger) { step in
            let request = try input()
            var checker = FieldChecker()
            let note = checker.text(request.note, field: "note", max: 500, required: false, multiline: true)
            try checker.check()
            step.change.transferService = request.service.rawValue
            step.details = ["service": .string(request.service.rawValue), "note": JSONValue(note)]
            // Pushed to that service's own system where it has a subscription (系统推送, DOMAIN §14):
            // the push carries the caller's contact, and that is a reveal like any other.
            if !step.handle.anonymous, try await connection.row(
                "SELECT 1 FROM subscriptions WHERE system = \(request.service.rawValue) AND active", logger: logger
            ) != nil {
                step.follow(.contactRevealed, [
                    "fields": .array([.string("name"), .string("phone")]), "to": .string(request.service.rawValue),
                ])
            }
            return step.handle
        }
        // A master that closes without a reply releases its duplicates.
        try await Merging.releaseDuplicates(of: master, by: staff, at: now, on: connection, logger: logger)
        logger.info("case transferred", metadata: ["case": "\(number)"])
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

    public static func withdraw(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let master = try await StepRunner.run(.withdraw, number, by: staff, at: now, on: connection, logger: logger) { step in
            var checker = FieldChecker()
            let reason = checker.text(try input().reason, field: "reason", max: 500, multiline: true)
            try checker.check()
            // The units' work on it ends with the case.
            try await Assignments.cancelAll(caseId: step.handle.id, reason: "withdrawn", at: now, on: connection, logger: logger)
            step.details = ["reason": .string(reason!), "from_status": .string(step.handle.status.rawValue)]
            return step.handle
        }
        // Its duplicates go back to the center.
        try await Merging.releaseDuplicates(of: master, by: staff, at: now, on: connection, logger: logger)
        logger.info("case withdrawn", metadata: ["case": "\(number)"])
    }
}
