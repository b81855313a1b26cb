import Logging
import Metrics
import PostgresNIO
// ConnectionPoolError, which PostgresClient throws as it is when it cannot connect.
import _ConnectionPoolModule

/// The service's way into PostgreSQL: a pool, and transactions that rethrow the caller's own
/// errors (PostgresNIO's `withTransaction` wraps them, which would hide a `HotlineError`).
public struct Database: Sendable {
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<Result: Sendable>(
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = Self.capped(logger)
        let inUse = Self.inUse
        inUse.increment()
        defer { inUse.decrement() }
        do {
            return try await client.withConnection { connection in
                try await connection.run(Begin(query: "BEGIN"), logger: logger)
                let result: Result
                do {
                    result = try await body(connection)
                } catch {
                    // A connection the server has ended has nothing to roll back.
                    if !DatabaseFailure.connectionIsGone(error) {
                        _ = try? await connection.execute("ROLLBACK", logger: logger)
                    }
                    throw error
                }
                try await connection.run(Commit(query: "COMMIT"), logger: logger)
                return result
            }
        } catch {
            throw DatabaseFailure.translate(error)
        }
    }

    /// Every write opens and ends one: prepared.
    struct Begin: PreparedStatement { let query: PostgresQuery }
    struct Commit: PreparedStatement { let query: PostgresQuery }

    /// Runs `body` on a connection outside any explicit transaction (reads).
    public func read<Result: Sendable>(
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = Self.capped(logger)
        let inUse = Self.inUse
        inUse.increment()
        defer { inUse.decrement() }
        do {
            return try await client.withConnection { connection in
                try await body(connection)
            }
        } catch {
            throw DatabaseFailure.translate(error)
        }
    }
}

extension Database {
    /// Database work under way in this instance (waiting for a connection or holding one): the
    /// pool's load, next to `hotline_db_connections_max`.
    /// Looked up on each use (the backend caches it) rather than kept: a kept one made before
    /// the metrics backend is set up would count into nothing.
    static var inUse: Meter { Meter(label: "hotline_db_work_in_flight") }

    /// PostgresNIO logs every message from the server at trace level, rows included, and rows
    /// hold citizens' names and phone numbers: the logger it gets never goes below debug.
    public static func capped(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel < .debug { logger.logLevel = .debug }
        return logger
    }
}

/// How database errors reach callers: constraint violations the application did not foresee
/// become conflicts, a database that cannot be reached becomes "unavailable" (503), anything
/// else stays as it is and ends as a logged 500.
public enum DatabaseFailure {
    /// The answer to a request whose database went away under it (503): its client retries.
    static var unavailable: HotlineError {
        HotlineError(.unavailable, code: .databaseUnavailable,
                     "the database is not reachable right now; retry with the same Idempotency-Key")
    }

    public static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether the error ended the connection itself: the session is over on the server (a
    /// FATAL error such as 57P01 at a restart) or the socket is gone.
    public static func connectionIsGone(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return true
        default:
            let severity = psql.serverInfo?[.severity]
            let state = psql.serverInfo?[.sqlState] ?? ""
            return severity == "FATAL" || severity == "PANIC" || state.hasPrefix("57P") || state.hasPrefix("08")
        }
    }

    /// An error as a log line may carry it. PostgreSQL's message, detail and hint can quote
    /// data ("Failing row contains (…)", "Key (phone)=(…)"), and a decoding error carries the
    /// cell it could not read: a citizen's name or phone must not reach the log that way. What
    /// stays is enough to find the statement and the rule: the codes, the table, column and
    /// constraint, the routine, and our own SQL (whose values are bound, not in its text).
    public static func loggable(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            var parts = ["PSQLError(\(psql.code)"]
            if let info = psql.serverInfo {
                let fields: [(String, PSQLError.ServerInfo.Field)] = [
                    ("severity", .severity), ("sqlState", .sqlState), ("table", .tableName), ("column", .columnName),
                    ("type", .dataTypeName), ("constraint", .constraintName), ("routine", .routine),
                ]
                for (name, field) in fields { if let value = info[field] { parts.append("\(name): \(value)") } }
            }
            if let query = psql.query { parts.append("query: \(query.sql.prefix(400))") }
            return parts.joined(separator: ", ") + ")"
        }
        if let decoding = error as? PostgresDecodingError {
            return "PostgresDecodingError(column: \(decoding.columnName), type: \(decoding.postgresType), "
                + "into: \(decoding.targetType), at: \(decoding.file):\(decoding.line))"
        }
        return String(reflecting: error)
    }

    public static func constraint(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.constraintName]
    }

    static func translate(_ error: any Error) -> any Error {
        if error is HotlineError { return error }
        // The pool gave up making connections: the server is down or unreachable.
        if let pool = error as? ConnectionPoolError, pool == .connectionCreationCircuitBreakerTripped {
            return unavailable
        }
        guard let psql = error as? PSQLError else { return error }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed,
             .uncleanShutdown, .sslUnsupported:
            return unavailable
        default:
            break
        }
        switch psql.serverInfo?[.sqlState] {
        case "23505":
            return HotlineError(.conflict, code: .conflict, "this conflicts with an existing record")
        case "23503":
            return HotlineError(.unprocessable, code: .unknownReference, "a code in the request names nothing known")
        case "23502", "23514":
            return HotlineError(.badRequest, code: .validationFailed, "a value breaks a rule of the record")
        case "54000":
            // A program limit (a word too long for the text index, a row too big): input too large.
            return HotlineError(.badRequest, code: .validationFailed, "a value is too large to be stored")
        case let state? where state.hasPrefix("22"):
            // Data exceptions (too long, out of range, bad encoding) come from input.
            return HotlineError(.badRequest, code: .validationFailed, "a value is out of range or malformed")
        case "57014":
            // The statement ran past its time limit (statement_timeout): cancelled, nothing changed.
            return HotlineError(.unavailable, code: .queryTimeout,
                                "the database took too long to answer; retry with the same Idempotency-Key")
        case "25P03":
            // idle_in_transaction_session_timeout ended the session under a stalled transaction.
            return unavailable
        case "40001", "40P01":
            return HotlineError(.conflict, code: .conflict, "a concurrent change got in the way; retry")
        // 25006: a write reached a server that is read-only: a replica, or a primary that is
        // being demoted in a failover. Nothing was written; the retry finds the new primary.
        case "57P01", "57P02", "57P03", "08000", "08003", "08006", "25006":
            return unavailable
        default:
            return error
        }
    }
}
