import Crypto
import Foundation
import Logging
import PostgresNIO

/// `Idempotency-Key` (DOMAIN §13). The key is claimed inside the transaction of the change it
/// guards and the answer is stored in the same transaction, so a retry either finds the first
/// answer or, if the first attempt rolled back, runs again; never a second change.
public enum Idempotency {
    /// What a replay record keeps: the status of the first answer and the id of what it made or
    /// changed, from which a retry rebuilds its answer. Never a body.
    public struct Record: Sendable {
        public let status: Int
        public let reference: String
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

    /// Claims the key for this transaction. Returns the record when the key was used before for
    /// the same request; throws 422 when it was used for another. A concurrent first attempt holds
    /// the row lock: this waits for it to commit or roll back. A record older than `keptFor` is
    /// as good as gone (the sweep removes it): the key is claimed afresh.
    public static func claim(
        scope: String, key: String, fingerprint: [UInt8], at now: Date, keptFor retention: Duration,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Record? {
        var checker = FieldChecker()
        checker.text(key, field: "Idempotency-Key", max: 200)
        try checker.check()
        let expired = now.addingTimeInterval(-Double(retention.components.seconds))
        let claimed = try await connection.run(Claim(query: """
            INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
            VALUES (\(scope), \(key), \(ByteBuffer(bytes: fingerprint)), \(now))
            ON CONFLICT (scope, key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, status = NULL, reference = NULL
                WHERE idempotency_keys.created_at < \(expired)
            RETURNING key
            """), logger: logger)
        if claimed == 1 { return nil }
        let row = try await connection.row("""
            SELECT fingerprint, status, reference FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)
            """, logger: logger)!
        let stored: ByteBuffer = try row.value("fingerprint")
        guard Array(stored.readableBytesView) == fingerprint else {
            throw HotlineError(.unprocessable, code: .idempotencyKeyReused,
                               "this Idempotency-Key was used for a different request")
        }
        let status: Int32? = try row.value("status")
        return Record(status: Int(status ?? 200), reference: try row.value("reference", as: String?.self) ?? "")
    }

    public static func complete(
        scope: String, key: String, status: Int, reference: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.run(Complete(query: """
            UPDATE idempotency_keys SET status = \(Int32(status)), reference = \(reference)
            WHERE scope = \(scope) AND key = \(key)
            """), logger: logger)
    }

    /// Removes replay records older than the retention, a batch at a time; returns how many.
    public static func expire(before cutoff: Date, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.execute("""
            DELETE FROM idempotency_keys WHERE ctid IN (
                SELECT ctid FROM idempotency_keys WHERE created_at < \(cutoff) LIMIT 5000)
            RETURNING 1
            """, logger: logger)
    }

    /// Every write runs both: prepared.
    struct Claim: PreparedStatement { let query: PostgresQuery }
    struct Complete: PreparedStatement { let query: PostgresQuery }
}
