import Foundation
import Logging
import PostgresNIO

/// The SMS texts, as data (sql/0021_sms.sql): a city words them as it likes and turns a kind
/// off; what a text may name is fixed, so a message never shows a hole or a stray brace.
public enum SMSTemplates {
    public struct Template: Sendable, Equatable {
        public let kind: String
        public let body: String
        public let enabled: Bool
    }

    /// What each kind's text may name, and what it must.
    static let placeholders: [String: (may: Set<String>, must: Set<String>)] = [
        "accepted": (["number", "lookup"], ["number"]),
        "replied": (["number", "lookup", "unit"], ["number"]),
        "survey": (["number", "lookup", "unit", "rating"], ["rating"]),
        "sign_reminder": (["number", "unit", "due"], ["number"]),
        "sign_warning": (["number", "unit", "due"], ["number"]),
        "urged": (["number", "unit"], ["number"]),
    ]

    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [Template] {
        try await connection.rows("SELECT kind, body, enabled FROM sms_templates ORDER BY kind", logger: logger).map {
            Template(kind: try $0.value("kind"), body: try $0.value("body"), enabled: try $0.value("enabled"))
        }
    }

    /// A new text, or the kind turned on or off.
    public static func set(
        _ kind: String, body: String?, enabled: Bool?, on connection: PostgresConnection, logger: Logger
    ) async throws -> Template {
        guard let allowed = placeholders[kind] else {
            throw HotlineError.validation(field: "kind", "must be one of \(placeholders.keys.sorted().joined(separator: ", "))")
        }
        var checker = FieldChecker()
        let text = checker.text(body, field: "body", max: 300, required: false)
        if let text {
            let named = Set(text.matches(of: /\{([a-z_]*)\}/).map { String($0.1) })
            if let unknown = named.subtracting(allowed.may).sorted().first {
                checker.fail("body", "{\(unknown)} is not something a \(kind) SMS can show; it may name \(allowed.may.sorted().map { "{\($0)}" }.joined(separator: ", "))")
            } else if let missing = allowed.must.subtracting(named).sorted().first {
                checker.fail("body", "a \(kind) SMS must show {\(missing)}")
            }
        }
        try checker.check()
        let row = try await connection.row("""
            UPDATE sms_templates SET body = coalesce(\(text), body), enabled = coalesce(\(enabled), enabled)
            WHERE kind = \(kind) RETURNING kind, body, enabled
            """, logger: logger)!
        return Template(kind: try row.value("kind"), body: try row.value("body"), enabled: try row.value("enabled"))
    }
}
