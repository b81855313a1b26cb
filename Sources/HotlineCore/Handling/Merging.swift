import Foundation
import Logging
import PostgresNIO

/// 并单 (DOMAIN §5 "merge"): a duplicate follows an open master case. It has no assignments of
/// its own; when the master is replied, it receives the same reply and is visited on its own.
public enum Merging {
    public struct Request: Decodable, Sendable {
        public var master: String
    }

    public static func merge(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let master = try await StepRunner.run(.merge, number, by: staff, alsoLocking: {
            let request = try input()
            guard request.master != number else {
                throw HotlineError(.unprocessable, code: .sameCase, "a case cannot be merged into itself")
            }
            return request.master
        }, at: now, on: connection, logger: logger) { step in
            let (master, duplicate) = (step.other!, step.handle)
            guard master.mergedInto == nil, master.status != .closed, master.status != .merged else {
                throw HotlineError(.unprocessable, code: .masterNotOpen, "the master must be an open case that is not merged itself")
            }
            if try await connection.row("SELECT 1 FROM cases WHERE merged_into = \(duplicate.id) LIMIT 1", logger: logger) != nil {
                throw HotlineError(.unprocessable, code: .hasDuplicates, "this case is the master of others; merge those first")
            }
            // Deadlines still running close as merged; one already missed stays missed.
            try await Assignments.cancelAll(caseId: duplicate.id, reason: "merged", at: now, on: connection, logger: logger)
            step.change.mergedInto = master.id
            step.details = ["master": .string(master.number)]
            step.follow(.duplicateMerged, on: master.id, ["duplicate": .string(duplicate.number)])
            return master
        }
        // A master already answered passes its reply on at once.
        if master.status == .replied, let replyId = master.replyId {
            let duplicate = try await CaseAccess.find(number, on: connection, logger: logger)!
            try await Replies.receive(replyId: replyId, master: master.number, caseId: duplicate.id, causedBy: staff, at: now,
                                      on: connection, logger: logger)
        }
    }

    /// When a master closes without a reply (withdrawn, transferred), its duplicates still wait
    /// for an answer: each goes back to `accepted` for the center to dispatch on its own.
    static func releaseDuplicates(
        of master: CaseHandle, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let duplicates = try await connection.rows(
            "SELECT id FROM cases WHERE merged_into = \(master.id) AND status = 'merged' ORDER BY id", logger: logger
        )
        for row in duplicates {
            try await StepRunner.carry(.releaseDuplicate, caseId: try row.value("id"), causedBy: staff, at: now,
                                       on: connection, logger: logger) { step in
                step.change.leavesMerge = true
                step.details = ["master": .string(master.number)]
            }
        }
    }
}
