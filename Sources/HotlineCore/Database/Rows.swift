import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

extension PostgresConnection {
    /// All rows of a query, each read by column name.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await guardedQuery(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// The first row of a query, if any.
    func row(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRandomAccessRow? {
        for try await row in try await guardedQuery(query, logger: logger) {
            return row.makeRandomAccess()
        }
        return nil
    }

    /// Runs a statement for its effect; returns how many rows it touched.
    @discardableResult
    func execute(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        var count = 0
        for try await _ in try await guardedQuery(query, logger: logger) { count += 1 }
        return count
    }

    /// `query`, but one that cannot outlive its connection. PostgresNIO 1.33 writes a query to
    /// the channel without a write promise: a query sent on a connection that closed a moment
    /// before (the server restarting, the pool not yet told) is dropped with its reply promise
    /// unfulfilled, and `query` never returns. Here a watchdog on the connection's event loop
    /// ends the wait as "database unavailable" once the connection is seen closed.
    func guardedQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !isClosed else { throw DatabaseFailure.unavailable }
        let pending = NIOLockedValueBox<CheckedContinuation<PostgresRowSequence, any Error>?>(nil)
        @Sendable func finish(_ result: Result<PostgresRowSequence, any Error>) {
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
                let result: Result<PostgresRowSequence, any Error>
                do {
                    result = .success(try await self.query(query, logger: logger))
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
