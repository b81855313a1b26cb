import Foundation
import Logging
import PostgresNIO

/// 并单 (DOMAIN §5 "merge"): a duplicate follows an open master case. It has no assignments of
/// its own; when the master is replied, it receives the same reply and is visited on its own.
public enum Merging {
    public struct Request: Decodable, Sendable {
        public var master: String
    }

    static let mergeable: Set<CaseStatus> = [.accepted, .dispatched, .inProgress, .returnRequested]

    public static func merge(
        _ number: String, _ input: @autoclosure () throws -> Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.dispatcher)
        let request = try input()
        guard request.master != number else {
            throw HotlineError(.unprocessable, code: "same_case", "a case cannot be merged into itself")
        }
        // Master first, then duplicate: the order every step that touches both takes its locks in.
        guard let master = try await CaseAccess.find(request.master, on: connection, logger: logger, lock: true) else {
            throw HotlineError(.unprocessable, code: "unknown_master", "master names no case")
        }
        let duplicate = try await Handling.lock(number, for: staff, on: connection, logger: logger)
        try Handling.require(duplicate, in: mergeable, to: "merge")
        guard master.mergedInto == nil, master.status != .closed, master.status != .merged else {
            throw HotlineError(.unprocessable, code: "master_not_open", "the master must be an open case that is not merged itself")
        }
        if try await connection.row("SELECT 1 FROM cases WHERE merged_into = \(duplicate.id) LIMIT 1", logger: logger) != nil {
            throw HotlineError(.unprocessable, code: "has_duplicates", "this case is the master of others; merge those first")
        }
        try await Assignments.cancelAll(caseId: duplicate.id, reason: "merged", at: now, on: connection, logger: logger)
        try await CaseTransitions.move(duplicate, from: mergeable, action: "merge", update: { allowed in
            """
            UPDATE cases SET status = 'merged', merged_into = \(master.id), status_before_return = NULL
            WHERE id = \(duplicate.id) AND status = ANY(\(allowed)) RETURNING id
            """
        }, on: connection, logger: logger)
        try await Timeline.record(caseId: duplicate.id, kind: .merged, by: staff, at: now, details: ["master": .string(master.number)],
                                  on: connection, logger: logger)
        try await Timeline.record(caseId: master.id, kind: .duplicateMerged, by: staff, at: now,
                                  details: ["duplicate": .string(duplicate.number)], on: connection, logger: logger)
        // A master already answered passes its reply on at once.
        if master.status == .replied, let replyId = master.replyId {
            try await Timeline.record(caseId: duplicate.id, kind: .replyReceived, by: staff, at: now, details: [
                "reply_id": JSONValue(replyId), "master": .string(master.number),
            ], on: connection, logger: logger)
            try await Replies.deliver(replyId: replyId, to: duplicate, by: staff, at: now, on: connection, logger: logger)
        }
    }

    /// When a master is withdrawn, its duplicates still wait for an answer: they go back to
    /// `accepted` for the center to dispatch.
    static func releaseDuplicates(
        of master: CaseHandle, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let released = try await connection.rows("""
            UPDATE cases SET status = 'accepted', merged_into = NULL
            WHERE merged_into = \(master.id) AND status = 'merged' RETURNING id
            """, logger: logger)
        for row in released {
            try await Timeline.record(caseId: try row.value("id"), kind: .unmerged, by: staff, at: now,
                                      details: ["master": .string(master.number)], on: connection, logger: logger)
        }
    }
}
