import Crypto
import Foundation
import Logging
import PostgresNIO

/// Who is signed in to the workbench, as a page needs it.
public struct SignedIn: Sendable {
    public let session: Int64
    public let staff: Staff
    public let name: String
    /// The name of the user's unit (a handler's, a sub-center dispatcher's).
    public let unitName: String?
    /// The token every form of this session carries (`Sessions.csrfToken`).
    public let csrf: String
}

/// Workbench sessions (DOMAIN §16): a random secret in an HttpOnly cookie, kept only as its
/// SHA-256; idle and absolute expiry; ended by signing out, by a new password, by deactivation.
public enum Sessions {
    /// A session unused this long ends (a desk left for lunch signs in again).
    public static let idle: TimeInterval = 2 * 3600
    /// And none lasts longer than a long shift.
    public static let absolute: TimeInterval = 12 * 3600

    /// Starts a session for a user who has just signed in; returns the cookie's secret (shown once).
    public static func start(for user: User, client: String?, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let secret = Secrets.random(prefix: "hs_")
        let row = try await connection.row("""
            INSERT INTO sessions (user_id, secret_hash, created_at, last_seen_at, expires_at, client)
            VALUES (\(user.id), \(Users.hash(secret)), \(now), \(now), \(now.addingTimeInterval(absolute)), \(client.map { String($0.prefix(80)) }))
            RETURNING id
            """, logger: logger)
        let id: Int64 = try row!.value("id")
        logger.info("signed in", metadata: ["user": "\(user.id)", "session": "\(id)"])
        return secret
    }

    /// The live session of this secret: not ended, not idle too long, not past its end, and its
    /// user active. Its last use is kept to the minute.
    public static func find(secret: String, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> SignedIn? {
        guard secret.utf8.count <= 200 else { return nil }
        guard let row = try await connection.row(Find(query: """
            SELECT s.id AS session_id, s.last_seen_at, u.id, u.name, u.role, u.unit_code, u.exchange_system, n.name AS unit_name
            FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN units n ON n.code = u.unit_code
            WHERE s.secret_hash = \(Users.hash(secret)) AND s.ended_at IS NULL AND s.expires_at > \(now)
              AND s.last_seen_at > \(now.addingTimeInterval(-idle)) AND u.active
            """), logger: logger) else { return nil }
        let id: Int64 = try row.value("session_id")
        let lastSeen: Date = try row.value("last_seen_at")
        if now.timeIntervalSince(lastSeen) >= 60 {
            try await connection.run(Touch(query: "UPDATE sessions SET last_seen_at = \(now) WHERE id = \(id)"), logger: logger)
        }
        let staff = Staff(id: try row.value("id"), role: Role(rawValue: try row.value("role"))!,
                          unit: try row.value("unit_code"), system: try row.value("exchange_system"))
        return SignedIn(session: id, staff: staff, name: try row.value("name"), unitName: try row.value("unit_name"),
                        csrf: csrfToken(for: secret))
    }

    /// Signing out: the session ends at once; ending it twice is harmless.
    public static func end(_ id: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.execute("UPDATE sessions SET ended_at = \(now) WHERE id = \(id) AND ended_at IS NULL", logger: logger)
        logger.info("signed out", metadata: ["session": "\(id)"])
    }

    /// Every open session of a user ends (a new password, a deactivation).
    public static func endAll(ofUser id: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let ended = try await connection.execute(
            "UPDATE sessions SET ended_at = \(now) WHERE user_id = \(id) AND ended_at IS NULL RETURNING 1", logger: logger)
        if ended > 0 { logger.info("sessions ended", metadata: ["user": "\(id)", "sessions": "\(ended)"]) }
    }

    /// The CSRF token of a session: an HMAC of a fixed label under the session's own secret, so
    /// nothing more is stored and a page of another session cannot forge it.
    public static func csrfToken(for secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("workbench-csrf".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Secrets.base64url(Data(mac))
    }

    /// Whether a form's token is this session's, compared in constant time.
    public static func checks(_ given: String?, against expected: String) -> Bool {
        guard let given, given.utf8.count == expected.utf8.count else { return false }
        return zip(given.utf8, expected.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    struct Find: PreparedStatement { let query: PostgresQuery }
    struct Touch: PreparedStatement { let query: PostgresQuery }
}

/// Random secrets as the service hands them out: a prefix and 32 bytes of getrandom(2), base64url.
public enum Secrets {
    public static func random(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + base64url(Data(bytes))
    }

    public static func base64url(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
