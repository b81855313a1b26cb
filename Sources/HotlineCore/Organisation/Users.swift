import Crypto
import Foundation
import Logging
import PostgresNIO

public struct User: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: Role
    public var unit: String?
    /// The outside system an exchange client sends for; nil for every other role.
    public var system: String?
    public var active: Bool
    /// The workbench's sign-in name, if the user has one.
    public var login: String? = nil
    /// Whether an admin has set a password (never the password or its hash).
    public var hasPassword = false

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(role, forKey: .role)
        try c.encode(unit, forKey: .unit)
        try c.encode(system, forKey: .system)
        try c.encode(active, forKey: .active)
        try c.encode(login, forKey: .login)
        try c.encode(hasPassword, forKey: .hasPassword)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role, unit, system, active, login
        case hasPassword = "has_password"
    }
}

public struct NewUser: Decodable, Sendable {
    public var name: String
    public var role: Role
    public var unit: String?
    /// An exchange client's system (e.g. `province`, `110`): the `source.system` of every case it sends.
    public var system: String?
    /// The workbench's sign-in name: unique, lowercase.
    public var login: String?

    public init(name: String, role: Role, unit: String?, system: String? = nil, login: String? = nil) {
        self.name = name
        self.role = role
        self.unit = unit
        self.system = system
        self.login = login
    }
}

/// PATCH of a user: what is sent changes.
public struct UserPatch: Decodable, Sendable {
    public var name: String?
    public var active: Bool?
    public var login: String?
    /// Kept only as its slow hash (`Passwords`).
    public var password: String?

    public init(name: String? = nil, active: Bool? = nil, login: String? = nil, password: String? = nil) {
        self.name = name
        self.active = active
        self.login = login
        self.password = password
    }
}

/// A token as issued: the secret appears here once and is stored only as its SHA-256.
public struct IssuedToken: Codable, Sendable {
    public let id: Int64
    public let userId: Int64
    public let token: String
    public let expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case id, token
        case userId = "user_id"
        case expiresAt = "expires_at"
    }
}

/// What POST /users/{id}/tokens may say: when the token ends (default: the configured lifetime).
public struct TokenRequest: Decodable, Sendable {
    public var expiresAt: Date?

    public init(expiresAt: Date? = nil) {
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case expiresAt = "expires_at"
    }
}

/// A token as an admin sees it afterwards: never the secret.
public struct TokenRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var userId: Int64
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    public var lastUsedAt: Date?
    public var issuedBy: Int64?

    enum CodingKeys: String, CodingKey {
        case id
        case userId = "user_id"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
        case issuedBy = "issued_by"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(userId, forKey: .userId)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(expiresAt, forKey: .expiresAt)
        try c.encode(revokedAt, forKey: .revokedAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)
        try c.encode(issuedBy, forKey: .issuedBy)
    }
}

/// Users, their roles and their bearer tokens (DOMAIN §2).
public enum Users {
    /// The users by id, a page at a time.
    public static func list(limit: Int = 500, cursor: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> Page<User> {
        try Cursor.check(limit: limit)
        let after = try cursor.map(Cursor.decode) ?? 0
        let rows = try await connection.rows(
            "SELECT \(unescaped: columns) FROM users WHERE id > \(after) ORDER BY id LIMIT \(limit + 1)", logger: logger
        )
        let items = try rows.prefix(limit).map(user)
        return Page(items: items, nextCursor: rows.count > limit ? items.last.map { Cursor.encode($0.id) } : nil)
    }

    public static func get(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> User {
        guard let row = try await connection.row(
            "SELECT \(unescaped: columns) FROM users WHERE id = \(id)", logger: logger
        ) else { throw HotlineError.notFound("user") }
        return try user(row)
    }

    public static func create(_ input: NewUser, on connection: PostgresConnection, logger: Logger) async throws -> User {
        var checker = FieldChecker()
        let name = checker.text(input.name, field: "name", max: 100)
        switch (input.role, input.unit) {
        case (.handler, nil): checker.fail("unit", "a handler acts for a unit: give its code")
        case (.handler, _), (.dispatcher, _), (_, nil): break
        default: checker.fail("unit", "only a handler or a sub-center's dispatcher belongs to a unit")
        }
        if input.role == .exchange {
            if !CaseSources.isSystemCode(input.system ?? "") {
                checker.fail("system", "an exchange client sends for one system: 1 to 32 lowercase letters, digits, '.', '_' or '-'")
            }
        } else if input.system != nil {
            checker.fail("system", "only an exchange client is bound to a system")
        }
        let login = checkLogin(input.login, into: &checker)
        try checker.check()
        try await requireFree(login: login, for: nil, on: connection, logger: logger)
        if let unit = input.unit {
            try await Units.requireUnit(unit, field: "unit", on: connection, logger: logger, active: true)
            if input.role == .dispatcher, try await connection.row(
                "SELECT 1 FROM units WHERE parent = \(unit) LIMIT 1", logger: logger
            ) == nil {
                throw HotlineError.validation(field: "unit", "a dispatcher's unit has units below it to pass cases down to")
            }
        }
        let row = try await connection.row("""
            INSERT INTO users (name, role, unit_code, exchange_system, login)
            VALUES (\(name!), \(input.role.rawValue), \(input.unit), \(input.system), \(login))
            RETURNING \(unescaped: columns)
            """, logger: logger)
        return try user(row!)
    }

    /// A user's name or whether they may sign in. A deactivated user's tokens stop working at
    /// once (and work again if the user is reactivated before they expire).
    public static func update(
        _ id: Int64, _ patch: UserPatch, by staff: Staff? = nil, at now: Date = Date(), on connection: PostgresConnection, logger: Logger
    ) async throws -> User {
        // Nobody locks themselves out: another admin, or the command line, deactivates an admin.
        if patch.active == false, staff?.id == id {
            throw HotlineError(.unprocessable, code: .cannotDeactivateSelf, "an admin cannot deactivate their own account")
        }
        var checker = FieldChecker()
        let name = patch.name.flatMap { checker.text($0, field: "name", max: 100) }
        let login = checkLogin(patch.login, into: &checker)
        if let password = patch.password {
            // Checked against the login it will be used with.
            let current = try await connection.row("SELECT login FROM users WHERE id = \(id)", logger: logger)
            let currentLogin = try current?.value("login", as: String?.self) ?? nil
            if let problem = Passwords.problem(password, login: login ?? currentLogin) {
                checker.fail("password", problem)
            }
        }
        try checker.check()
        try await requireFree(login: login, for: id, on: connection, logger: logger)
        let password = patch.password
        let hash = password == nil ? nil : try await Passwords.offLoop { try Passwords.hash(password!) }
        guard let row = try await connection.row("""
            UPDATE users SET name = coalesce(\(name), name), active = coalesce(\(patch.active), active),
                             login = coalesce(\(login), login),
                             password_hash = coalesce(\(hash), password_hash),
                             password_set_at = CASE WHEN \(hash)::text IS NULL THEN password_set_at ELSE \(now) END
            WHERE id = \(id)
            RETURNING \(unescaped: columns)
            """, logger: logger) else { throw HotlineError.notFound("user") }
        if patch.active == false { logger.info("user deactivated", metadata: ["user": "\(id)"]) }
        if hash != nil { logger.info("password set", metadata: ["user": "\(id)"]) }
        // Whoever knew the old password, or the deactivated user, is signed out of the workbench.
        if hash != nil || patch.active == false {
            try await Sessions.endAll(ofUser: id, at: now, on: connection, logger: logger)
        }
        return try user(row)
    }

    /// A user's tokens, newest first, without their secrets.
    public static func tokens(ofUser id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [TokenRecord] {
        _ = try await get(id, on: connection, logger: logger)
        return try await connection.rows("""
            SELECT id, user_id, created_at, expires_at, revoked_at, last_used_at, issued_by FROM tokens
            WHERE user_id = \(id) ORDER BY id DESC
            """, logger: logger).map { row in
            TokenRecord(id: try row.value("id"), userId: try row.value("user_id"), createdAt: try row.value("created_at"),
                        expiresAt: try row.value("expires_at"), revokedAt: try row.value("revoked_at"),
                        lastUsedAt: try row.value("last_used_at"), issuedBy: try row.value("issued_by"))
        }
    }

    /// How long a token lasts unless told otherwise (`--token-lifetime-days`).
    public static let defaultLifetime: Duration = .seconds(90 * 86_400)

    /// A token that lasts `lifetime` from now.
    public static func issueToken(
        forUser userId: Int64, lifetime: Duration = defaultLifetime, issuedBy: Int64? = nil, at now: Date = Date().wholeSecond,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> IssuedToken {
        try await issueToken(forUser: userId, expiresAt: now.addingTimeInterval(Double(lifetime.components.seconds)),
                             issuedBy: issuedBy, at: now, on: connection, logger: logger)
    }

    /// A new opaque bearer token for the user: `hl_` and 32 random bytes, base64url. It ends at
    /// `expiresAt`; `issuedBy` is the admin who asked (nil: the command line).
    public static func issueToken(
        forUser userId: Int64, expiresAt: Date, issuedBy: Int64?, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> IssuedToken {
        let target = try await get(userId, on: connection, logger: logger)
        guard target.active else {
            throw HotlineError(.unprocessable, code: .inactiveUser, "this user is deactivated")
        }
        guard expiresAt > now else {
            throw HotlineError.validation(field: "expires_at", "must be in the future")
        }
        let token = Secrets.random(prefix: "hl_")
        let row = try await connection.row("""
            INSERT INTO tokens (user_id, token_hash, created_at, expires_at, issued_by)
            VALUES (\(userId), \(hash(token)), \(now), \(expiresAt), \(issuedBy))
            RETURNING id, expires_at
            """, logger: logger)
        let id: Int64 = try row!.value("id")
        logger.info("token issued", metadata: ["user": "\(userId)", "token": "\(id)"])
        return IssuedToken(id: id, userId: userId, token: token, expiresAt: try row!.value("expires_at"))
    }

    /// Revoked tokens stop working at once; revoking twice is harmless.
    public static func revokeToken(_ id: Int64, on connection: PostgresConnection, logger: Logger, now: Date) async throws {
        guard try await connection.row(
            "UPDATE tokens SET revoked_at = coalesce(revoked_at, \(now)) WHERE id = \(id) RETURNING id", logger: logger
        ) != nil else { throw HotlineError.notFound("token") }
    }

    /// The staff member a bearer token belongs to, if the token is live (not revoked, not
    /// expired) and its user active. The token's last use is kept to the minute.
    public static func authenticate(token: String, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Staff? {
        guard token.utf8.count <= 200 else { return nil }
        guard let row = try await connection.row(TokenOwner(query: """
            SELECT u.id, u.role, u.unit_code, u.exchange_system, t.id AS token_id, t.last_used_at
            FROM tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(hash(token)) AND t.revoked_at IS NULL AND t.expires_at > \(now) AND u.active
            """), logger: logger) else { return nil }
        let lastUsed: Date? = try row.value("last_used_at")
        if lastUsed.map({ now.timeIntervalSince($0) >= 60 || now < $0 }) ?? true {
            try await connection.run(TokenUsed(query: """
                UPDATE tokens SET last_used_at = \(now) WHERE id = \(try row.value("token_id", as: Int64.self))
                """), logger: logger)
        }
        return Staff(
            id: try row.value("id"),
            role: Role(rawValue: try row.value("role"))!,
            unit: try row.value("unit_code"),
            system: try row.value("exchange_system")
        )
    }

    /// Every request runs it: prepared.
    struct TokenOwner: PreparedStatement { let query: PostgresQuery }
    struct TokenUsed: PreparedStatement { let query: PostgresQuery }

    static func hash(_ token: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(token.utf8)))
    }

    static let columns = "id, name, role, unit_code, exchange_system, active, login, password_hash IS NOT NULL AS has_password"

    static func user(_ row: PostgresRandomAccessRow) throws -> User {
        User(
            id: try row.value("id"),
            name: try row.value("name"),
            role: Role(rawValue: try row.value("role"))!,
            unit: try row.value("unit_code"),
            system: try row.value("exchange_system"),
            active: try row.value("active"),
            login: try row.value("login"),
            hasPassword: try row.value("has_password")
        )
    }

    /// A login as given: trimmed, lowercased, 2 to 64 of a–z, 0–9, '.', '_' or '-', starting with a letter or digit.
    static func checkLogin(_ value: String?, into checker: inout FieldChecker) -> String? {
        guard let value else { return nil }
        let login = value.trimmingWhitespace().lowercased()
        let allowed = login.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0) }
        guard (2...64).contains(login.unicodeScalars.count), allowed, login.first.map({ $0.isLetter || $0.isNumber }) == true else {
            checker.fail("login", "must be 2 to 64 of a–z, 0–9, '.', '_' or '-', beginning with a letter or digit")
            return nil
        }
        return login
    }

    /// A login another user has is refused by name (the unique key would say only "conflict").
    static func requireFree(login: String?, for id: Int64?, on connection: PostgresConnection, logger: Logger) async throws {
        guard let login, try await connection.row(
            "SELECT 1 FROM users WHERE login = \(login) AND id IS DISTINCT FROM \(id)", logger: logger) != nil else { return }
        throw HotlineError(.conflict, code: .conflict, "the login \(login) is another user's",
                           fields: [.init(field: "login", message: "is another user's")])
    }

    /// The active user whose login and password these are, or nil. An unknown login costs what
    /// a wrong password does, so the time taken does not tell which logins exist. The hash is
    /// checked with no connection held (it takes a tenth of a second or more).
    public static func authenticate(login: String, password: String, database: Database, logger: Logger) async throws -> User? {
        let found = try await database.read(logger: logger) { connection in
            try await connection.row(
                "SELECT \(unescaped: columns), password_hash FROM users WHERE login = \(login.lowercased())", logger: logger
            ).map { (user: try user($0), hash: try $0.value("password_hash", as: String?.self)) }
        }
        let stored = found?.hash
        // An unknown login is checked against a decoy, so that it takes as long as a wrong password.
        let matches = try await Passwords.offLoop { Passwords.verify(password, against: stored ?? Self.decoy) }
        guard let found, stored != nil, matches, found.user.active else { return nil }
        return found.user
    }

    /// A hash no password matches, verified for an unknown login.
    static let decoy = "pbkdf2-sha512$\(Passwords.rounds)$AAAAAAAAAAAAAAAAAAAAAA==$\(Data(count: Passwords.keyBytes).base64EncodedString())"
}
