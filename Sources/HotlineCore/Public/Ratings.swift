import Crypto
import Foundation
import Logging
import PostgresNIO

/// The satisfaction survey's public page (DOMAIN §14): the link in the survey SMS, used once,
/// records the citizen's rating as a return visit by SMS. The page shows the case number and the
/// unit that answered, nothing of the citizen: a link forwarded shows no one's identity.
public enum Ratings {
    public struct Survey: Sendable, Equatable {
        public let number: String
        public let unit: String
        public let repliedAt: Date
    }

    public struct Answer: Sendable {
        public var satisfaction: String?
        public var resolved: String?
        public var note: String?

        public init(satisfaction: String?, resolved: String?, note: String?) {
            (self.satisfaction, self.resolved, self.note) = (satisfaction, resolved, note)
        }
    }

    /// What the link shows, if it is one, unused and not expired; otherwise 404, as for a link
    /// that never was (409 `already_rated` once it has been used).
    public static func survey(token: String, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Survey {
        let row = try await link(token, at: now, claiming: false, on: connection, logger: logger)
        return Survey(number: try row.value("number"), unit: try row.value("unit_name"), repliedAt: try row.value("replied_at"))
    }

    /// The citizen's answer: checked, then recorded once as a visit by SMS.
    public static func rate(
        token: String, _ answer: Answer, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Survey {
        var checker = FieldChecker()
        let satisfaction = answer.satisfaction.flatMap(Satisfaction.init(rawValue:))
        if satisfaction == nil { checker.fail("satisfaction", "请选择满意、基本满意或不满意") }
        let resolved: Bool? = answer.resolved == "true" ? true : answer.resolved == "false" ? false : nil
        if resolved == nil { checker.fail("resolved", "请选择问题是否已解决") }
        let note = checker.text(answer.note.flatMap { $0.isEmpty ? nil : $0 }, field: "note", max: 500, required: false, multiline: true)
        let row = try await link(token, at: now, claiming: true, on: connection, logger: logger)
        try checker.check()
        _ = try await ReturnVisits.recordBySMS(caseId: try row.value("case_id"), replyId: try row.value("reply_id"), satisfaction!,
                                               resolved: resolved!, note: note, at: now, on: connection, logger: logger)
        try await connection.execute("UPDATE rating_links SET used_at = \(now) WHERE sms_id = \(try row.value("sms_id", as: Int64.self))",
                                     logger: logger)
        return Survey(number: try row.value("number"), unit: try row.value("unit_name"), repliedAt: try row.value("replied_at"))
    }

    static let tokenCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static func link(
        _ token: String, at now: Date, claiming: Bool, on connection: PostgresConnection, logger: Logger
    ) async throws -> PostgresRandomAccessRow {
        // A token is 43 base64url characters; anything else is no link, without a query.
        guard token.utf8.count == 43, token.utf8.allSatisfy(tokenCharacters.contains) else {
            throw HotlineError.notFound("survey")
        }
        let hash = ByteBuffer(bytes: Array(SHA256.hash(data: Array(token.utf8))))
        guard let row = try await connection.row("""
            SELECT l.sms_id, l.case_id, l.reply_id, l.used_at, l.expires_at, c.number, u.name AS unit_name, r.replied_at
            FROM rating_links l JOIN cases c ON c.id = l.case_id JOIN replies r ON r.id = l.reply_id JOIN units u ON u.code = r.unit_code
            WHERE l.token_hash = \(hash)
            \(unescaped: claiming ? "FOR UPDATE OF l" : "")
            """, logger: logger), try row.value("expires_at", as: Date.self) > now else {
            throw HotlineError.notFound("survey")
        }
        if try row.value("used_at", as: Date?.self) != nil {
            throw HotlineError(.conflict, code: .alreadyRated, "这条评价链接已使用，感谢您的评价")
        }
        return row
    }
}
