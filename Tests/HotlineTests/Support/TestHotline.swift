import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO

/// A running service on a fresh database with the demo organisation and signed-in staff.
struct TestHotline: Sendable {
    let client: any TestClientProtocol
    let clock: SettableClock
    let database: Database
    /// The test's own database, for a second instance on it.
    let databaseName: String
    /// Tokens by who: "operator", "dispatcher", "manager", "supervisor", "admin",
    /// "handler:UNIT" for a handler of that unit, "dispatcher:UNIT" for its sub-center's dispatcher.
    let tokens: [String: String]

    /// Units that have a handler in every test.
    static let handlerUnits = ["housing", "water", "environment", "taishan", "taishan.caiyuan", "power",
                               "taishan.daimiao", "taishan.daimiao.hongmen"]
    /// Units with a sub-center dispatcher in every test: 泰山区, 岱庙街道 and 岱岳区 (DOMAIN §5a).
    static let subCenters = ["taishan", "taishan.daimiao", "daiyue"]

    /// Monday 2 March 2026, 09:00 in Shanghai: an ordinary working day.
    static let start = Timestamp.parse("2026-03-02T09:00:00+08:00")!

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, as who: String? = nil, body: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await request(method, path, as: who, bytes: body.map { Array($0.utf8) }, headers: headers)
    }

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, as who: String?, bytes: [UInt8]?, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let who {
            guard let token = tokens[who] else { fatalError("no token for \(who)") }
            headers[.authorization] = "Bearer \(token)"
        }
        if bytes != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: bytes.map { ByteBuffer(bytes: $0) })
    }

    /// Files a case as the operator and returns its number.
    func fileCase(_ body: String = CaseBodies.complaint()) async throws -> String {
        let response = try await request(.post, "/api/v1/cases", as: "operator", body: body)
        guard response.status == .created, let number = try response.object()["number"] as? String else {
            throw TestFailure("could not file a case: \(response.status) \(response.text)")
        }
        return number
    }

    /// Puts a unit on a case directly in the database (dispatch arrives with the handling issue).
    func assign(_ number: String, unit: String, role: String, status: String = "dispatched") async throws {
        try await sql { connection in
            try await connection.query("""
                INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at)
                SELECT id, \(unit), \(role), \(status), accepted_at FROM cases WHERE number = \(number)
                """, logger: TestDatabase.logger)
        }
    }

    /// Sets the clock and runs one supervision pass through the test-clock routes.
    @discardableResult
    func sweep(at time: String) async throws -> [String: Any] {
        let set = try await request(.put, "/api/v1/test/clock", as: "admin", body: json(["now": time]))
        guard set.status == .ok else { throw TestFailure("setting the clock failed: \(set.text)") }
        return try await request(.post, "/api/v1/test/sweep", as: "admin").object()
    }

    func count(_ table: String) async throws -> Int {
        try await sql { connection in
            try await connection.query("SELECT count(*) FROM \(unescaped: table)", logger: TestDatabase.logger)
                .collect().first!.decode(Int.self)
        }
    }

    /// Runs SQL straight on the test's database (for set-up and for checking what is stored).
    func sql<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await database.read(logger: TestDatabase.logger, body)
    }
}

/// Sets up a fresh database, the demo organisation and a user per role, and runs `body`
/// against the application through its router.
func withHotline(
    start: Date = TestHotline.start,
    logger: Logger = TestDatabase.logger,
    testClockRoutes: Bool = true,
    reportsDatabase: (PostgresClient.Configuration) -> PostgresClient.Configuration? = { _ in nil },
    // Generous: tests run in parallel on two cores, and a limit met under that load is no finding.
    statementTimeout: Duration = .seconds(60),
    // The shipped review policy has the center review complaints and reports (DOMAIN §5b). Tests
    // of the other steps file complaints and read the reply as given, so they turn it off; the
    // tests of review keep it, and check it is the default.
    centerReviews: Bool = false,
    secretsKey: SecretsKey? = nil,
    _ body: @Sendable (TestHotline) async throws -> Void
) async throws {
    let name = try await TestDatabase.fresh()
    let configuration = try TestDatabase.configuration(database: name)
    try await TestDatabase.withClient(configuration) { fixtureClient in
        let database = Database(client: fixtureClient)
        let tokens = try await database.transaction(logger: logger) { connection in
            try await DemoOrganisation.install(on: connection, logger: logger)
            var tokens: [String: String] = [:]
            let people: [(String, NewUser)] = [
                ("operator", NewUser(name: "话务员甲", role: .operator, unit: nil)),
                ("dispatcher", NewUser(name: "派单员甲", role: .dispatcher, unit: nil)),
                ("manager", NewUser(name: "中心主任", role: .manager, unit: nil)),
                ("supervisor", NewUser(name: "监察员", role: .supervisor, unit: nil)),
                ("admin", NewUser(name: "管理员", role: .admin, unit: nil)),
                // The province's platform, sending its cases down (DOMAIN §14).
                ("exchange", NewUser(name: "省12345平台", role: .exchange, unit: nil, system: "province")),
            ] + TestHotline.handlerUnits.map { ("handler:\($0)", NewUser(name: "承办人", role: .handler, unit: $0)) }
              + TestHotline.subCenters.map { ("dispatcher:\($0)", NewUser(name: "分中心派单员", role: .dispatcher, unit: $0)) }
            for (who, input) in people {
                let user = try await Users.create(input, on: connection, logger: logger)
                // Long-lived: tests move the clock across months and years.
                tokens[who] = try await Users.issueToken(forUser: user.id, lifetime: .seconds(3650 * 86_400), at: start,
                                                         on: connection, logger: logger).token
            }
            if !centerReviews {
                try await connection.query("UPDATE review_policy SET center_reviews = false", logger: logger)
            }
            return tokens
        }
        let clock = SettableClock(start)
        // The service runs as the runtime role, as it does in production; the fixture above and
        // the tests' own SQL as the owner.
        let app = try await buildApplication(
            HotlineConfiguration(database: try TestDatabase.serviceConfiguration(database: name), migrations: TestDatabase.migrator, clock: clock,
                                 maxDatabaseConnections: 8, testClock: testClockRoutes ? clock : nil,
                                 trustForwardedFor: true, reportsDatabase: reportsDatabase(try TestDatabase.serviceConfiguration(database: name)),
                                 statementTimeout: statementTimeout, secretsKey: secretsKey),
            logger: logger
        )
        try await app.test(.router) { client in
            try await body(TestHotline(client: client, clock: clock, database: database, databaseName: name, tokens: tokens))
        }
    }
    try await TestDatabase.drop(name)
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object (fails the test with the body shown if it is not one).
    func object() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw TestFailure("expected a JSON object, got: \(text)")
        }
        return object
    }

    func items() throws -> [[String: Any]] {
        guard let items = try object()["items"] as? [[String: Any]] else {
            throw TestFailure("expected a list with items, got: \(text)")
        }
        return items
    }

    /// The `code` of a problem document.
    var problemCode: String? {
        (try? object())?["code"] as? String
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// JSON text from a dictionary, for request bodies built in code.
func json(_ value: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
}
