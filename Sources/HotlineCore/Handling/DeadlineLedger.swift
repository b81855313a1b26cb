import Foundation
import Logging
import PostgresNIO

/// The steps with a deadline in the ledger.
public enum DeadlineStep: String, Vocabulary {
    case sign, reply, opinion
    /// The window in which the lead may ask to return the case.
    case returnWindow = "return"
    case visit
    /// A level's review of the reply below it (DOMAIN §5b), and the first contact with the citizen.
    case review, contact

    /// The steps a unit owes: they have cards and an urging ladder. A return window is a right,
    /// not a duty; a visit is the center's own, and so is the center's review (no ladder).
    var isOwed: Bool { self == .sign || self == .reply || self == .opinion || self == .review || self == .contact }
}

/// Card colours (DOMAIN §7): yellow from one working day before a deadline (75 % of an
/// hour-based limit), red once it has passed.
public enum Card: String, Vocabulary, Comparable {
    case none, yellow, red

    public static func < (lhs: Card, rhs: Card) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A deadline as the API shows it.
public struct DeadlineView: Codable, Sendable, Equatable {
    public var step: DeadlineStep
    public var dueAt: Date
    public var provisional: Bool
    public var metAt: Date?
    public var card: Card

    enum CodingKeys: String, CodingKey {
        case step, provisional, card
        case dueAt = "due_at"
        case metAt = "met_at"
    }
}

extension WorkingCalendar {
    /// When a deadline turns yellow: the end of the working day before the one it falls on (so
    /// yellow for the last working day), or at 75 % of a limit in hours or minutes.
    public func warning(for limit: Limit, start: Date, due: Date) -> Date {
        switch limit.unit {
        case .workingDays:
            var day = LocalDate(due).adding(days: -1)
            while !isWorkingDay(day) { day = day.adding(days: -1) }
            return max(start, min(due, day.endOfDayInstant))
        case .hours, .minutes:
            return start.addingTimeInterval(due.timeIntervalSince(start) * 0.75)
        }
    }
}

/// Every time limit a unit or the center must meet (DOMAIN §6), kept as rows: opened when the
/// step begins, met when it is done, closed when it becomes moot.
enum DeadlineLedger {
    struct Opened: Sendable {
        let id: Int64
        let due: Deadline
    }

    @discardableResult
    static func open(
        caseId: Int64, assignmentId: Int64?, unit: String?, step: DeadlineStep, start: Date, limit: Limit,
        cap: Date? = nil, calendar: WorkingCalendar, on connection: PostgresConnection, logger: Logger
    ) async throws -> Opened {
        var due = calendar.adding(limit, to: start)
        // A case from another system is done by the source's own deadline (DOMAIN §14).
        let sourceCap = try await CaseSources.deadline(ofCase: caseId, on: connection, logger: logger)
        if let cap = [cap, sourceCap].compactMap({ $0 }).min(), cap < due.at { due = Deadline(at: cap, provisional: due.provisional) }
        // A cap already past (a parent whose own deadline is as good as gone) makes the step due at once.
        if due.at < start { due = Deadline(at: start, provisional: due.provisional) }
        let warn = calendar.warning(for: limit, start: start, due: due.at)
        // Nobody urges the center: its own review has a card, not a ladder.
        let ladder = assignmentId == nil ? nil : UrgingLadder.start(of: step, due: due.at)
        let row = try await connection.row("""
            INSERT INTO deadlines (case_id, assignment_id, unit_code, step, started_at, limit_amount, limit_unit,
                                   warn_at, due_at, provisional, ladder_next_at)
            VALUES (\(caseId), \(assignmentId), \(unit), \(step.rawValue), \(start), \(limit.amount), \(limit.unit.rawValue),
                    \(warn), \(due.at), \(due.provisional), \(ladder))
            RETURNING id
            """, logger: logger)!
        return Opened(id: try row.value("id"), due: due)
    }

    /// A deadline moves (an approved extension, a calendar load): its card and its urging ladder
    /// are computed again from the new due time, in a new ladder round, so that the urgings of
    /// the old round stay where they were written and the new round's happen once each.
    static func move(
        _ id: Int64, to due: Deadline, extendingBy days: Int = 0, calendar: WorkingCalendar,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let row = try await connection.row("""
            SELECT d.step, d.started_at, d.limit_amount, d.limit_unit, d.assignment_id IS NULL AS centers, s.deadline AS source_deadline
            FROM deadlines d LEFT JOIN case_sources s ON s.case_id = d.case_id WHERE d.id = \(id)
            """, logger: logger)!
        var due = due
        // An extension, a calendar load: never past the source's own deadline (DOMAIN §14).
        if let cap = try row.value("source_deadline", as: Date?.self), cap < due.at {
            due = Deadline(at: max(cap, try row.value("started_at", as: Date.self)), provisional: due.provisional)
        }
        let step = DeadlineStep(rawValue: try row.value("step"))!
        let limit = Limit(amount: Int(try row.value("limit_amount", as: Int32.self)),
                          unit: LimitUnit(rawValue: try row.value("limit_unit"))!)
        let warn = calendar.warning(for: limit, start: try row.value("started_at"), due: due.at)
        let ladder = try row.value("centers", as: Bool.self) ? nil : UrgingLadder.start(of: step, due: due.at)
        try await connection.execute("""
            UPDATE deadlines SET due_at = \(due.at), warn_at = \(warn), provisional = \(due.provisional),
                   extended_days = extended_days + \(days),
                   ladder_round = ladder_round + CASE WHEN ladder_level > 0
                       OR EXISTS (SELECT FROM urgings u WHERE u.deadline_id = deadlines.id AND u.ladder_round = deadlines.ladder_round)
                       OR EXISTS (SELECT FROM escalations e WHERE e.deadline_id = deadlines.id AND e.ladder_round = deadlines.ladder_round)
                       THEN 1 ELSE 0 END,
                   ladder_level = 0, ladder_next_at = \(ladder)
            WHERE id = \(id)
            """, logger: logger)
        if step == .returnWindow {
            try await connection.execute("""
                UPDATE assignments SET return_until = \(due.at) WHERE id = (SELECT assignment_id FROM deadlines WHERE id = \(id))
                """, logger: logger)
        }
    }

    /// Marks the open deadline of a step as met; returns whether it was met on time.
    @discardableResult
    static func meet(
        assignmentId: Int64, step: DeadlineStep, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool? {
        guard let row = try await connection.row("""
            UPDATE deadlines SET met_at = \(now)
            WHERE assignment_id = \(assignmentId) AND step = \(step.rawValue) AND met_at IS NULL AND closed_at IS NULL
            RETURNING due_at
            """, logger: logger) else { return nil }
        return now <= (try row.value("due_at", as: Date.self))
    }

    static func meetVisit(caseId: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("""
            UPDATE deadlines SET met_at = \(now)
            WHERE case_id = \(caseId) AND step = 'visit' AND met_at IS NULL AND closed_at IS NULL
            """, logger: logger)
    }

    /// The center's review of a case's reply is done; returns whether on time.
    @discardableResult
    static func meetCenterReview(caseId: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool? {
        guard let row = try await connection.row("""
            UPDATE deadlines SET met_at = \(now)
            WHERE case_id = \(caseId) AND step = 'review' AND assignment_id IS NULL AND met_at IS NULL AND closed_at IS NULL
            RETURNING due_at
            """, logger: logger) else { return nil }
        return now <= (try row.value("due_at", as: Date.self))
    }

    /// Ends the open deadlines of an assignment (or of a whole case) without meeting them.
    static func close(
        assignmentId: Int64? = nil, caseId: Int64? = nil, steps: [DeadlineStep]? = nil, reason: String,
        at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let stepNames = steps?.map(\.rawValue)
        try await connection.execute("""
            UPDATE deadlines SET closed_at = \(now), closed_reason = \(reason)
            WHERE met_at IS NULL AND closed_at IS NULL
              AND (\(assignmentId)::bigint IS NULL OR assignment_id = \(assignmentId))
              AND (\(caseId)::bigint IS NULL OR case_id = \(caseId))
              AND (\(stepNames)::text[] IS NULL OR step = ANY(\(stepNames)))
            """, logger: logger)
    }

    static func card(warnAt: Date, dueAt: Date, pending: Bool, now: Date) -> Card {
        guard pending else { return .none }
        if now > dueAt { return .red }
        if now >= warnAt { return .yellow }
        return .none
    }
}

extension DeadlineLedger {
    /// After a calendar year is loaded: every open deadline counted in working days is computed
    /// again on the new calendar, and each one that moves is recorded in its case's timeline.
    /// Returns how many moved.
    static func recompute(
        calendar: WorkingCalendar, by staff: Staff?, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int {
        // A late step's next urging falls on working days too, whatever its limit's unit.
        for row in try await connection.rows("""
            SELECT id, due_at, ladder_level, ladder_next_at FROM deadlines
            WHERE met_at IS NULL AND closed_at IS NULL AND ladder_level BETWEEN 1 AND 3
            """, logger: logger) {
            let level = Int(try row.value("ladder_level", as: Int16.self))
            let next = UrgingLadder.threshold(level: level + 1, due: try row.value("due_at"), calendar: calendar)
            if next != (try row.value("ladder_next_at", as: Date?.self)) {
                try await connection.execute(
                    "UPDATE deadlines SET ladder_next_at = \(next) WHERE id = \(try row.value("id", as: Int64.self))", logger: logger
                )
            }
        }
        // Caps are computed again too: an assisting unit's opinion never falls after its round's
        // lead reply, and a passed-down unit's deadlines stay one working day (urgent: two hours)
        // before its parent's reply deadline (DOMAIN §5a). Parents come before their children
        // (their assignments are older) and reply deadlines before the rest, so each cap is read
        // as it now stands.
        var replyDue: [Int64: Date] = [:]  // by assignment: each open reply deadline
        for row in try await connection.rows("""
            SELECT assignment_id, due_at FROM deadlines
            WHERE met_at IS NULL AND closed_at IS NULL AND step = 'reply' AND assignment_id IS NOT NULL
            """, logger: logger) {
            replyDue[try row.value("assignment_id")] = try row.value("due_at")
        }
        let rows = try await connection.rows("""
            SELECT d.id, d.case_id, d.assignment_id, d.unit_code, d.step, d.started_at, d.limit_amount, d.extended_days, d.due_at,
                   d.provisional, a.parent_id, c.urgency = 'urgent' AS urgent,
                   (SELECT s.deadline FROM case_sources s WHERE s.case_id = d.case_id) AS source_deadline,
                   (SELECT l.id FROM assignments l
                    WHERE l.case_id = a.case_id AND l.round = a.round AND l.role = 'lead' AND a.role = 'assist'
                    ORDER BY l.id LIMIT 1) AS round_lead
            FROM deadlines d JOIN cases c ON c.id = d.case_id LEFT JOIN assignments a ON a.id = d.assignment_id
            WHERE d.met_at IS NULL AND d.closed_at IS NULL AND d.limit_unit = 'working_days'
            ORDER BY (d.step = 'opinion'), coalesce(d.assignment_id, 0), (d.step <> 'reply'), d.id
            """, logger: logger)
        var moved = 0
        for row in rows {
            let caseId: Int64 = try row.value("case_id")
            let step = DeadlineStep(rawValue: try row.value("step"))!
            let start: Date = try row.value("started_at")
            let limit = Limit(amount: Int(try row.value("limit_amount", as: Int32.self)), unit: .workingDays)
            let extended = Int(try row.value("extended_days", as: Int32.self))
            var due = calendar.adding(limit, to: start)
            if extended > 0 {
                let further = calendar.addingWorkingDays(extended, to: due.at)
                due = Deadline(at: further.at, provisional: due.provisional || further.provisional)
            }
            var caps: [Date] = []
            if [.sign, .reply, .opinion, .returnWindow].contains(step), let parent = try row.value("parent_id", as: Int64?.self),
               let parentDue = replyDue[parent] {
                caps.append(calendar.tierCap(beforeParentDue: parentDue, urgent: try row.value("urgent")))
            }
            if step == .opinion, let lead = try row.value("round_lead", as: Int64?.self), let leadDue = replyDue[lead] { caps.append(leadDue) }
            if let source = try row.value("source_deadline", as: Date?.self) { caps.append(source) }
            // As open() does: a cap already passed leaves the deadline at its start, never before.
            if let cap = caps.min(), cap < due.at { due = Deadline(at: max(cap, start), provisional: due.provisional) }
            if step == .reply, let assignment = try row.value("assignment_id", as: Int64?.self) { replyDue[assignment] = due.at }
            let before: Date = try row.value("due_at")
            let wasProvisional: Bool = try row.value("provisional")
            guard due.at != before || due.provisional != wasProvisional else { continue }
            if due.at == before {
                // Confirmed by the calendar, not moved: its ladder goes on as it was.
                try await connection.execute("""
                    UPDATE deadlines SET provisional = \(due.provisional) WHERE id = \(try row.value("id", as: Int64.self))
                    """, logger: logger)
            } else {
                try await move(try row.value("id", as: Int64.self), to: due, calendar: calendar, on: connection, logger: logger)
            }
            try await Timeline.record(caseId: caseId, kind: .deadlineRecomputed, by: staff, at: now,
                                      unit: try row.value("unit_code"), details: [
                "step": .string(step.rawValue), "due_before": .string(Timestamp.format(before)),
                "due": .string(Timestamp.format(due.at)), "provisional": .bool(due.provisional),
            ], on: connection, logger: logger)
            moved += 1
        }
        return moved
    }
}
