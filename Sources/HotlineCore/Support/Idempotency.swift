import Crypto
import Foundation
import Logging
import PostgresNIO

/// `Idempotency-Key` (DOMAIN §13). The key is claimed inside the transaction of the change it
/// guards and the answer is stored in the same transaction, so a retry either finds the first
/// answer or, if the first attempt rolled back, runs again; never a second change.
public enum Idempotency {
    public struct StoredAnswer: Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    /// What a request is, for telling a true retry from a reuse of the key for something else.
    public static func fingerprint(method: String, path: String, body: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Data(method.utf8))
        hasher.update(data: [0])
        hasher.update(data: Data(path.utf8))
        hasher.update(data: [0])
        hasher.update(data: body)
        return Array(hasher.finalize())
    }

    /// Claims the key for this transaction. Returns the stored answer when the key was used
    /// before for the same request; throws 422 when it was used for another. A concurrent first
    /// attempt holds the row lock: this waits for it to commit or roll back.
    public static func claim(
        scope: String, key: String, fingerprint: [UInt8], at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> StoredAnswer? {
        var checker = FieldChecker()
        checker.text(key, field: "Idempotency-Key", max: 200)
        try checker.check()
        let claimed = try await connection.run(Claim(query: """
            INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
            VALUES (\(scope), \(key), \(ByteBuffer(bytes: fingerprint)), \(now))
            ON CONFLICT (scope, key) DO NOTHING RETURNING key
            """), logger: logger)
        if claimed == 1 { return nil }
        let row = try await connection.row("""
            SELECT fingerprint, status, response FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)
            """, logger: logger)!
        let stored: ByteBuffer = try row.value("fingerprint")
        guard Array(stored.readableBytesView) == fingerprint else {
            throw HotlineError(.unprocessable, code: "idempotency_key_reused",
                               "this Idempotency-Key was used for a different request")
        }
        let status: Int32? = try row.value("status")
        let body: ByteBuffer? = try row.value("response")
        return StoredAnswer(status: Int(status ?? 200), body: body.map { Array($0.readableBytesView) } ?? [])
    }

    public static func complete(
        scope: String, key: String, status: Int, body: [UInt8], on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.run(Complete(query: """
            UPDATE idempotency_keys SET status = \(Int32(status)), response = \(ByteBuffer(bytes: body))
            WHERE scope = \(scope) AND key = \(key)
            """), logger: logger)
    }

    /// Every write runs both: prepared.
    struct Claim: PreparedStatement { let query: PostgresQuery }
    struct Complete: PreparedStatement { let query: PostgresQuery }
}
