import Foundation
import Logging
import PostgresNIO

public enum ContactMethod: String, Vocabulary {
    case phone, visit, sms, other
}

/// 先行联系 (DOMAIN §5b): where the citizen consented to direct contact, the lead unit the center
/// dispatched to owes one first contact within the limit (24 hours, urgent 2 hours); a contact
/// recorded by any active lead below it meets it. Anonymous, report and confidential cases, and
/// cases without consent, owe none.
public enum FirstContact {
    public struct Request: Decodable, Sendable {
        /// When the citizen was reached; now if left out.
        public var at: Date?
        public var method: ContactMethod
        public var note: String?
    }

    /// Whether a case owes a first contact at all.
    static func owed(_ handle: CaseHandle) -> Bool {
        handle.contactConsent && !handle.anonymous && !handle.identityProtected
    }

    public static func record(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.recordContact, number, by: staff, at: now, on: connection, logger: logger) { step in
            let own = step.own!
            let request = try input()
            var checker = FieldChecker()
            let note = checker.text(request.note, field: "note", max: 1000, required: false, multiline: true)
            try checker.check()
            guard owed(step.handle), let top = step.chain.leads.first else {
                throw HotlineError(.unprocessable, code: .noFirstContact,
                                   "this case owes no first contact: its citizen did not consent, is anonymous, or is protected")
            }
            let at = (request.at ?? now).wholeSecond
            guard at <= now, at >= top.dispatchedAt else {
                throw HotlineError.validation(field: "at", "must lie between the dispatch and now")
            }
            guard try await connection.row("""
                INSERT INTO contacts (case_id, assignment_id, unit_code, contacted_at, method, note, recorded_by, recorded_at)
                VALUES (\(step.handle.id), \(own.id), \(own.unit), \(at), \(request.method.rawValue), \(note), \(staff.id), \(now))
                ON CONFLICT DO NOTHING RETURNING id
                """, logger: logger) != nil else {
                throw HotlineError(.conflict, code: .alreadyContacted, "the first contact of this case is recorded already")
            }
            let onTime = try await DeadlineLedger.meet(assignmentId: top.id, step: .contact, at: at, on: connection, logger: logger)
            step.unit = own.unit
            step.details = [
                "method": .string(request.method.rawValue), "contacted_at": .string(Timestamp.format(at)),
                "on_time": onTime.map(JSONValue.bool) ?? .null,
            ]
        }
    }
}
