import Foundation
import HTTPTypes
import HotlineCore
import Testing

/// Two people acting on the same case at once: exactly one succeeds, the others are told the
/// state they found (DOMAIN §5).
@Suite("Concurrency") struct ConcurrencyTests {
    /// Bearer tokens for several people of the same role and unit.
    static func tokens(_ hotline: TestHotline, _ count: Int, role: Role, unit: String?) async throws -> [String] {
        try await hotline.database.transaction(logger: TestDatabase.logger) { connection in
            var tokens: [String] = []
            for index in 0..<count {
                let user = try await Users.create(NewUser(name: "并发\(index)", role: role, unit: unit), on: connection, logger: TestDatabase.logger)
                tokens.append(try await Users.issueToken(forUser: user.id, on: connection, logger: TestDatabase.logger).token)
            }
            return tokens
        }
    }

    struct Outcome: Sendable, CustomStringConvertible {
        let status: Int
        let text: String
        var description: String { "\(status) \(text.prefix(200))" }
    }

    /// How many outcomes had a status and, if given, a detail.
    static func count(_ outcomes: [Outcome], status: Int, containing text: String? = nil) -> Int {
        var n = 0
        for outcome in outcomes where outcome.status == status && (text == nil || outcome.text.contains(text!)) { n += 1 }
        return n
    }

    /// Fires one request per token at once; returns the statuses and bodies.
    static func race(_ hotline: TestHotline, _ path: String, body: String?, tokens: [String]) async throws -> [Outcome] {
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            for token in tokens {
                group.addTask {
                    let response = try await hotline.request(.post, path, body: body, headers: [.authorization: "Bearer \(token)"])
                    return Outcome(status: response.status.code, text: response.text)
                }
            }
            return try await group.reduce(into: [Outcome]()) { $0.append($1) }
        }
    }

    @Test func handlersSigningAtOnce() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            let tokens = try await Self.tokens(hotline, 6, role: .handler, unit: "housing")
            let results = try await Self.race(hotline, "/api/v1/cases/\(number)/sign", body: nil, tokens: tokens)
            #expect(Self.count(results, status: 200) == 1, "\(results)")
            #expect(Self.count(results, status: 409, containing: "cannot sign a case that is in_progress") == 5, "\(results)")
            let signatures = try await hotline.kinds(number).filter { $0 == "signed" }
            #expect(signatures.count == 1)
        }
    }

    @Test func handlersReplyingAtOnce() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            let tokens = try await Self.tokens(hotline, 6, role: .handler, unit: "housing")
            let body = #"{"outcome": "resolved", "text": "已解决", "contacted_citizen": true, "handler_name": "李明", "handler_phone": "13900000000"}"#
            let results = try await Self.race(hotline, "/api/v1/cases/\(number)/reply", body: body, tokens: tokens)
            #expect(Self.count(results, status: 200) == 1, "\(results)")
            #expect(Self.count(results, status: 409, containing: "cannot reply to a case that is replied") == 5, "\(results)")
            let replies = try await hotline.count("replies")
            #expect(replies == 1)
        }
    }

    @Test func dispatchersDispatchingAtOnce() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            let tokens = try await Self.tokens(hotline, 5, role: .dispatcher, unit: nil)
            let results = try await Self.race(hotline, "/api/v1/cases/\(number)/dispatch", body: #"{"lead_unit": "housing"}"#, tokens: tokens)
            #expect(Self.count(results, status: 200) == 1, "\(results)")
            #expect(Self.count(results, status: 409, containing: "cannot dispatch a case that is dispatched") == 4, "\(results)")
            #expect(try await hotline.count("assignments") == 1)
        }
    }

    @Test func operatorsVisitingAtOnce() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(number)
            let tokens = try await Self.tokens(hotline, 4, role: .operator, unit: nil)
            let results = try await Self.race(hotline, "/api/v1/cases/\(number)/visits",
                                              body: #"{"reached": true, "satisfaction": "satisfied", "resolved": true}"#, tokens: tokens)
            #expect(Self.count(results, status: 201) == 1, "\(results)")
            #expect(Self.count(results, status: 409) == 3, "\(results)")
            #expect(try await hotline.count("visits") == 1)
        }
    }
}

@Suite("Retries") struct RetryTests {
    /// A retried step with its Idempotency-Key gets the first answer and changes nothing again,
    /// where without the key the same step would be refused as a second transition.
    @Test func aRetriedStepGivesTheFirstAnswer() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            let key: HTTPFields = [.init("Idempotency-Key")!: "sign-\(number)"]
            let first = try await hotline.request(.post, "/api/v1/cases/\(number)/sign", as: "handler:housing", headers: key)
            hotline.clock.advance(by: 600)
            let retry = try await hotline.request(.post, "/api/v1/cases/\(number)/sign", as: "handler:housing", headers: key)
            #expect(first.status == .ok)
            #expect(retry.status == .ok)
            #expect(retry.text == first.text)
            #expect(retry.headers[.init("Idempotency-Replayed")!] == "true")
            let unkeyed = try await hotline.request(.post, "/api/v1/cases/\(number)/sign", as: "handler:housing")
            #expect(unkeyed.status == .conflict)

            let replyKey: HTTPFields = [.init("Idempotency-Key")!: "reply-\(number)"]
            let body = #"{"outcome": "explained", "text": "已解释政策", "contacted_citizen": false, "handler_name": "李明", "handler_phone": "13900000000"}"#
            let replied = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:housing", body: body, headers: replyKey)
            let again = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:housing", body: body, headers: replyKey)
            #expect(replied.status == .ok && again.status == .ok)
            #expect(again.text == replied.text)
            #expect(try await hotline.count("replies") == 1)
            let signatures = try await hotline.kinds(number).filter { $0 == "signed" || $0 == "replied" }
            #expect(signatures == ["signed", "replied"])
        }
    }
}
