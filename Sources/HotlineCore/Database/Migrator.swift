import Crypto
import Foundation
import Logging
import PostgresNIO

/// A numbered SQL file of `sql/`: `0001_organisation.sql` is version 1.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Applies the migrations of `sql/` in order, each in its own transaction, recorded in
/// `schema_migrations`. Several instances may start at once: the whole run holds an advisory
/// lock, so one applies and the others wait and then find nothing to do.
public struct Migrator: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// `hashtext('hotline.migrations')` would do as well; a fixed number is easier to look up.
    static let advisoryLockKey: Int64 = 1_234_500_001

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Reads `NNNN_name.sql` files from a directory.
    public init(directory: URL) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var found: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw Failure(description: "migration file \(file) is not named NNNN_name.sql")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            found.append(Migration(version: version, name: String(stem), sql: sql))
        }
        let versions = found.map(\.version)
        guard Set(versions).count == versions.count else {
            throw Failure(description: "two migration files share a version number")
        }
        self.init(migrations: found)
    }

    /// The migrations directory: `--migrations`/`HOTLINE_MIGRATIONS` if given, else `sql/` in the
    /// working directory, else the `sql/` of the source tree this binary was built from.
    public static func locate(_ explicit: String?) throws -> URL {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let env = ProcessInfo.processInfo.environment["HOTLINE_MIGRATIONS"] { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/sql")
        let sourceTree = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("sql")
        candidates.append(sourceTree.path)
        for path in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return URL(fileURLWithPath: path)
            }
        }
        throw Failure(description: "no migrations directory found; pass --migrations PATH or set HOTLINE_MIGRATIONS")
    }

    /// Applies what is missing; returns the versions applied now.
    @discardableResult
    public func migrate(client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
            do {
                let applied = try await applyPending(on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                throw error
            }
        }
    }

    private func applyPending(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let done = try await recorded(on: connection, logger: logger)
        try verify(recorded: done)
        var applied: [Int] = []
        for migration in migrations where done[migration.version] == nil {
            logger.info("applying migration", metadata: ["migration": "\(migration.name)"])
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                if !DatabaseFailure.connectionIsGone(error) {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                }
                logger.error("migration failed", metadata: [
                    "migration": "\(migration.name)", "error": "\(DatabaseFailure.loggable(error))",
                ])
                throw Failure(description: "migration \(migration.name) failed: \(Self.serverMessage(error))")
            }
            applied.append(migration.version)
        }
        return applied
    }

    /// The migrations this binary knows that the database has not applied, in order.
    public func pending(client: PostgresClient, logger: Logger) async throws -> [Migration] {
        let done = try await client.withConnection { connection in
            let exists = try await connection.query(
                "SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger
            ).collect().first?.decode(Bool.self) ?? false
            return exists ? try await recorded(on: connection, logger: logger) : [:]
        }
        try verify(recorded: done)
        return migrations.filter { done[$0.version] == nil }
    }

    private func recorded(on connection: PostgresConnection, logger: Logger) async throws -> [Int: String] {
        var done: [Int: String] = [:]
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations", logger: logger)
        for try await (version, checksum) in rows.decode((Int, String).self) {
            done[version] = checksum
        }
        return done
    }

    /// A landed migration is never edited: a changed file, or a database newer than this binary,
    /// is refused rather than half-understood.
    private func verify(recorded done: [Int: String]) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, checksum) in done.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw Failure(description: "the database has migration \(version), which this binary does not know; it is newer than this binary")
            }
            guard migration.checksum == checksum else {
                throw Failure(description: "migration \(migration.name) was edited after it was applied")
            }
        }
    }

    static func serverMessage(_ error: any Error) -> String {
        if let psql = error as? PSQLError, let message = psql.serverInfo?[.message] {
            return message
        }
        return "\(error)"
    }
}
