import Foundation
import Logging
import PostgresNIO

/// A deadline that is close or past: its card (DOMAIN §7).
public struct Warning: Codable, Sendable, Equatable {
    public var number: String
    public var subject: String
    public var urgency: Urgency
    /// Null for the center's own review of a reply (DOMAIN §5b), which only the center lists.
    public var unit: String?
    public var step: DeadlineStep
    public var dueAt: Date
    public var card: Card
    public var urgings: Int

    enum CodingKeys: String, CodingKey {
        case number, subject, urgency, unit, step, card, urgings
        case dueAt = "due_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(number, forKey: .number)
        try c.encode(subject, forKey: .subject)
        try c.encode(urgency, forKey: .urgency)
        try c.encode(unit, forKey: .unit)  // null, not absent
        try c.encode(step, forKey: .step)
        try c.encode(dueAt, forKey: .dueAt)
        try c.encode(card, forKey: .card)
        try c.encode(urgings, forKey: .urgings)
    }
}

/// A line of the leadership's escalation list.
public struct Escalation: Codable, Sendable, Equatable {
    public var number: String
    public var subject: String
    public var unit: String
    public var unitName: String
    public var step: DeadlineStep
    public var dueAt: Date
    public var escalatedAt: Date
    public var manual: Bool
    public var reason: String?
    public var urgings: Int
    /// Working days past the deadline, to now or to when the late step was done.
    public var workingDaysOverdue: Int
    /// Whether the late step has been done since.
    public var stepDone: Bool

    enum CodingKeys: String, CodingKey {
        case number, subject, unit, step, manual, reason, urgings
        case unitName = "unit_name"
        case dueAt = "due_at"
        case escalatedAt = "escalated_at"
        case workingDaysOverdue = "working_days_overdue"
        case stepDone = "step_done"
    }
}

/// The supervisor's accountability list (监察问责): escalations in a period, and the units with
/// repeated ones, for interviews (约谈) and referral.
public struct Accountability: Codable, Sendable, Equatable {
    public struct RepeatedUnit: Codable, Sendable, Equatable {
        public var unit: String
        public var name: String
        public var escalations: Int
    }

    public var period: String
    public var escalations: [Escalation]
    /// The next page of `escalations`; `units` always counts the whole period.
    public var nextCursor: String?
    public var units: [RepeatedUnit]

    enum CodingKeys: String, CodingKey {
        case period, escalations, units
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(period, forKey: .period)
        try c.encode(escalations, forKey: .escalations)
        try c.encode(nextCursor, forKey: .nextCursor)
        try c.encode(units, forKey: .units)
    }
}

/// Cards, urgings by hand, escalations by hand, and the lists of supervision.
public enum Supervision {
    /// The cards of what is close or late: everything for the center, a unit's own (and those of
    /// the units below it, for a case it passed down) for a unit's handler or sub-center.
    public static func warnings(
        for staff: Staff, limit: Int, cursor: String?, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<Warning> {
        let unit: String?
        switch staff.role {
        case .operator, .dispatcher, .manager, .supervisor: unit = staff.readingUnit
        case .handler: unit = staff.unit
        case .admin, .exchange: throw HotlineError.forbidden("supervision is the center's, the leadership's and the units' business")
        }
        guard (1...500).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 500") }
        let offset = try cursor.map { Int(try Cursor.decode($0)) - 1 } ?? 0
        let rows = try await connection.rows("""
            SELECT c.id, c.number, c.subject, c.case_type, c.confidential, c.urgency, d.unit_code, d.step, d.due_at,
                   coalesce((SELECT role = 'lead' FROM assignments WHERE id = d.assignment_id), false) AS unit_leads,
                   (SELECT count(*) FROM urgings u WHERE u.deadline_id = d.id) AS urgings
            FROM deadlines d JOIN cases c ON c.id = d.case_id
            WHERE d.met_at IS NULL AND d.closed_at IS NULL AND d.step IN ('sign', 'reply', 'opinion', 'review', 'contact') AND d.warn_at <= \(now)
              -- The center's review of a reply has no unit: the center's own card.
              AND (d.unit_code IS NOT NULL OR \(unit)::text IS NULL)
              AND (\(unit)::text IS NULL OR d.unit_code = \(unit) OR EXISTS (
                    -- A unit sees the cards of the units it passed the case down to, at any depth (§5a).
                    WITH RECURSIVE up (id, parent) AS (
                        SELECT a.id, a.parent_id FROM assignments a WHERE a.id = d.assignment_id
                        UNION ALL
                        SELECT p.id, p.parent_id FROM assignments p JOIN up ON p.id = up.parent
                    )
                    SELECT FROM up JOIN assignments q ON q.id = up.id
                    WHERE q.id <> d.assignment_id AND q.unit_code = \(unit) AND q.role = 'lead'))
            ORDER BY d.due_at, d.id
            OFFSET \(offset) LIMIT \(limit + 1)
            """, logger: logger)
        let page = Array(rows.prefix(limit))
        let texts = try await CaseText.page(try page.map(CaseText.protection), for: staff, on: connection, logger: logger)
        let items = try page.map { row -> Warning in
            let due: Date = try row.value("due_at")
            return Warning(
                number: try row.value("number"), subject: texts[try row.value("id", as: Int64.self)]!(try row.value("subject", as: String.self)),
                urgency: Urgency(rawValue: try row.value("urgency"))!, unit: try row.value("unit_code"),
                step: DeadlineStep(rawValue: try row.value("step"))!, dueAt: due, card: now > due ? .red : .yellow,
                urgings: try row.value("urgings")
            )
        }
        return Page(items: items, nextCursor: rows.count > limit ? Cursor.encode(Int64(offset + limit + 1)) : nil)
    }

    public struct Note: Decodable, Sendable {
        public var assignment: Int64
        public var step: DeadlineStep
        public var note: String?
    }

    public struct Reason: Decodable, Sendable {
        public var assignment: Int64
        public var step: DeadlineStep
        public var reason: String
    }

    /// A dispatcher's own urging of the step it names. It does not move the ladder: only doing
    /// the step ends that.
    public static func urge(
        _ number: String, _ input: @autoclosure () throws -> Note, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.urge, number, by: staff, at: now, on: connection, logger: logger) { step in
            let request = try input()
            var checker = FieldChecker()
            let note = checker.text(request.note, field: "note", max: 1000, required: false, multiline: true)
            try checker.check()
            try requireBelow(request.assignment, step)
            let target = try await owed(request.assignment, request.step, of: step.handle, on: connection, logger: logger)
            try await connection.execute("""
                INSERT INTO urgings (case_id, deadline_id, unit_code, ladder_round, urged_at, urged_by, note)
                VALUES (\(step.handle.id), \(target.id), \(target.unit), \(target.round), \(now), \(staff.id), \(note))
                """, logger: logger)
            step.unit = target.unit
            step.details = ["step": .string(target.step), "due": .string(Timestamp.format(target.due)), "note": JSONValue(note)]
        }
    }

    /// A dispatcher's own escalation of the step it names, which must already be late; once per
    /// deadline (and ladder round), whether by hand or by the sweep.
    public static func escalate(
        _ number: String, _ input: @autoclosure () throws -> Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.escalate, number, by: staff, at: now, on: connection, logger: logger) { step in
            let request = try input()
            let reason = try Handling.reason(request.reason)
            try requireBelow(request.assignment, step)
            let target = try await owed(request.assignment, request.step, of: step.handle, on: connection, logger: logger)
            guard now > target.due else {
                throw HotlineError(.unprocessable, code: .stepNotLate,
                                   "only a step already late is escalated by hand; urge it instead")
            }
            guard try await connection.row("""
                INSERT INTO escalations (case_id, deadline_id, unit_code, ladder_round, escalated_at, escalated_by, reason)
                VALUES (\(step.handle.id), \(target.id), \(target.unit), \(target.round), \(now), \(staff.id), \(reason))
                ON CONFLICT (deadline_id, ladder_round) DO NOTHING RETURNING id
                """, logger: logger) != nil else {
                throw HotlineError(.conflict, code: .alreadyEscalated, "this step of the case is already escalated")
            }
            step.unit = target.unit
            step.details = ["step": .string(target.step), "due": .string(Timestamp.format(target.due)), "reason": .string(reason)]
        }
    }

    /// A sub-center urges and escalates the units below its own, never its own unit nor those
    /// above it (the center does that).
    static func requireBelow(_ assignment: Int64, _ step: StepContext) throws {
        guard step.actor == .unitDispatcher, let own = step.own else { return }
        guard let target = step.chain.assignments.first(where: { $0.id == assignment }), step.chain.isBelow(target, own) else {
            throw HotlineError.forbidden("a sub-center urges and escalates only the units below \(own.unit)")
        }
    }

    struct Target {
        let id: Int64
        let unit: String
        let step: String
        let due: Date
        let round: Int16
    }

    /// The open deadline of the named assignment and step: what the unit still owes. A unit
    /// whose return request waits for review is not urged meanwhile (DOMAIN §5).
    static func owed(
        _ assignment: Int64, _ step: DeadlineStep, of handle: CaseHandle, on connection: PostgresConnection, logger: Logger
    ) async throws -> Target {
        guard step.isOwed else {
            throw HotlineError.validation(field: "step", "must be a step a unit owes: sign, reply, opinion, review or contact")
        }
        guard let row = try await connection.row("""
            SELECT d.id, d.unit_code, d.step, d.due_at, d.ladder_round,
                   EXISTS (SELECT FROM return_requests r WHERE r.assignment_id = d.assignment_id AND r.status = 'pending') AS paused
            FROM deadlines d
            WHERE d.case_id = \(handle.id) AND d.assignment_id = \(assignment) AND d.step = \(step.rawValue)
              AND d.met_at IS NULL AND d.closed_at IS NULL
            """, logger: logger) else {
            throw HotlineError(.conflict, code: .nothingOwed, "that assignment of the case owes no such step at the moment")
        }
        if try row.value("paused", as: Bool.self) {
            throw HotlineError(.conflict, code: .returnPending,
                               "the unit's return request waits for review: its steps are not urged meanwhile")
        }
        return Target(id: try row.value("id"), unit: try row.value("unit_code"), step: try row.value("step"),
                      due: try row.value("due_at"), round: try row.value("ladder_round"))
    }

    /// The leadership's escalation list, newest first, a page at a time.
    public static func escalations(
        for staff: Staff, from: Date? = nil, to: Date? = nil, openOnly: Bool = false, countingOnly: Bool = false,
        limit: Int = 50, cursor: String? = nil, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<Escalation> {
        try staff.require(.operator, .dispatcher, .manager, .supervisor)
        guard (1...500).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 500") }
        let offset = try cursor.map { Int(try Cursor.decode($0)) - 1 } ?? 0
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        let rows = try await connection.rows("""
            SELECT c.id, c.number, c.subject, c.case_type, c.confidential, e.unit_code, u.name AS unit_name, d.step, d.due_at,
                   d.met_at, e.escalated_at, e.escalated_by IS NOT NULL AS manual, e.reason,
                   (SELECT count(*) FROM urgings g WHERE g.deadline_id = d.id) AS urgings
            FROM \(unescaped: openOnly ? Self.openEscalations : "escalations e")
            JOIN deadlines d ON d.id = e.deadline_id
            JOIN cases c ON c.id = e.case_id
            JOIN units u ON u.code = e.unit_code
            WHERE (\(from)::timestamptz IS NULL OR e.escalated_at >= \(from))
              AND (\(to)::timestamptz IS NULL OR e.escalated_at < \(to))
              AND (NOT \(openOnly) OR (d.met_at IS NULL AND d.closed_at IS NULL))
              AND (NOT \(countingOnly) OR \(unescaped: Self.counts("e")))
            ORDER BY e.escalated_at DESC, e.id DESC
            OFFSET \(offset) LIMIT \(limit + 1)
            """, logger: logger)
        let page = Array(rows.prefix(limit))
        let texts = try await CaseText.page(try page.map(CaseText.protection), for: staff, on: connection, logger: logger)
        let items = try page.map { row in
            let due: Date = try row.value("due_at")
            let met: Date? = try row.value("met_at")
            let text = texts[try row.value("id", as: Int64.self)]!
            return Escalation(
                number: try row.value("number"), subject: text(try row.value("subject", as: String.self)), unit: try row.value("unit_code"),
                unitName: try row.value("unit_name"), step: DeadlineStep(rawValue: try row.value("step"))!, dueAt: due,
                escalatedAt: try row.value("escalated_at"), manual: try row.value("manual"),
                reason: text(try row.value("reason", as: String?.self)),
                urgings: try row.value("urgings"), workingDaysOverdue: calendar.workingDays(after: due, through: met ?? now),
                stepDone: met != nil
            )
        }
        return Page(items: items, nextCursor: rows.count > limit ? Cursor.encode(Int64(offset + limit + 1)) : nil)
    }

    /// The escalations whose step is still owed, found from the open deadlines (a city's current
    /// backlog) rather than by probing every escalation ever made for its deadline.
    static let openEscalations = """
        (SELECT o.id FROM deadlines o WHERE o.met_at IS NULL AND o.closed_at IS NULL OFFSET 0) o
        JOIN escalations e ON e.deadline_id = o.id
        """

    /// An escalation counts against its unit unless its dispatch round was returned with
    /// approval (nothing of it counts then).
    static func counts(_ alias: String) -> String {
        "EXISTS (SELECT FROM deadlines xd WHERE xd.id = \(alias).deadline_id AND "
            + AppraisalRecord.notOfAReturnedRound("xd.assignment_id") + ")"
    }

    /// The period's escalations a page at a time, and every unit escalated twice or more in it.
    public static func accountability(
        for staff: Staff, period: Period, limit: Int = 50, cursor: String? = nil, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Accountability {
        try staff.require(.manager, .supervisor)
        let escalations = try await escalations(for: staff, from: period.start, to: period.end, countingOnly: true,
                                                limit: limit, cursor: cursor, at: now, on: connection, logger: logger)
        let repeated = try await connection.rows("""
            SELECT e.unit_code, u.name, count(*) AS n
            FROM escalations e JOIN units u ON u.code = e.unit_code
            WHERE e.escalated_at >= \(period.start) AND e.escalated_at < \(period.end) AND \(unescaped: Self.counts("e"))
            GROUP BY e.unit_code, u.name HAVING count(*) >= 2
            ORDER BY count(*) DESC, e.unit_code
            """, logger: logger).map { row in
            Accountability.RepeatedUnit(unit: try row.value("unit_code"), name: try row.value("name"), escalations: try row.value("n"))
        }
        return Accountability(period: period.description, escalations: escalations.items, nextCursor: escalations.nextCursor,
                              units: repeated)
    }
}

