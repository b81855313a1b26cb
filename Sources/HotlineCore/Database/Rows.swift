import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// A statement on the hot path (every request, every intake, every timeline event), prepared
/// once per connection: PostgreSQL then binds and runs it without parsing and planning it
/// again. PostgresNIO names a prepared statement after its type, so each is a type of its own,
/// `struct Name: PreparedStatement { let query: PostgresQuery }`, written with interpolation like
/// every other query. Its SQL is the text of its query, which binds every value and so must be
/// the same on every call: the first call records it and later calls are held to it.
protocol PreparedStatement: PostgresPreparedStatement where Row == PostgresRow {
    var query: PostgresQuery { get }
}

extension PreparedStatement {
    static var sql: String { PreparedSQL.text(of: Self.self) }
    func makeBindings() -> PostgresBindings { query.binds }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// The SQL of each prepared statement type, as its first call wrote it.
enum PreparedSQL {
    private static let texts = NIOLockedValueBox<[ObjectIdentifier: String]>([:])

    /// A programming error, answered as an unknown error (500) rather than a crash.
    struct Varies: Error, CustomStringConvertible {
        let statement: String
        var description: String { "\(statement): a prepared statement's SQL must be the same on every call" }
    }

    static func record<Statement: PreparedStatement>(_ statement: Statement) throws {
        let sql = statement.query.sql
        let first = texts.withLockedValue { texts in
            if let known = texts[ObjectIdentifier(Statement.self)] { return known }
            texts[ObjectIdentifier(Statement.self)] = sql
            return sql
        }
        guard first == sql else { throw Varies(statement: "\(Statement.self)") }
    }

    static func text<Statement: PreparedStatement>(of type: Statement.Type) -> String {
        texts.withLockedValue { $0[ObjectIdentifier(type)] } ?? ""
    }
}

extension PostgresConnection {
    /// All rows of a query, each read by column name.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await guarded { try await self.query(query, logger: logger).collect() }.map { $0.makeRandomAccess() }
    }

    /// The first row of a query, if any.
    func row(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRandomAccessRow? {
        try await rows(query, logger: logger).first
    }

    /// Runs a statement for its effect; returns how many rows it touched.
    @discardableResult
    func execute(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        try await rows(query, logger: logger).count
    }

    /// All rows of a prepared statement, each read by column name.
    func rows<Statement: PreparedStatement>(_ statement: Statement, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try PreparedSQL.record(statement)
        return try await guarded {
            let sequence: AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> = try await self.execute(statement, logger: logger)
            var rows: [PostgresRow] = []
            for try await row in sequence { rows.append(row) }
            return rows
        }.map { $0.makeRandomAccess() }
    }

    /// The first row of a prepared statement, if any.
    func row<Statement: PreparedStatement>(_ statement: Statement, logger: Logger) async throws -> PostgresRandomAccessRow? {
        try await rows(statement, logger: logger).first
    }

    /// Runs a prepared statement for its effect; returns how many rows it returned.
    @discardableResult
    func run<Statement: PreparedStatement>(_ statement: Statement, logger: Logger) async throws -> Int {
        try await rows(statement, logger: logger).count
    }

    /// `operation` (a query and the reading of its rows), but one that cannot outlive its
    /// connection. PostgresNIO 1.33 writes a query to the channel without a write promise: a
    /// query sent on a connection that closed a moment before (the server restarting, the pool
    /// not yet told) is dropped with its reply promise unfulfilled, and the query never
    /// returns. Here a watchdog on the connection's event loop ends the wait as "database
    /// unavailable" once the connection is seen closed.
    func guarded<Result: Sendable>(
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        guard !isClosed else { throw DatabaseFailure.unavailable }
        let pending = NIOLockedValueBox<CheckedContinuation<Result, any Error>?>(nil)
        @Sendable func finish(_ result: Swift.Result<Result, any Error>) {
            pending.withLockedValue { continuation in
                continuation?.resume(with: result)
                continuation = nil
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            pending.withLockedValue { $0 = continuation }
            let watchdog = eventLoop.scheduleRepeatedTask(
                initialDelay: .milliseconds(200), delay: .milliseconds(200)
            ) { [self] task in
                if isClosed {
                    task.cancel()
                    finish(.failure(DatabaseFailure.unavailable))
                }
            }
            Task {
                let result: Swift.Result<Result, any Error>
                do {
                    result = .success(try await operation())
                } catch {
                    result = .failure(error)
                }
                watchdog.cancel()
                finish(result)
            }
        }
    }
}

extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}
