import Foundation
import Logging
import PostgresNIO

public enum Satisfaction: String, Vocabulary {
    case satisfied
    case basicallySatisfied = "basically_satisfied"
    case unsatisfied
}

/// 回访 (DOMAIN §5 "return visit"): the center calls the citizen back about the reply.
public enum ReturnVisits {
    public struct Request: Decodable, Sendable {
        public var reached: Bool
        public var satisfaction: Satisfaction?
        public var resolved: Bool?
        public var note: String?
    }

    public struct Recorded: Codable, Sendable {
        public let id: Int64
    }

    /// Failed attempts after which the case closes as unreachable.
    static let attemptsBeforeUnreachable = 3

    public static func record(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Recorded {
        try staff.require(.operator, .dispatcher)
        let request = try input()
        var checker = FieldChecker()
        let note = checker.text(request.note, field: "note", max: 1000, required: false, multiline: true)
        if request.reached {
            if request.satisfaction == nil { checker.fail("satisfaction", "is required when the citizen was reached") }
            if request.resolved == nil { checker.fail("resolved", "is required when the citizen was reached") }
        } else if request.satisfaction != nil || request.resolved != nil {
            checker.fail("reached", "a call that did not reach the citizen records no rating")
        }
        try checker.check()
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        try Handling.require(handle, in: [.replied], to: "visit")
        guard let replyId = handle.replyId else {
            throw HotlineError.invalidTransition(current: handle.status.rawValue, action: "visit")
        }
        if try await latestReachedVisit(caseId: handle.id, replyId: replyId, on: connection, logger: logger) != nil {
            throw HotlineError(.conflict, code: "invalid_transition",
                               "the citizen was already reached about this reply; reopen the case or close it after review")
        }
        let id = try await connection.row("""
            INSERT INTO visits (case_id, reply_id, visited_at, visited_by, reached, satisfaction, resolved, note)
            VALUES (\(handle.id), \(replyId), \(now), \(staff.id), \(request.reached), \(request.satisfaction?.rawValue),
                    \(request.resolved), \(note))
            RETURNING id
            """, logger: logger)!.value("id", as: Int64.self)

        if !request.reached {
            let attempts = try await connection.row("""
                SELECT count(*) AS n FROM visits WHERE case_id = \(handle.id) AND reply_id = \(replyId) AND NOT reached
                """, logger: logger)!.value("n", as: Int.self)
            try await Timeline.record(caseId: handle.id, kind: .visitFailed, by: staff, at: now, details: [
                "visit_id": JSONValue(id), "attempt": .number(Double(attempts)),
            ], on: connection, logger: logger)
            if attempts >= attemptsBeforeUnreachable {
                try await DeadlineLedger.meetVisit(caseId: handle.id, at: now, on: connection, logger: logger)
                try await close(handle, as: .unreachable, at: now, on: connection, logger: logger)
                try await Timeline.record(caseId: handle.id, kind: .closedUnreachable, by: staff, at: now,
                                          on: connection, logger: logger)
            }
            return Recorded(id: id)
        }
        try await DeadlineLedger.meetVisit(caseId: handle.id, at: now, on: connection, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .visited, by: staff, at: now, details: [
            "visit_id": JSONValue(id), "satisfaction": .string(request.satisfaction!.rawValue),
            "resolved": .bool(request.resolved!),
        ], on: connection, logger: logger)
        // Satisfied or basically satisfied closes the case; unsatisfied waits for review.
        if request.satisfaction != .unsatisfied {
            try await close(handle, as: .visited, at: now, on: connection, logger: logger)
        }
        return Recorded(id: id)
    }

    static func close(_ handle: CaseHandle, as closure: Closure, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await CaseTransitions.move(handle, from: [.replied], action: "close", update: { allowed in
            """
            UPDATE cases SET status = 'closed', closure = \(closure.rawValue), closed_at = \(now)
            WHERE id = \(handle.id) AND status = ANY(\(allowed)) RETURNING id
            """
        }, on: connection, logger: logger)
        try await DeadlineLedger.close(caseId: handle.id, reason: "closed", at: now, on: connection, logger: logger)
    }

    struct ReachedVisit {
        let satisfaction: Satisfaction
    }

    static func latestReachedVisit(
        caseId: Int64, replyId: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> ReachedVisit? {
        guard let row = try await connection.row("""
            SELECT satisfaction FROM visits WHERE case_id = \(caseId) AND reply_id = \(replyId) AND reached
            ORDER BY id DESC LIMIT 1
            """, logger: logger) else { return nil }
        return ReachedVisit(satisfaction: Satisfaction(rawValue: try row.value("satisfaction"))!)
    }
}

/// What the center does with a case rated unsatisfied: 重办 (reopen, at most twice) or close
/// it after review; and 免考核 (exemption from satisfaction and resolution).
public enum Review {
    public struct Reason: Decodable, Sendable {
        public var reason: String
    }

    static let reopenLimit = 2

    public static func reopen(
        _ number: String, _ input: @autoclosure () throws -> Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.operator, .dispatcher)
        let reason = try Handling.reason(try input().reason)
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        try await requireRatedUnsatisfied(handle, action: "reopen", on: connection, logger: logger)
        if handle.mergedInto != nil {
            throw HotlineError(.unprocessable, code: "merged_case", "this case follows its master: reopen the master case")
        }
        guard handle.reopenCount < reopenLimit else {
            throw HotlineError(.unprocessable, code: "reopen_limit", "a case is reopened at most \(reopenLimit) times")
        }
        guard let lead = try await Assignments.activeLead(caseId: handle.id, on: connection, logger: logger) else {
            throw HotlineError.invalidTransition(current: handle.status.rawValue, action: "reopen")
        }
        // Back to the same lead unit, no new signing, a reply deadline of its own.
        try await Assignments.move(lead, to: .signed, from: [.replied], action: "reopen", at: now, on: connection, logger: logger)
        let limits = try await Handling.limits(for: handle, on: connection, logger: logger)
        let calendar = try await CalendarStore.load(on: connection, logger: logger)
        let reply = try await DeadlineLedger.open(caseId: handle.id, assignmentId: lead.id, unit: lead.unit, step: .reply,
                                                  start: now, limit: limits[.reopenReply]!, calendar: calendar,
                                                  on: connection, logger: logger)
        try await CaseTransitions.move(handle, from: [.replied], action: "reopen", update: { allowed in
            """
            UPDATE cases SET status = 'in_progress', reopen_count = reopen_count + 1
            WHERE id = \(handle.id) AND status = ANY(\(allowed)) RETURNING id
            """
        }, on: connection, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .reopened, by: staff, at: now, unit: lead.unit, details: [
            "reopen": .number(Double(handle.reopenCount + 1)), "reason": .string(reason),
            "reply_due": .string(Timestamp.format(reply.due.at)),
        ], on: connection, logger: logger)
    }

    public static func closeAfterReview(
        _ number: String, _ input: @autoclosure () throws -> Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.dispatcher)
        let reason = try Handling.reason(try input().reason)
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        try await requireRatedUnsatisfied(handle, action: "close after review", on: connection, logger: logger)
        try await ReturnVisits.close(handle, as: .visited, at: now, on: connection, logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .closedAfterReview, by: staff, at: now, details: [
            "reason": .string(reason),
        ], on: connection, logger: logger)
    }

    public static func exempt(
        _ number: String, _ input: @autoclosure () throws -> Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.dispatcher)
        let reason = try Handling.reason(try input().reason)
        let handle = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        guard !handle.exempt else {
            throw HotlineError(.conflict, code: "already_exempt", "this case is already exempt from appraisal")
        }
        try await connection.execute("UPDATE cases SET exempt_reason = \(reason) WHERE id = \(handle.id)", logger: logger)
        try await Timeline.record(caseId: handle.id, kind: .exempted, by: staff, at: now, details: ["reason": .string(reason)],
                                  on: connection, logger: logger)
    }

    static func requireRatedUnsatisfied(
        _ handle: CaseHandle, action: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try Handling.require(handle, in: [.replied], to: action)
        guard let replyId = handle.replyId,
              let visit = try await ReturnVisits.latestReachedVisit(caseId: handle.id, replyId: replyId, on: connection, logger: logger),
              visit.satisfaction == .unsatisfied
        else {
            throw HotlineError(.conflict, code: "invalid_transition",
                               "cannot \(action) a case whose citizen has not been reached and rated it unsatisfied")
        }
    }
}
