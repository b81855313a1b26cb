import Foundation
@testable import HotlineCore
import HotlineHTTP
import HummingbirdTesting
import PostgresNIO
import _ConnectionPoolModule
import NIOCore
import NIOPosix
import Testing

@Suite("Operations") struct OperationsTests {
    @Test func metricsCountRequestsByRouteTemplateAndSweeps() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            _ = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "operator")
            _ = try await hotline.request(.get, "/api/v1/cases/00000000000000", as: "operator")
            try await hotline.dispatch(number)
            try await hotline.sweep(at: "2026-03-04T00:00:01+08:00")
            // Not on the API's listener, where anyone who reaches the service could read it…
            let onTheAPI = try await hotline.request(.get, "/metrics")
            #expect(onTheAPI.status == .notFound)
            // …but on a listener of its own.
            let metrics = try await buildMetricsApplication(hostname: "127.0.0.1", port: 0, logger: TestDatabase.logger)
                .test(.router) { try await $0.execute(uri: "/metrics", method: .get) }
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: metrics.body)
            // By template, never by raw path (which would carry case numbers).
            #expect(text.contains(#"http_route="/api/v1/cases/{number}""#), "\(text.prefix(2000))")
            #expect(!text.contains(number))
            #expect(text.contains(#"http_response_status_code="404""#))
            #expect(text.contains("http_server_request_duration_bucket"))
            #expect(text.contains("hotline_urgings_total"))
            #expect(text.contains("hotline_sweep_duration_seconds"))
            #expect(text.contains("hotline_db_connections_max"))
            #expect(text.contains("hotline_db_work_in_flight"))
        }
    }

    /// Reports and statistics read through their own connection (a replica in deploy/): they
    /// work on its read-only session, and they really read there.
    struct Probe: PreparedStatement { let query: PostgresQuery }

    /// A prepared statement binds new values on every call, and one whose SQL text changes
    /// between calls (it would run the first text with the second's values) is refused.
    @Test func preparedStatementsBindEachCallAndKeepTheirText() async throws {
        try await withHotline { hotline in
            let values = try await hotline.sql { connection in
                var seen: [String] = []
                for code in ["housing", "water"] {
                    let row = try await connection.row(Probe(query: "SELECT name FROM units WHERE code = \(code)"), logger: TestDatabase.logger)
                    seen.append(try #require(row).value("name"))
                }
                return seen
            }
            #expect(values.count == 2 && values[0] != values[1])
            await #expect(throws: PreparedSQL.Varies.self) {
                try await hotline.sql { connection in
                    try await connection.row(Probe(query: "SELECT code FROM units WHERE name = \("x")"), logger: TestDatabase.logger)
                }
            }
        }
    }

    @Test func reportsReadThroughTheirOwnReadOnlyConnection() async throws {
        try await withHotline(reportsDatabase: { $0 }) { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager")
            #expect(report.status == .ok, "\(report.text)")
            let overview = try await hotline.request(.get, "/api/v1/stats/overview?period=2026-03", as: "manager")
            #expect(overview.status == .ok, "\(overview.text)")
        }
        // Pointed at another database (one without the organisation), reports show that one's.
        let other = try await TestDatabase.fresh()
        let elsewhere = try TestDatabase.configuration(database: other)
        try await withHotline(reportsDatabase: { _ in elsewhere }) { hotline in
            let main = try await hotline.sql { connection in
                try await connection.query("SELECT count(*) FROM units", logger: TestDatabase.logger).collect()
            }
            let unitsInMain = try main.first?.decode(Int.self) ?? 0
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager")
            let units = try report.object()["units"] as? [Any]
            #expect(unitsInMain > 0)
            #expect(units?.count == 0, "\(report.text.prefix(300))")
        }
        try await TestDatabase.drop(other)
    }

    /// A database that cannot be reached at all (the pool gives up connecting) is a 503 that
    /// clients retry, not a 500.
    @Test func anUnreachableDatabaseIsUnavailable() {
        let failure = DatabaseFailure.translate(ConnectionPoolError.connectionCreationCircuitBreakerTripped)
        #expect((failure as? HotlineError)?.code.rawValue == "database_unavailable")
        #expect((DatabaseFailure.translate(TestFailure("other")) as? HotlineError) == nil)
    }
}

/// What the listener owes the machine it runs on (issue 11).
@Suite("Listener") struct ListenerTests {
    /// A connection that sends nothing is closed after the idle timeout, not kept for ever.
    @Test func anIdleConnectionIsClosed() async throws {
        let name = try await TestDatabase.fresh()
        let app = try await buildApplication(
            HotlineConfiguration(hostname: "127.0.0.1", port: 0, database: try TestDatabase.serviceConfiguration(database: name),
                                 migrations: TestDatabase.migrator, maxDatabaseConnections: 2, idleTimeout: .seconds(1)),
            logger: TestDatabase.logger
        )
        let closed = try await app.test(.live) { client -> Bool in
            let port = try #require(client.port)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "localhost", port: port).get()
            // Whichever comes first: the server closing the silent connection, or ten seconds.
            return try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { try await channel.closeFuture.get(); return true }
                group.addTask { try await Task.sleep(for: .seconds(10)); return false }
                let first = try await group.next()!
                group.cancelAll()
                try? await channel.close()
                return first
            }
        }
        #expect(closed, "the server kept an idle connection open")
        try await TestDatabase.drop(name)
    }

    /// The deploy examples reach PostgreSQL over TLS.
    @Test func theDeployExamplesUseTLSToPostgreSQL() throws {
        let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy")
        for file in ["systemd/hotline.env.example", "compose.yaml", "local-cluster"] {
            let text = try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8)
            let urls = text.components(separatedBy: "postgres://").dropFirst()
            #expect(!urls.isEmpty, "\(file) names no database")
            for url in urls {
                let line = url.prefix { !$0.isNewline && $0 != "\"" }
                #expect(line.contains("sslmode=require") || line.contains("sslmode=verify-full"), "\(file): postgres://\(line)")
            }
        }
    }
}
