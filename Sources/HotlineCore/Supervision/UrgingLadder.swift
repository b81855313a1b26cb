import Foundation
import Logging
import Metrics
import PostgresNIO

/// What one sweep did.
public struct SweepReport: Codable, Sendable, Equatable {
    public var urgings: Int
    public var escalations: Int
    /// Deadline rows whose next level fell due and were taken up.
    public var examined: Int
    public var milliseconds: Double
}

/// 催办 and 升级督办 (DOMAIN §7; seed art. 75, 82): the ladder of a late step. Urging no. 1 the
/// moment its deadline passes; no. 2 and no. 3 at the end of each further working day it is
/// still not done; escalation one working day after the third. Only doing the step ends it.
public enum UrgingLadder {
    static let escalationLevel = 4

    /// When a deadline's ladder begins (a new deadline, or one that moved): its first level falls
    /// due with the deadline itself. Only the steps a unit owes have a ladder.
    static func start(of step: DeadlineStep, due: Date) -> Date? {
        step.isOwed ? due : nil
    }

    /// When a level falls due: level 1 with the deadline, level n at the end of the (n−1)-th
    /// working day after the deadline's day. A level happens once that moment has passed: a step
    /// done at the deadline's very second is on time.
    static func threshold(level: Int, due: Date, calendar: WorkingCalendar) -> Date {
        level <= 1 ? due : calendar.addingWorkingDays(level - 1, to: due).at
    }

    /// One pass: every deadline whose next level is due moves up one level, as often as it must
    /// to catch up. Rows are claimed with `FOR NO KEY UPDATE SKIP LOCKED` (with their cases), so instances sweeping at once
    /// share the work; the unique keys of `urgings` and `escalations` make each level happen once
    /// even so; each batch commits whole or not at all, so a crash loses nothing and repeats nothing.
    public static func sweep(database: Database, at now: Date, logger: Logger, batch: Int = 500) async throws -> SweepReport {
        let started = ContinuousClock.now
        var report = SweepReport(urgings: 0, escalations: 0, examined: 0, milliseconds: 0)
        var calendar: WorkingCalendar?
        while true {
            let done = try await database.transaction(logger: logger) { connection -> (Int, Int, Int) in
                // The case is locked as every step locks it, so its urgings reach the timeline (and
                // the outbox, in order) between its steps, never across one; a case a step holds
                // waits for the next pass.
                // A pending return pauses the unit's ladder: its rows wait, still due, and climb
                // at the first sweep after a rejection as if they had never paused.
                let rows = try await connection.rows("""
                    SELECT d.id, d.case_id, d.unit_code, d.step, d.due_at, d.ladder_level, d.ladder_round
                    FROM deadlines d JOIN cases c ON c.id = d.case_id
                    WHERE d.ladder_next_at < \(now) AND d.ladder_next_at IS NOT NULL AND d.met_at IS NULL AND d.closed_at IS NULL
                      AND NOT EXISTS (SELECT FROM return_requests r WHERE r.assignment_id = d.assignment_id AND r.status = 'pending')
                    ORDER BY d.ladder_next_at
                    LIMIT \(batch)
                    FOR NO KEY UPDATE OF d, c SKIP LOCKED
                    """, logger: logger)
                guard !rows.isEmpty else { return (0, 0, 0) }
                if calendar == nil { calendar = try await CalendarStore.load(on: connection, logger: logger) }
                let steps = try rows.map { row in
                    Step(
                        deadlineId: try row.value("id"), caseId: try row.value("case_id"), unit: try row.value("unit_code"),
                        name: try row.value("step"), due: try row.value("due_at"),
                        level: Int(try row.value("ladder_level", as: Int16.self)) + 1,
                        round: try row.value("ladder_round")
                    )
                }
                let written = try await climb(steps, calendar: calendar!, at: now, on: connection, logger: logger)
                return (rows.count, written.urgings, written.escalations)
            }
            report.examined += done.0
            report.urgings += done.1
            report.escalations += done.2
            // A row climbs one level per batch; a pass ends when nothing it can claim is due.
            if done.0 == 0 { break }
        }
        // A request lapses with the deadline it asked about.
        _ = try await database.transaction(logger: logger) { connection in
            try await ExtensionRequests.lapseOverdue(at: now, on: connection, logger: logger)
        }
        let elapsed = ContinuousClock.now - started
        report.milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        Counter(label: "hotline_sweeps_total").increment()
        Counter(label: "hotline_urgings_total").increment(by: report.urgings)
        Counter(label: "hotline_escalations_total").increment(by: report.escalations)
        Timer(label: "hotline_sweep_duration_seconds").recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        if report.urgings + report.escalations > 0 {
            logger.info("supervision sweep", metadata: [
                "urgings": "\(report.urgings)", "escalations": "\(report.escalations)", "ms": "\(Int(report.milliseconds))",
            ])
        }
        return report
    }

    struct Step {
        let deadlineId: Int64
        let caseId: Int64
        let unit: String
        let name: String
        let due: Date
        let level: Int
        let round: Int16
    }

    /// Writes the next level of each step (where it has not been written before) with its
    /// timeline event, and moves each ladder on: a handful of set-based statements per batch.
    static func climb(
        _ steps: [Step], calendar: WorkingCalendar, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> (urgings: Int, escalations: Int) {
        let urgings = steps.filter { $0.level < escalationLevel }
        let escalations = steps.filter { $0.level == escalationLevel }
        var written = (urgings: 0, escalations: 0)
        if !urgings.isEmpty {
            let rows = try await connection.rows("""
                WITH fresh AS (
                    INSERT INTO urgings (case_id, deadline_id, unit_code, level, ladder_round, urged_at)
                    SELECT c, d, u, l, r, \(now) FROM unnest(\(urgings.map(\.caseId)), \(urgings.map(\.deadlineId)),
                                                        \(urgings.map(\.unit)), \(urgings.map { Int16($0.level) }),
                                                        \(urgings.map(\.round))) AS x (c, d, u, l, r)
                    ON CONFLICT (deadline_id, ladder_round, level) DO NOTHING
                    RETURNING case_id, deadline_id, unit_code, level
                )
                INSERT INTO case_events (case_id, at, kind, actor_role, unit_code, details)
                SELECT f.case_id, \(now), 'urged', 'system', f.unit_code,
                       jsonb_build_object('level', f.level, 'step', d.step, 'due', \(unescaped: Self.dueText))
                FROM fresh f JOIN deadlines d ON d.id = f.deadline_id
                RETURNING id
                """, logger: logger)
            written.urgings = rows.count
        }
        if !escalations.isEmpty {
            let overdue = escalations.map { calendar.workingDays(after: $0.due, through: now) }
            let rows = try await connection.rows("""
                WITH fresh AS (
                    INSERT INTO escalations (case_id, deadline_id, unit_code, ladder_round, escalated_at)
                    SELECT c, d, u, r, \(now) FROM unnest(\(escalations.map(\.caseId)), \(escalations.map(\.deadlineId)),
                                                     \(escalations.map(\.unit)), \(escalations.map(\.round))) AS x (c, d, u, r)
                    ON CONFLICT (deadline_id, ladder_round) DO NOTHING
                    RETURNING case_id, deadline_id, unit_code
                )
                INSERT INTO case_events (case_id, at, kind, actor_role, unit_code, details)
                SELECT f.case_id, \(now), 'escalated', 'system', f.unit_code,
                       jsonb_build_object('step', d.step, 'due', \(unescaped: Self.dueText), 'working_days_overdue', o.days)
                FROM fresh f
                JOIN deadlines d ON d.id = f.deadline_id
                JOIN unnest(\(escalations.map(\.deadlineId)), \(overdue)) AS o (id, days) ON o.id = f.deadline_id
                RETURNING id
                """, logger: logger)
            written.escalations = rows.count
        }
        // The ladder moves on whether or not this pass wrote the level: it exists either way.
        let nexts = urgings.map { threshold(level: $0.level + 1, due: $0.due, calendar: calendar).timeIntervalSince1970 }
        try await connection.execute("""
            UPDATE deadlines d SET ladder_level = x.l, ladder_next_at = to_timestamp(x.n)
            FROM unnest(\(urgings.map(\.deadlineId)), \(urgings.map { Int16($0.level) }), \(nexts)) AS x (id, l, n)
            WHERE d.id = x.id
            """, logger: logger)
        try await connection.execute("""
            UPDATE deadlines SET ladder_level = \(Int16(escalationLevel)), ladder_next_at = NULL
            WHERE id = ANY(\(escalations.map(\.deadlineId)))
            """, logger: logger)
        return written
    }

    /// The deadline's due time as the API writes times (RFC 3339, +08:00), in SQL.
    static let dueText = #"to_char(d.due_at AT TIME ZONE INTERVAL '+08:00', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')"#
}
