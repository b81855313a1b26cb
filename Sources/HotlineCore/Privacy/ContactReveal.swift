import Foundation
import Logging
import PostgresNIO

/// The full contact of a citizen, shown on an explicit, audited request (DOMAIN §10).
public struct RevealedContact: Codable, Sendable, Equatable {
    public var name: String?
    public var phone: String?
}

public enum ContactReveal {
    /// The center sees name and phone. A handler of the lead unit sees the phone, and only where
    /// the citizen consented to be contacted by the unit; never on a report or confidential case.
    /// Every reveal is a timeline event: who, when, which case, which fields.
    public static func reveal(
        _ number: String, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> RevealedContact {
        let (handle, sight) = try await CaseAccess.open(number, for: staff, on: connection, logger: logger)
        let fields: [String]
        switch sight {
        case .center:
            guard staff.isCenter else {
                throw HotlineError.forbidden("only the hotline center or the lead unit may reveal a contact")
            }
            fields = ["name", "phone"]
        case .leadUnit:
            // A sub-center routes and reviews; it does not call the citizen (DOMAIN §2).
            guard staff.role == .handler else {
                throw HotlineError.forbidden("only the hotline center or the lead unit's handlers may reveal a contact")
            }
            if handle.identityProtected {
                throw HotlineError(.forbidden, code: .identityProtected,
                                   "the citizen of a report or confidential case is never shown to a unit")
            }
            guard handle.contactConsent else {
                throw HotlineError(.forbidden, code: .noContactConsent,
                                   "the citizen did not consent to be contacted by the unit")
            }
            fields = ["phone"]
        case .otherUnit:
            throw HotlineError(.forbidden, code: .notLeadUnit, "only the lead unit may ask for the contact")
        }
        guard !handle.anonymous, let row = try await connection.row(
            "SELECT name, phone FROM case_contacts WHERE case_id = \(handle.id)", logger: logger
        ) else {
            throw HotlineError(.unprocessable, code: .anonymousCase, "the citizen is anonymous: there is no contact")
        }
        try await Timeline.record(caseId: handle.id, kind: .contactRevealed, by: staff, at: now, details: [
            "fields": .array(fields.map { .string($0) }),
        ], on: connection, logger: logger)
        logger.info("contact revealed", metadata: ["case": "\(number)", "user": "\(staff.id)"])
        return RevealedContact(
            name: fields.contains("name") ? try row.value("name") : nil,
            phone: try row.value("phone")
        )
    }
}
