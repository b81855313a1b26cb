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
        try StepRunner.authorise([.visitSatisfied, .visitUnsatisfied, .visitFailed], staff)
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
        let step: CaseStep = !request.reached ? .visitFailed : request.satisfaction == .unsatisfied ? .visitUnsatisfied : .visitSatisfied
        let (recorded, attempts) = try await StepRunner.run(step, number, by: staff, at: now, on: connection, logger: logger) { step in
            let handle = step.handle
            guard let replyId = handle.replyId else {
                throw HotlineError(.conflict, code: .invalidTransition, "this case has no reply to visit about")
            }
            guard request.reached else {
                try await checkNotReached(caseId: handle.id, replyId: replyId, on: connection, logger: logger)
                let id = try await connection.row("""
                    INSERT INTO visits (case_id, reply_id, visited_at, visited_by, reached, satisfaction, resolved, note)
                    VALUES (\(handle.id), \(replyId), \(now), \(staff.id), false, NULL, NULL, \(note))
                    RETURNING id
                    """, logger: logger)!.value("id", as: Int64.self)
                let attempts = try await connection.row("""
                    SELECT count(*) AS n FROM visits WHERE case_id = \(handle.id) AND reply_id = \(replyId) AND NOT reached
                    """, logger: logger)!.value("n", as: Int.self)
                step.details = ["visit_id": JSONValue(id), "attempt": .number(Double(attempts))]
                return (Recorded(id: id), attempts)
            }
            let recorded = try await reached(&step, replyId: replyId, request.satisfaction!, resolved: request.resolved!, note: note,
                                             by: staff, on: connection, logger: logger)
            return (recorded, 0)
        }
        // The third failed attempt closes the case as unreachable.
        if attempts >= attemptsBeforeUnreachable {
            try await StepRunner.run(.closeUnreachable, number, by: staff, at: now, on: connection, logger: logger) { step in
                try await DeadlineLedger.meetVisit(caseId: step.handle.id, at: now, on: connection, logger: logger)
                try await DeadlineLedger.close(caseId: step.handle.id, reason: "closed", at: now, on: connection, logger: logger)
            }
        }
        return recorded
    }

    /// The citizen's own answer to the survey SMS (DOMAIN §14): a return visit by SMS, which the
    /// service carries into the record as an operator's call would be (no operator made it).
    static func recordBySMS(
        caseId: Int64, replyId: Int64, _ satisfaction: Satisfaction, resolved: Bool, note: String?, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Recorded {
        let step: CaseStep = satisfaction == .unsatisfied ? .visitUnsatisfied : .visitSatisfied
        return try await StepRunner.carry(step, caseId: caseId, causedBy: nil, at: now, on: connection, logger: logger) { step in
            guard step.handle.replyId == replyId else {
                throw HotlineError(.conflict, code: .invalidTransition, "the case has been answered again since this survey was sent")
            }
            return try await reached(&step, replyId: replyId, satisfaction, resolved: resolved, note: note, by: nil,
                                     on: connection, logger: logger)
        }
    }

    /// A visit that reached the citizen: one per reply; a satisfied one closes the case.
    private static func reached(
        _ step: inout StepContext, replyId: Int64, _ satisfaction: Satisfaction, resolved: Bool, note: String?, by staff: Staff?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Recorded {
        let handle = step.handle, now = step.now
        try await checkNotReached(caseId: handle.id, replyId: replyId, on: connection, logger: logger)
        let id = try await connection.row("""
            INSERT INTO visits (case_id, reply_id, visited_at, visited_by, reached, satisfaction, resolved, note, method)
            VALUES (\(handle.id), \(replyId), \(now), \(staff?.id), true, \(satisfaction.rawValue), \(resolved), \(note),
                    \(staff == nil ? "sms" : "phone"))
            RETURNING id
            """, logger: logger)!.value("id", as: Int64.self)
        try await DeadlineLedger.meetVisit(caseId: handle.id, at: now, on: connection, logger: logger)
        if step.step == .visitSatisfied {
            try await DeadlineLedger.close(caseId: handle.id, reason: "closed", at: now, on: connection, logger: logger)
        }
        step.details = ["visit_id": JSONValue(id), "satisfaction": .string(satisfaction.rawValue), "resolved": .bool(resolved)]
        if staff == nil { step.details["method"] = .string("sms") }
        return Recorded(id: id)
    }

    private static func checkNotReached(caseId: Int64, replyId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        if try await latestReachedVisit(caseId: caseId, replyId: replyId, on: connection, logger: logger) != nil {
            throw HotlineError(.conflict, code: .invalidTransition,
                               "the citizen was already reached about this reply; reopen the case or close it after review")
        }
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
