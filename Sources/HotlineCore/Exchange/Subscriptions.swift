import Crypto
import Foundation
import Logging
import PostgresNIO

/// The key that seals webhook secrets (DOMAIN §13: the one secret the service must read back,
/// to sign with). 32 bytes, given as 64 hexadecimal digits in configuration.
public struct SecretsKey: Sendable {
    let key: SymmetricKey

    public init?(hex: String) {
        guard let bytes = Hex.bytes(hex), bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
    }

    func seal(_ secret: [UInt8]) throws -> [UInt8] {
        Array(try AES.GCM.seal(secret, using: key).combined!)
    }

    func open(_ sealed: [UInt8]) throws -> [UInt8] {
        Array(try AES.GCM.open(try AES.GCM.SealedBox(combined: sealed), using: key))
    }
}

enum Hex {
    static func bytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }
}

/// The closed list of webhook event kinds (API.md), `*` for all.
public enum WebhookKind: String, Vocabulary {
    case accepted = "case.accepted", dispatched = "case.dispatched", passedDown = "case.passed_down", signed = "case.signed"
    case firstContact = "case.first_contact", returnRequested = "case.return_requested", returned = "case.returned"
    case extensionRequested = "case.extension_requested", extended = "case.extended", urged = "case.urged"
    case escalated = "case.escalated", replyUnderReview = "case.reply_under_review", replySentBack = "case.reply_sent_back"
    case replied = "case.replied", visited = "case.visited", reopened = "case.reopened", closed = "case.closed"
    case merged = "case.merged", transferred = "case.transferred", supplemented = "case.supplemented"
    case all = "*"
}

/// A receiver of webhooks, as an administrator sees it (never its secret).
public struct Subscription: Codable, Sendable, Equatable {
    public var id: Int64
    public var code: String
    public var url: String
    public var events: [String]
    public var unit: String?
    /// The outside system it was made for: it hears only of that system's cases, and of the
    /// transfers pushed to it (110, 119, 120, 122).
    public var system: String?
    public var active: Bool
    public var disabledReason: String?
    public var createdAt: Date
    /// Only in the answer to its creation: shown once.
    public var secret: String?

    enum CodingKeys: String, CodingKey {
        case id, code, url, events, unit, system, active, secret
        case disabledReason = "disabled_reason"
        case createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(code, forKey: .code)
        try c.encode(url, forKey: .url)
        try c.encode(events, forKey: .events)
        try c.encode(unit, forKey: .unit)
        try c.encode(system, forKey: .system)
        try c.encode(active, forKey: .active)
        try c.encode(disabledReason, forKey: .disabledReason)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(secret, forKey: .secret)
    }
}

/// Webhook subscriptions (DOMAIN §14, API.md "Notifications and exchange"): an administrator's.
public enum Subscriptions {
    public struct Input: Decodable, Sendable {
        public var code: String?
        public var url: String?
        public var events: [String]?
        public var unit: String?
        public var system: String?
        public var active: Bool?
    }

    static func isCode(_ text: String) -> Bool {
        CaseSources.isCode(text, longest: 64)
    }

    public static func create(
        _ input: Input, key: SecretsKey?, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Subscription {
        try staff.require(.admin)
        var checker = FieldChecker()
        let code = input.code ?? ""
        if !isCode(code) {
            checker.fail("code", "1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
        check(url: input.url, into: &checker)
        check(events: input.events, into: &checker)
        if let system = input.system {
            if !CaseSources.isSystemCode(system) { checker.fail("system", "1 to 32 lowercase letters, digits, '.', '_' or '-'") }
            if input.unit != nil { checker.fail("system", "a subscription is made for a unit or for a system, not both") }
        }
        try checker.check()
        guard let key else {
            throw HotlineError(.unavailable, code: .notConfigured,
                               "webhooks need a secrets key in the configuration (HOTLINE_SECRETS_KEY) to keep their secrets")
        }
        if let unit = input.unit { try await Units.requireUnit(unit, field: "unit", on: connection, logger: logger, active: true) }
        var generator = SystemRandomNumberGenerator()  // getrandom(2)
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        guard let row = try await connection.row("""
            INSERT INTO subscriptions (code, url, events, unit_code, system, secret_sealed, created_at, created_by, updated_at)
            VALUES (\(code), \(input.url!), \(input.events!), \(input.unit), \(input.system), \(ByteBuffer(bytes: try key.seal(secret))), \(now),
                    \(staff.id), \(now))
            ON CONFLICT (code) DO NOTHING
            RETURNING id
            """, logger: logger) else {
            throw HotlineError(.conflict, code: .alreadyExists, "a subscription with this code exists")
        }
        var created = try await get(try row.value("id"), on: connection, logger: logger)
        created.secret = Hex.string(secret)
        logger.info("subscription created", metadata: ["subscription": "\(created.id)", "code": "\(code)"])
        return created
    }

    public static func list(by staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> [Subscription] {
        try staff.require(.admin)
        return try await connection.rows("SELECT \(unescaped: columns) FROM subscriptions ORDER BY id", logger: logger).map(subscription)
    }

    public static func get(_ id: Int64, by staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> Subscription {
        try staff.require(.admin)
        return try await get(id, on: connection, logger: logger)
    }

    /// Changes the URL, the events or whether it is active; turning it on again clears why it
    /// was turned off. Code, unit and secret stay as they were made.
    public static func update(
        _ id: Int64, _ input: Input, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Subscription {
        try staff.require(.admin)
        var checker = FieldChecker()
        if input.code != nil { checker.fail("code", "a subscription's code cannot change") }
        if input.unit != nil { checker.fail("unit", "a subscription's unit cannot change: make another") }
        if input.system != nil { checker.fail("system", "a subscription's system cannot change: make another") }
        if input.url != nil { check(url: input.url, into: &checker) }
        if input.events != nil { check(events: input.events, into: &checker) }
        try checker.check()
        guard try await connection.row("""
            UPDATE subscriptions SET url = coalesce(\(input.url), url), events = coalesce(\(input.events), events),
                   active = coalesce(\(input.active), active),
                   disabled_reason = CASE WHEN \(input.active) THEN NULL
                                          WHEN NOT \(input.active) THEN coalesce(disabled_reason, 'turned off by an administrator')
                                          ELSE disabled_reason END,
                   updated_at = \(now)
            WHERE id = \(id) RETURNING id
            """, logger: logger) != nil else { throw HotlineError.notFound("subscription") }
        return try await get(id, on: connection, logger: logger)
    }

    /// A subscription is never deleted (its deliveries point at it): DELETE turns it off.
    public static func deactivate(
        _ id: Int64, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try staff.require(.admin)
        guard try await connection.row("""
            UPDATE subscriptions SET active = false, disabled_reason = coalesce(disabled_reason, 'turned off by an administrator'),
                   updated_at = \(now)
            WHERE id = \(id) RETURNING id
            """, logger: logger) != nil else { throw HotlineError.notFound("subscription") }
    }

    static func check(url: String?, into checker: inout FieldChecker) {
        guard let url, url.count <= 2000, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
              parsed.host?.isEmpty == false, !url.contains(where: \.isWhitespace) else {
            checker.fail("url", "an http or https URL of at most 2000 characters")
            return
        }
    }

    static func check(events: [String]?, into checker: inout FieldChecker) {
        guard let events, (1...30).contains(events.count) else {
            checker.fail("events", "1 to 30 event kinds")
            return
        }
        for kind in events where WebhookKind(rawValue: kind) == nil {
            checker.fail("events", "each \(WebhookKind.expectation)")
            return
        }
    }

    static let columns = "id, code, url, events, unit_code, system, active, disabled_reason, created_at"

    static func get(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Subscription {
        guard let row = try await connection.row("SELECT \(unescaped: columns) FROM subscriptions WHERE id = \(id)", logger: logger) else {
            throw HotlineError.notFound("subscription")
        }
        return try subscription(row)
    }

    static func subscription(_ row: PostgresRandomAccessRow) throws -> Subscription {
        Subscription(id: try row.value("id"), code: try row.value("code"), url: try row.value("url"), events: try row.value("events"),
                     unit: try row.value("unit_code"), system: try row.value("system"), active: try row.value("active"), disabledReason: try row.value("disabled_reason"),
                     createdAt: try row.value("created_at"), secret: nil)
    }
}
