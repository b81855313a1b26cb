import Foundation
import Logging
import PostgresNIO

/// 派单 (DOMAIN §5 "dispatch"): one lead unit, any assisting units, each with deadlines.
public enum Dispatch {
    public struct Request: Decodable, Sendable {
        public var leadUnit: String?
        public var assistUnits: [String]?
        public var note: String?

        public init(leadUnit: String? = nil, assistUnits: [String]? = nil, note: String? = nil) {
            self.leadUnit = leadUnit
            self.assistUnits = assistUnits
            self.note = note
        }

        enum CodingKeys: String, CodingKey {
            case note
            case leadUnit = "lead_unit"
            case assistUnits = "assist_units"
        }
    }

    public static func dispatch(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.dispatch, number, by: staff, at: now, on: connection, logger: logger) { step in
            let request = try input()
            let note = try checkedNote(request.note)
            let team = try await team(for: step.handle, request: request, excluding: nil, on: connection, logger: logger)
            step.details = try await createRound(&step, team: team, note: note, on: connection, logger: logger)
        }
    }

    struct Team {
        let lead: String
        let assists: [String]
    }

    /// The units a dispatch goes to: those named, or what the category's routing suggests for
    /// the case's region. No lead named and no routing is a 422.
    static func team(
        for handle: CaseHandle, request: Request, excluding returned: String?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Team {
        var lead = request.leadUnit
        var assists = request.assistUnits
        if lead == nil {
            guard let suggestion = try await suggest(category: handle.category, region: handle.region,
                                                     on: connection, logger: logger),
                  suggestion.lead != returned
            else {
                throw HotlineError(.unprocessable, code: .noRouting,
                                   "name a lead_unit: the category's routing suggests none for this case")
            }
            lead = suggestion.lead
            if assists == nil { assists = suggestion.assists.filter { $0 != returned } }
        }
        let team = Team(lead: lead!, assists: assists ?? [])
        var checker = FieldChecker()
        Categories.checkTeam(lead: team.lead, assist: team.assists, field: "assist_units", into: &checker)
        try checker.check()
        if team.lead == returned {
            throw HotlineError(.unprocessable, code: .sameUnit, "the unit that returned the case cannot lead it again")
        }
        try await Units.requireUnit(team.lead, field: "lead_unit", on: connection, logger: logger, active: true)
        for unit in team.assists {
            try await Units.requireUnit(unit, field: "assist_units", on: connection, logger: logger, active: true)
        }
        return team
    }

    /// The routing suggestion the dispatcher sees (the units a dispatch without units gets).
    public static func suggestion(
        category: String, region: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> (lead: String, assists: [String])? {
        try await suggest(category: category, region: region, on: connection, logger: logger).map { ($0.lead, $0.assists) }
    }

    /// The nearest category (the case's own, then its parents) that routes: a route for the
    /// case's region (or the region's parents) first, else the category's default units.
    static func suggest(
        category: String, region: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> Team? {
        guard let row = try await connection.row("""
            WITH RECURSIVE cats (code, depth) AS (
                SELECT \(category)::text, 0
                UNION ALL
                SELECT c.parent, cats.depth + 1 FROM categories c JOIN cats ON c.code = cats.code WHERE c.parent IS NOT NULL
            ), regions (code, depth) AS (
                SELECT \(region)::text, 0 WHERE \(region)::text IS NOT NULL
                UNION ALL
                SELECT u.parent, regions.depth + 1 FROM units u JOIN regions ON u.code = regions.code WHERE u.parent IS NOT NULL
            )
            SELECT lead, assists FROM (
                SELECT r.lead_unit AS lead, r.assist_units AS assists, cats.depth AS category_depth, 0 AS kind,
                       regions.depth AS region_depth
                FROM category_routes r JOIN cats ON r.category = cats.code JOIN regions ON r.region = regions.code
                UNION ALL
                SELECT c.default_lead_unit, c.default_assist_units, cats.depth, 1, 0
                FROM categories c JOIN cats ON c.code = cats.code WHERE c.default_lead_unit IS NOT NULL
            ) candidates
            ORDER BY category_depth, kind, region_depth
            LIMIT 1
            """, logger: logger) else { return nil }
        return Team(lead: try row.value("lead"), assists: try row.value("assists"))
    }

    /// Opens a dispatch round: the assignments and their deadlines; answers what the
    /// `dispatched` event says of them. After two approved returns the round is designated (指定派单).
    static func createRound(
        _ step: inout StepContext, team: Team, note: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: JSONValue] {
        let (handle, now) = (step.handle, step.now)
        let limits = try await Handling.limits(for: handle, on: connection, logger: logger)
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        let round = handle.dispatchRound + 1
        // An approval counts the return it approves before the round opens.
        let designated = handle.approvedReturns + (step.change.approvedReturn ? 1 : 0) >= 2
        let window = designated ? nil : limits[.returnWindow]!
        let returnUntil = window.map { calendar.adding($0, to: now).at }
        let lead = try await connection.row("""
            INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at, round, designated, return_until)
            VALUES (\(handle.id), \(team.lead), 'lead', 'dispatched', \(now), \(round), \(designated), \(returnUntil))
            RETURNING id
            """, logger: logger)!.value("id", as: Int64.self)
        let sign = try await DeadlineLedger.open(caseId: handle.id, assignmentId: lead, unit: team.lead, step: .sign, start: now,
                                                 limit: limits[.sign]!, calendar: calendar, on: connection, logger: logger)
        let reply = try await DeadlineLedger.open(caseId: handle.id, assignmentId: lead, unit: team.lead, step: .reply, start: now,
                                                  limit: limits[.reply]!, calendar: calendar, on: connection, logger: logger)
        if let window {
            // The window for a return is a deadline of its own: a calendar load recomputes it.
            try await DeadlineLedger.open(caseId: handle.id, assignmentId: lead, unit: team.lead, step: .returnWindow, start: now,
                                          limit: window, calendar: calendar, on: connection, logger: logger)
        }
        var contactDue: Date?
        // One first contact per case: a lead dispatched after it was made owes none.
        if FirstContact.owed(handle),
           try await connection.row("SELECT 1 FROM contacts WHERE case_id = \(handle.id)", logger: logger) == nil {
            contactDue = try await DeadlineLedger.open(caseId: handle.id, assignmentId: lead, unit: team.lead, step: .contact, start: now,
                                                       limit: limits[.firstContact]!, calendar: calendar, on: connection, logger: logger).due.at
        }
        var opinionDue: Date?
        for unit in team.assists {
            let assist = try await connection.row("""
                INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at, round)
                VALUES (\(handle.id), \(unit), 'assist', 'dispatched', \(now), \(round))
                RETURNING id
                """, logger: logger)!.value("id", as: Int64.self)
            try await DeadlineLedger.open(caseId: handle.id, assignmentId: assist, unit: unit, step: .sign, start: now,
                                          limit: limits[.sign]!, calendar: calendar, on: connection, logger: logger)
            // An opinion is never due after the lead's reply.
            opinionDue = try await DeadlineLedger.open(caseId: handle.id, assignmentId: assist, unit: unit, step: .opinion, start: now,
                                                       limit: limits[.opinion]!, cap: reply.due.at, calendar: calendar,
                                                       on: connection, logger: logger).due.at
        }
        step.change.nextRound = true
        logger.info("case dispatched", metadata: ["case": "\(handle.number)", "lead": "\(team.lead)", "round": "\(round)"])
        return [
            "round": .number(Double(round)), "lead_unit": .string(team.lead),
            "assist_units": .array(team.assists.map { .string($0) }), "designated": .bool(designated),
            "sign_due": .string(Timestamp.format(sign.due.at)), "reply_due": .string(Timestamp.format(reply.due.at)),
            "opinion_due": JSONValue(opinionDue.map(Timestamp.format)), "contact_due": JSONValue(contactDue.map(Timestamp.format)),
            "note": JSONValue(note),
        ]
    }

    static func checkedNote(_ note: String?) throws -> String? {
        var checker = FieldChecker()
        let value = checker.text(note, field: "note", max: 1000, required: false, multiline: true)
        try checker.check()
        return value
    }
}
