import Foundation
import Logging
import PostgresNIO

/// A closed case shown to the public (舆论监督): a summary a dispatcher wrote, no personal data.
public struct Disclosure: Codable, Sendable, Equatable {
    public var number: String
    public var category: String
    public var region: String?
    public var leadUnit: String?
    public var summary: String
    public var outcome: ReplyOutcome?
    public var acceptedAt: Date
    public var closedAt: Date?
    public var disclosedAt: Date

    enum CodingKeys: String, CodingKey {
        case number, category, region, summary, outcome
        case leadUnit = "lead_unit"
        case acceptedAt = "accepted_at"
        case closedAt = "closed_at"
        case disclosedAt = "disclosed_at"
    }
}

/// What a citizen sees of their own case: its progress, the unit handling it and its reply.
/// Nothing personal, not even their own name: the page is behind four digits only.
public struct PublicProgress: Codable, Sendable, Equatable {
    public struct Reply: Codable, Sendable, Equatable {
        public var unit: String
        public var outcome: ReplyOutcome
        public var text: String
        public var repliedAt: Date

        enum CodingKeys: String, CodingKey {
            case unit, outcome, text
            case repliedAt = "replied_at"
        }
    }

    public var number: String
    public var status: CaseStatus
    public var closure: Closure?
    public var category: String
    public var acceptedAt: Date
    public var leadUnit: String?
    public var replyDue: Date?
    public var reply: Reply?
    public var closedAt: Date?

    enum CodingKeys: String, CodingKey {
        case number, status, closure, category, reply
        case acceptedAt = "accepted_at"
        case leadUnit = "lead_unit"
        case replyDue = "reply_due"
        case closedAt = "closed_at"
    }
}

/// The public side of the hotline (DOMAIN §12): disclosed cases and a citizen's own progress.
public enum PublicRecord {
    public struct DisclosureRequest: Decodable, Sendable {
        public var summary: String
    }

    public static func disclose(
        _ number: String, _ input: @autoclosure () throws -> DisclosureRequest, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.disclose, number, by: staff, at: now, on: connection, logger: logger) { step in
            var checker = FieldChecker()
            let summary = checker.text(try input().summary, field: "summary", max: 2000, multiline: true)
            try checker.check()
            guard try await connection.row("""
                INSERT INTO disclosures (case_id, summary, disclosed_at, disclosed_by)
                VALUES (\(step.handle.id), \(summary!), \(now), \(staff.id))
                ON CONFLICT (case_id) DO NOTHING RETURNING case_id
                """, logger: logger) != nil else {
                throw HotlineError(.conflict, code: .alreadyDisclosed, "this case is already disclosed")
            }
        }
    }

    public static func disclosures(
        limit: Int, cursor: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<Disclosure> {
        guard (1...100).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 100") }
        let offset = try cursor.map { Int(try Cursor.decode($0)) - 1 } ?? 0
        let rows = try await connection.rows("""
            SELECT c.number, k.name AS category, r.name AS region, l.name AS lead_unit, d.summary, p.outcome,
                   c.accepted_at, c.closed_at, d.disclosed_at, contact.name AS citizen_name, contact.phone AS citizen_phone,
                   master.name AS master_name, master.phone AS master_phone
            FROM disclosures d
            JOIN cases c ON c.id = d.case_id
            LEFT JOIN case_contacts contact ON contact.case_id = c.id
            LEFT JOIN case_contacts master ON master.case_id = c.merged_into
            JOIN categories k ON k.code = c.category
            LEFT JOIN units r ON r.code = c.region
            LEFT JOIN replies p ON p.id = c.reply_id
            LEFT JOIN units l ON l.code = p.unit_code
            ORDER BY d.disclosed_at DESC, d.case_id DESC
            OFFSET \(offset) LIMIT \(limit + 1)
            """, logger: logger)
        let items = try rows.prefix(limit).map { row in
            Disclosure(
                number: try row.value("number"), category: try row.value("category"), region: try row.value("region"),
                leadUnit: try row.value("lead_unit"),
                summary: FreeText.shown(try row.value("summary", as: String.self), to: .removed, identities: [
                    CitizenIdentity(name: try row.value("citizen_name"), phone: try row.value("citizen_phone")),
                    CitizenIdentity(name: try row.value("master_name"), phone: try row.value("master_phone")),
                ]),
                outcome: (try row.value("outcome", as: String?.self)).flatMap(ReplyOutcome.init(rawValue:)),
                acceptedAt: try row.value("accepted_at"), closedAt: try row.value("closed_at"),
                disclosedAt: try row.value("disclosed_at")
            )
        }
        return Page(items: items, nextCursor: rows.count > limit ? Cursor.encode(Int64(offset + limit + 1)) : nil)
    }

    /// A citizen's own case, by its number and the last four digits of the phone they gave,
    /// limited across all instances: so many lookups per address block and minute (429 past
    /// that), and a number looked up wrongly too often answers "no such case" for a while
    /// whatever is asked. A wrong pair, an unknown number and a locked one get the same answer,
    /// so the lookup cannot be used to learn which numbers exist, nor to walk four digits.
    public static func lookup(
        _ number: String, phoneLastFour: String?, client: String, limits: PublicLimits, at now: Date,
        database: Database, logger: Logger
    ) async throws -> PublicProgress {
        enum Outcome: Sendable { case found(PublicProgress), unknown, limited }
        let wellFormed = number.utf8.count == 14 && number.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        let outcome = try await database.transaction(logger: logger) { connection -> Outcome in
            guard try await RateLimits.allow("lookup:" + RateLimits.block(of: client), limit: limits.lookupsPerMinute,
                                             at: now, on: connection, logger: logger) else { return .limited }
            guard wellFormed else { return .unknown }
            let locked = try await connection.row(
                "SELECT 1 FROM lookup_locks WHERE number = \(number) AND locked_until > \(now)", logger: logger
            ) != nil
            if !locked, let found = try await progress(number, phoneLastFour: phoneLastFour, on: connection, logger: logger) {
                return .found(found)
            }
            if !locked {
                let since = now.addingTimeInterval(-Double(limits.lockDuration.components.seconds))
                let lockedUntil = now.addingTimeInterval(Double(limits.lockDuration.components.seconds))
                try await connection.execute("""
                    INSERT INTO lookup_locks (number, failures, first_failure_at) VALUES (\(number), 1, \(now))
                    ON CONFLICT (number) DO UPDATE SET
                        failures = CASE WHEN lookup_locks.first_failure_at < \(since) THEN 1 ELSE lookup_locks.failures + 1 END,
                        first_failure_at = CASE WHEN lookup_locks.first_failure_at < \(since) THEN EXCLUDED.first_failure_at
                                                ELSE lookup_locks.first_failure_at END
                    """, logger: logger)
                try await connection.execute("""
                    UPDATE lookup_locks SET locked_until = \(lockedUntil), first_failure_at = \(now)
                    WHERE number = \(number) AND failures >= \(limits.failuresBeforeLock)
                    """, logger: logger)
            }
            return .unknown
        }
        switch outcome {
        case .found(let progress): return progress
        case .unknown: throw HotlineError(.notFound, code: .notFound, "no case matches this number and phone")
        case .limited: throw HotlineError(.tooManyRequests, code: .rateLimited, "too many lookups from this address; wait a minute")
        }
    }

    /// The progress of the case with this number and phone digits, if there is one.
    static func progress(
        _ number: String, phoneLastFour: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> PublicProgress? {
        guard let digits = phoneLastFour, digits.utf8.count == 4, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        guard let row = try await connection.row("""
            SELECT c.number, c.status, c.closure, k.name AS category, c.accepted_at, c.closed_at,
                   lead.name AS lead_unit,
                   (SELECT d.due_at FROM deadlines d JOIN assignments a ON a.id = d.assignment_id
                     WHERE a.case_id = coalesce(c.merged_into, c.id) AND a.role = 'lead' AND a.parent_id IS NULL AND d.step = 'reply'
                     ORDER BY d.id DESC LIMIT 1) AS reply_due,
                   ru.name AS reply_unit, p.outcome, p.text, p.replied_at,
                   contact.name AS citizen_name, contact.phone AS citizen_phone,
                   master.name AS master_name, master.phone AS master_phone
            FROM cases c
            JOIN case_contacts contact ON contact.case_id = c.id
            LEFT JOIN case_contacts master ON master.case_id = c.merged_into
            JOIN categories k ON k.code = c.category
            LEFT JOIN LATERAL (
                SELECT u.name FROM assignments a JOIN units u ON u.code = a.unit_code
                WHERE a.case_id = coalesce(c.merged_into, c.id) AND a.role = 'lead' AND a.status IN ('dispatched', 'signed', 'replied')
                  AND a.parent_id IS NULL
                ORDER BY a.id DESC LIMIT 1
            ) lead ON true
            LEFT JOIN replies p ON p.id = c.reply_id
            LEFT JOIN units ru ON ru.code = p.unit_code
            WHERE c.number = \(number) AND right(contact.phone, 4) = \(digits)
            """, logger: logger) else { return nil }
        // The page is public behind four digits: whoever is named in the reply is not shown.
        let identities = [CitizenIdentity(name: try row.value("citizen_name"), phone: try row.value("citizen_phone")),
                          CitizenIdentity(name: try row.value("master_name"), phone: try row.value("master_phone"))]
        let replyText = FreeText.shown(try row.value("text", as: String?.self), to: .removed, identities: identities)
        return PublicProgress(
            number: try row.value("number"),
            // A reply still going up for review is not the citizen's yet: the case is in progress.
            status: CaseStatus(rawValue: try row.value("status")).map { $0 == .replyReview ? .inProgress : $0 }!,
            closure: (try row.value("closure", as: String?.self)).flatMap(Closure.init(rawValue:)),
            category: try row.value("category"),
            acceptedAt: try row.value("accepted_at"),
            leadUnit: try row.value("lead_unit"),
            replyDue: try row.value("reply_due"),
            reply: try replyText.map { text in
                PublicProgress.Reply(unit: try row.value("reply_unit"), outcome: ReplyOutcome(rawValue: try row.value("outcome"))!,
                                     text: text, repliedAt: try row.value("replied_at"))
            },
            closedAt: try row.value("closed_at")
        )
    }
}
