import Crypto
import Foundation
import Logging
import PostgresNIO

public struct User: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: Role
    public var unit: String?
    public var active: Bool

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(role, forKey: .role)
        try c.encode(unit, forKey: .unit)
        try c.encode(active, forKey: .active)
    }
}

public struct NewUser: Decodable, Sendable {
    public var name: String
    public var role: Role
    public var unit: String?

    public init(name: String, role: Role, unit: String?) {
        self.name = name
        self.role = role
        self.unit = unit
    }
}

/// A token as issued: the secret appears here once and is stored only as its SHA-256.
public struct IssuedToken: Codable, Sendable {
    public let id: Int64
    public let userId: Int64
    public let token: String

    enum CodingKeys: String, CodingKey {
        case id, token
        case userId = "user_id"
    }
}

/// Users, their roles and their bearer tokens (DOMAIN §2).
public enum Users {
    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [User] {
        try await connection.rows(
            "SELECT id, name, role, unit_code, active FROM users ORDER BY id", logger: logger
        ).map(user)
    }

    public static func get(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> User {
        guard let row = try await connection.row(
            "SELECT id, name, role, unit_code, active FROM users WHERE id = \(id)", logger: logger
        ) else { throw HotlineError.notFound("user") }
        return try user(row)
    }

    public static func create(_ input: NewUser, on connection: PostgresConnection, logger: Logger) async throws -> User {
        var checker = FieldChecker()
        let name = checker.text(input.name, field: "name", max: 100)
        switch (input.role, input.unit) {
        case (.handler, nil): checker.fail("unit", "a handler acts for a unit: give its code")
        case (.handler, _), (_, nil): break
        default: checker.fail("unit", "only a handler belongs to a unit")
        }
        try checker.check()
        if let unit = input.unit {
            try await Units.requireUnit(unit, field: "unit", on: connection, logger: logger, active: true)
        }
        let row = try await connection.row("""
            INSERT INTO users (name, role, unit_code) VALUES (\(name!), \(input.role.rawValue), \(input.unit))
            RETURNING id, name, role, unit_code, active
            """, logger: logger)
        return try user(row!)
    }

    /// A new opaque bearer token for the user: `hl_` and 32 random bytes, base64url.
    public static func issueToken(
        forUser userId: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> IssuedToken {
        let target = try await get(userId, on: connection, logger: logger)
        guard target.active else {
            throw HotlineError(.unprocessable, code: "inactive_user", "this user is deactivated")
        }
        var generator = SystemRandomNumberGenerator()  // getrandom(2): cryptographically secure
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = "hl_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let row = try await connection.row("""
            INSERT INTO tokens (user_id, token_hash) VALUES (\(userId), \(hash(token)))
            RETURNING id
            """, logger: logger)
        return IssuedToken(id: try row!.value("id"), userId: userId, token: token)
    }

    /// Revoked tokens stop working at once; revoking twice is harmless.
    public static func revokeToken(_ id: Int64, on connection: PostgresConnection, logger: Logger, now: Date) async throws {
        guard try await connection.row(
            "UPDATE tokens SET revoked_at = coalesce(revoked_at, \(now)) WHERE id = \(id) RETURNING id", logger: logger
        ) != nil else { throw HotlineError.notFound("token") }
    }

    /// The staff member a bearer token belongs to, if the token is live and its user active.
    public static func authenticate(token: String, on connection: PostgresConnection, logger: Logger) async throws -> Staff? {
        guard token.utf8.count <= 200 else { return nil }
        guard let row = try await connection.row(TokenOwner(query: """
            SELECT u.id, u.role, u.unit_code
            FROM tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(hash(token)) AND t.revoked_at IS NULL AND u.active
            """), logger: logger) else { return nil }
        return Staff(
            id: try row.value("id"),
            role: Role(rawValue: try row.value("role"))!,
            unit: try row.value("unit_code")
        )
    }

    /// Every request runs it: prepared.
    struct TokenOwner: PreparedStatement { let query: PostgresQuery }

    static func hash(_ token: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(token.utf8)))
    }

    static func user(_ row: PostgresRandomAccessRow) throws -> User {
        User(
            id: try row.value("id"),
            name: try row.value("name"),
            role: Role(rawValue: try row.value("role"))!,
            unit: try row.value("unit_code"),
            active: try row.value("active")
        )
    }
}
