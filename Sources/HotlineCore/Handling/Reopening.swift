import Foundation
import Logging
import PostgresNIO

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
        try await StepRunner.run(.reopen, number, by: staff, at: now, on: connection, logger: logger) { step in
            let handle = step.handle
            let reason = try Handling.reason(try input().reason)
            try await requireRatedUnsatisfied(handle, action: "reopen", on: connection, logger: logger)
            guard handle.reopenCount < reopenLimit else {
                throw HotlineError(.unprocessable, code: .reopenLimit, "a case is reopened at most \(reopenLimit) times")
            }
            let limits = try await Handling.limits(for: handle, on: connection, logger: logger)
            let calendar = try await CalendarStore.load(on: connection, logger: logger)
            let lead: (id: Int64, unit: String)
            if handle.mergedInto != nil {
                // A duplicate leaves its master and goes, as its own case, to the unit that gave
                // the master's reply (DOMAIN §5): its own lead assignment, signed, as a reopen is.
                let unit = try await connection.row(
                    "SELECT unit_code FROM replies WHERE id = \(handle.replyId!)", logger: logger
                )!.value("unit_code", as: String.self)
                let id = try await connection.row("""
                    INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at, round)
                    VALUES (\(handle.id), \(unit), 'lead', 'signed', \(now), \(handle.dispatchRound + 1))
                    RETURNING id
                    """, logger: logger)!.value("id", as: Int64.self)
                lead = (id, unit)
                let reply = try await DeadlineLedger.open(caseId: handle.id, assignmentId: id, unit: unit, step: .reply, start: now,
                                                          limit: limits[.reopenReply]!, calendar: calendar, on: connection, logger: logger)
                step.details["reply_due"] = .string(Timestamp.format(reply.due.at))
                step.change.leavesMerge = true
                step.change.nextRound = true
                step.details["left_master"] = .bool(true)
            } else {
                // Back to the unit that wrote the reply (DOMAIN §5a), no new signing; it and every
                // lead above it get a reopen deadline, each child's capped inside its parent's.
                let writer = try await connection.row(
                    "SELECT assignment_id FROM replies WHERE id = \(handle.replyId!)", logger: logger
                )?.value("assignment_id", as: Int64.self)
                let leads = step.chain.leads
                guard let last = leads.firstIndex(where: { $0.id == writer }) ?? (leads.isEmpty ? nil : leads.count - 1) else {
                    throw HotlineError(.conflict, code: .invalidTransition, "this case has no lead unit to go back to")
                }
                var cap: Date?
                var due = now
                var dues: [String: JSONValue] = [:]
                for assignment in leads[...last] {
                    try await Assignments.move(assignment, to: .signed, from: [.replied], action: "reopen", at: now,
                                               on: connection, logger: logger)
                    due = try await DeadlineLedger.open(caseId: handle.id, assignmentId: assignment.id, unit: assignment.unit,
                                                        step: .reply, start: now, limit: limits[.reopenReply]!, cap: cap,
                                                        calendar: calendar, on: connection, logger: logger).due.at
                    cap = calendar.tierCap(beforeParentDue: due, urgent: handle.urgency == .urgent)
                    dues[assignment.unit] = .string(Timestamp.format(due))
                }
                lead = (leads[last].id, leads[last].unit)
                step.details["reply_due"] = .string(Timestamp.format(due))
                // Each level's own reopen deadline, the writer's (reply_due) among them.
                step.details["reply_dues"] = .object(dues)
            }
            step.change.reopened = true
            step.unit = lead.unit
            step.details.merge(["reopen": .number(Double(handle.reopenCount + 1)), "reason": .string(reason)]) { $1 }
        }
    }

    public static func closeAfterReview(
        _ number: String, _ input: @autoclosure () throws -> Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.closeAfterReview, number, by: staff, at: now, on: connection, logger: logger) { step in
            let reason = try Handling.reason(try input().reason)
            try await requireRatedUnsatisfied(step.handle, action: "close after review", on: connection, logger: logger)
            try await DeadlineLedger.close(caseId: step.handle.id, reason: "closed", at: now, on: connection, logger: logger)
            step.details = ["reason": .string(reason)]
        }
    }

    public static func exempt(
        _ number: String, _ input: @autoclosure () throws -> Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.exempt, number, by: staff, at: now, on: connection, logger: logger) { step in
            let reason = try Handling.reason(try input().reason)
            guard !step.handle.exempt else {
                throw HotlineError(.conflict, code: .alreadyExempt, "this case is already exempt from appraisal")
            }
            try await connection.execute("UPDATE cases SET exempt_reason = \(reason) WHERE id = \(step.handle.id)", logger: logger)
            step.details = ["reason": .string(reason)]
        }
    }

    static func requireRatedUnsatisfied(
        _ handle: CaseHandle, action: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let replyId = handle.replyId,
              let visit = try await ReturnVisits.latestReachedVisit(caseId: handle.id, replyId: replyId, on: connection, logger: logger),
              visit.satisfaction == .unsatisfied
        else {
            throw HotlineError(.conflict, code: .invalidTransition,
                               "cannot \(action) a case whose citizen has not been reached and rated it unsatisfied")
        }
    }
}
