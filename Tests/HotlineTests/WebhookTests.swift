import Crypto
import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import PostgresNIO
import Testing

/// Webhooks (DOMAIN §14): subscriptions an administrator makes, an outbox written in the
/// change's own transaction, deliveries signed and sent to a real HTTP receiver, retried, held
/// in order, and never carrying an identity the subscription may not see.
@Suite("Webhooks") struct WebhookTests {
    static let key = SecretsKey(hex: String(repeating: "7f", count: 32))!

    /// A receiver on a real port: it records every POST and answers what `answer` says.
    final class Receiver: Sendable {
        struct Received: Sendable {
            let delivery: String
            let event: String
            let timestamp: String
            let signature: String
            let body: [UInt8]
        }
        let received = NIOLockedValueBox<[Received]>([])
        /// Status to answer for a delivery id; 204 otherwise.
        let answers = NIOLockedValueBox<[String: Int]>([:])
        /// POSTs that reached the redirect's target.
        let redirected = NIOLockedValueBox(0)

        func application() -> some ApplicationProtocol {
            let router = Router()
            router.post("hook") { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                let delivery = request.headers[.init("X-Hotline-Delivery")!] ?? ""
                self.received.withLockedValue {
                    $0.append(Received(delivery: delivery, event: request.headers[.init("X-Hotline-Event")!] ?? "",
                                       timestamp: request.headers[.init("X-Hotline-Timestamp")!] ?? "",
                                       signature: request.headers[.init("X-Hotline-Signature")!] ?? "", body: body))
                }
                let status = self.answers.withLockedValue { $0[delivery] } ?? 204
                // A redirect elsewhere, which the deliverer must not follow.
                if status == 307 { return Response(status: .temporaryRedirect, headers: [.location: "/elsewhere"]) }
                return Response(status: .init(code: status))
            }
            router.post("elsewhere") { _, _ -> Response in
                self.redirected.withLockedValue { $0 += 1 }
                return Response(status: .noContent)
            }
            return Application(router: router)
        }
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    static func deliver(_ hotline: TestHotline) async throws -> Int {
        try await Outbox.deliverDue(database: hotline.database, key: key, policy: OutboxPolicy(maxAttempts: 3),
                                    clock: { [clock = hotline.clock] in clock.now() }, logger: TestDatabase.logger, send: WebhookPost.send)
    }

    static func subscribe(
        _ hotline: TestHotline, port: Int, events: [String], unit: String? = nil, code: String? = nil
    ) async throws -> [String: Any] {
        var body: [String: Any] = ["code": code ?? "receiver-\(events.count)", "url": "http://127.0.0.1:\(port)/hook", "events": events]
        if let unit { body["unit"] = unit }
        let response = try await hotline.request(.post, "/api/v1/subscriptions", as: "admin", body: json(body))
        #expect(response.status == .created, "\(response.text)")
        return try response.object()
    }

    @Test func subscriptionsAreAnAdministratorsAndTheirSecretIsShownOnce() async throws {
        try await withHotline(secretsKey: Self.key) { hotline in
            let made = try await Self.subscribe(hotline, port: 9, events: ["case.replied", "case.closed"], unit: "housing")
            let secret = try #require(made["secret"] as? String)
            #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit))
            let id = try #require(made["id"] as? Int)
            let read = try await hotline.request(.get, "/api/v1/subscriptions/\(id)", as: "admin").object()
            #expect(read["secret"] == nil && read["unit"] as? String == "housing" && read["active"] as? Bool == true)
            let listed = try await hotline.request(.get, "/api/v1/subscriptions", as: "admin").text
            #expect(!listed.contains(secret))
            // Kept sealed: the stored bytes are not the secret.
            let sealed = try await hotline.sql { connection in
                try await connection.query("SELECT encode(secret_sealed, 'hex') FROM subscriptions", logger: TestDatabase.logger)
                    .collect().first!.decode(String.self)
            }
            #expect(!sealed.contains(secret))
            // Bad input, each a problem that changes nothing.
            let bad: [([String: Any], Int, String)] = [
                (["code": "x", "url": "ftp://example.org/hook", "events": ["case.replied"]], 400, "validation_failed"),
                (["code": "y", "url": "http://127.0.0.1/hook", "events": ["case.rumoured"]], 400, "validation_failed"),
                (["code": "z", "url": "http://127.0.0.1/hook", "events": [] as [String]], 400, "validation_failed"),
                (["code": "Bad Code", "url": "http://127.0.0.1/hook", "events": ["*"]], 400, "validation_failed"),
                (["code": "u", "url": "http://127.0.0.1/hook", "events": ["*"], "unit": "nowhere"], 422, "unknown_unit"),
                (["code": "receiver-2", "url": "http://127.0.0.1/hook", "events": ["*"]], 409, "already_exists"),
            ]
            for (body, status, code) in bad {
                let response = try await hotline.request(.post, "/api/v1/subscriptions", as: "admin", body: json(body))
                #expect(response.status.code == status, "\(body): \(response.text)")
                #expect(response.problemCode == code, "\(body)")
            }
            #expect(try await hotline.count("subscriptions") == 1)
            let byDispatcher = try await hotline.request(.get, "/api/v1/subscriptions", as: "dispatcher")
            #expect(byDispatcher.status == .forbidden)
            // Changed, turned off, on again.
            let patched = try await hotline.request(.patch, "/api/v1/subscriptions/\(id)", as: "admin",
                                                    body: #"{"events": ["*"], "url": "https://hooks.example.org/12345"}"#).object()
            #expect(patched["events"] as? [String] == ["*"] && patched["url"] as? String == "https://hooks.example.org/12345")
            let gone = try await hotline.request(.delete, "/api/v1/subscriptions/\(id)", as: "admin")
            #expect(gone.status == .noContent)
            let off = try await hotline.request(.get, "/api/v1/subscriptions/\(id)", as: "admin").object()
            #expect(off["active"] as? Bool == false && off["disabled_reason"] is String)
            let on = try await hotline.request(.patch, "/api/v1/subscriptions/\(id)", as: "admin", body: #"{"active": true}"#).object()
            #expect(on["active"] as? Bool == true && on["disabled_reason"] is NSNull)
        }
        // Without a secrets key, no secret can be kept: no subscription.
        try await withHotline { hotline in
            let response = try await hotline.request(.post, "/api/v1/subscriptions", as: "admin",
                                                     body: #"{"code": "a", "url": "http://127.0.0.1/hook", "events": ["*"]}"#)
            #expect(response.status == .serviceUnavailable, "\(response.text)")
            #expect(response.problemCode == "not_configured")
        }
    }

    @Test func eachEventReachesTheReceiverSignedInOrderAndAFailureIsRetriedWithTheSameBody() async throws {
        let receiver = Receiver()
        try await receiver.application().test(.live) { live in
            let port = live.port!
            try await withHotline(secretsKey: Self.key) { hotline in
                let made = try await Self.subscribe(hotline, port: port, events: ["case.accepted", "case.dispatched", "case.signed"])
                let secret = Self.bytes(hex: made["secret"] as! String)
                let number = try await hotline.fileCase()
                try await hotline.dispatch(number)
                try await hotline.step(number, "notes", as: "handler:housing", body: #"{"text": "已联系物业"}"#, expect: 201)
                try await hotline.step(number, "sign", as: "handler:housing")
                // One delivery per event heard of (the note is not), made as each change committed.
                #expect(try await hotline.count("deliveries") == 3)
                // A change rolled back leaves no delivery behind.
                _ = try? await hotline.database.transaction(logger: TestDatabase.logger) { connection -> Int in
                    try await connection.query("""
                        INSERT INTO case_events (case_id, at, kind, actor_role, details)
                        SELECT id, now(), 'signed', 'system', '{}' FROM cases WHERE number = \(number)
                        """, logger: TestDatabase.logger)
                    throw TestFailure("roll back")
                }
                #expect(try await hotline.count("deliveries") == 3)

                // The first is refused once: it is tried again later, and the two after it wait.
                let first = try await hotline.sql { connection in
                    try await connection.query("SELECT min(id) FROM deliveries", logger: TestDatabase.logger).collect().first!.decode(Int.self)
                }
                receiver.answers.withLockedValue { $0["\(first)"] = 500 }
                #expect(try await Self.deliver(hotline) == 0)
                let sent = receiver.received.withLockedValue { $0.count }
                #expect(sent == 1, "the later ones were held")
                // The case changes before the repeat: the repeat still carries the first body.
                try await hotline.step(number, "notes", as: "handler:housing", body: #"{"text": "物业已到场"}"#, expect: 201)
                receiver.answers.withLockedValue { $0 = [:] }
                #expect(try await Self.deliver(hotline) == 0, "not yet due again")
                hotline.clock.set(hotline.clock.now().addingTimeInterval(120))
                #expect(try await Self.deliver(hotline) == 3)
                #expect(try await Self.deliver(hotline) == 0, "nothing is delivered twice")

                let got = receiver.received.withLockedValue { $0 }
                #expect(got.map(\.event) == ["case.accepted", "case.accepted", "case.dispatched", "case.signed"])
                #expect(got[0].delivery == got[1].delivery && got[0].body == got[1].body, "a repeat carries the same id and body")
                for delivery in got {
                    let expected = "sha256=" + Outbox.signature(secret: secret, timestamp: delivery.timestamp, body: delivery.body)
                    #expect(delivery.signature == expected)
                    let body = try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any]
                    #expect(body?["id"] as? Int == Int(delivery.delivery))
                    #expect(body?["kind"] as? String == delivery.event)
                    #expect((body?["case"] as? [String: Any])?["number"] as? String == number)
                    // Without a unit it sees what an assisting unit sees: no identity at all.
                    let text = String(decoding: delivery.body, as: UTF8.self)
                    #expect(!text.contains("13812345678") && !text.contains("张三") && !text.contains("5678"), "\(text)")
                }
                let statuses = try await hotline.sql { connection in
                    try await connection.query("SELECT status, attempts FROM deliveries ORDER BY id", logger: TestDatabase.logger)
                        .collect().map { try $0.decode((String, Int32).self) }
                }
                #expect(statuses.map(\.0) == ["delivered", "delivered", "delivered"])
                #expect(statuses.map(\.1) == [2, 1, 1])
            }
        }
    }

    @Test func aReceiverThatKeepsFailingIsParkedAndOneGoneIsTurnedOff() async throws {
        let receiver = Receiver()
        try await receiver.application().test(.live) { live in
            let port = live.port!
            try await withHotline(secretsKey: Self.key) { hotline in
                let made = try await Self.subscribe(hotline, port: port, events: ["case.accepted"])
                _ = try await hotline.fileCase()
                _ = try await hotline.fileCase()
                let ids = try await hotline.sql { connection in
                    try await connection.query("SELECT id FROM deliveries ORDER BY id", logger: TestDatabase.logger)
                        .collect().map { try $0.decode(Int.self) }
                }
                #expect(ids.count == 2)
                receiver.answers.withLockedValue { $0["\(ids[0])"] = 503; $0["\(ids[1])"] = 307 }
                for _ in 0..<3 {
                    _ = try await Self.deliver(hotline)
                    hotline.clock.set(hotline.clock.now().addingTimeInterval(3600))
                }
                let first = try await hotline.sql { connection in
                    try await connection.query("SELECT status, attempts, last_error FROM deliveries WHERE id = \(ids[0])",
                                               logger: TestDatabase.logger).collect().first!.decode((String, Int32, String?).self)
                }
                #expect(first.0 == "parked" && first.1 == 3)
                #expect(first.2 == "the receiver answered 503")
                // Another case's delivery is not held by it; a redirect is not followed (a signed
                // body goes to the subscribed URL only) but counts as a failure.
                let other = receiver.received.withLockedValue { $0.filter { $0.delivery == "\(ids[1])" }.count }
                #expect(other == 3)
                let followed = receiver.redirected.withLockedValue { $0 }
                #expect(followed == 0)
                let second = try await hotline.sql { connection in
                    try await connection.query("SELECT status, last_error FROM deliveries WHERE id = \(ids[1])",
                                               logger: TestDatabase.logger).collect().first!.decode((String, String?).self)
                }
                #expect(second.0 == "parked" && second.1 == "the receiver answered 307")

                // An administrator sees what is parked and why, and sends one again: it goes with
                // the body it first went with, and is delivered once the receiver takes it.
                let parked = try await hotline.request(.get, "/api/v1/deliveries?status=parked", as: "admin").items()
                let parkedIds = parked.map { $0["id"] as? Int }
                #expect(parkedIds == ids.map(Optional.some))
                #expect(parked.first?["last_error"] as? String == "the receiver answered 503")
                #expect(parked.first?["subscription"] as? String == made["code"] as? String)
                let refused = try await hotline.request(.get, "/api/v1/deliveries", as: "handler:housing")
                #expect(refused.status == .forbidden)
                let badStatus = try await hotline.request(.get, "/api/v1/deliveries?status=lost", as: "admin")
                #expect(badStatus.status == .badRequest, "\(badStatus.text)")
                let firstBody = receiver.received.withLockedValue { $0.first { $0.delivery == "\(ids[0])" }!.body }
                receiver.answers.withLockedValue { $0 = [:] }
                let resent = try await hotline.request(.post, "/api/v1/deliveries/\(ids[0])/resend", as: "admin")
                #expect(resent.status == .ok, "\(resent.text)")
                #expect(try resent.object()["status"] as? String == "queued")
                #expect(try await Self.deliver(hotline) == 1)
                let again = receiver.received.withLockedValue { $0.last! }
                #expect(again.delivery == "\(ids[0])" && again.body == firstBody)
                let twice = try await hotline.request(.post, "/api/v1/deliveries/\(ids[0])/resend", as: "admin")
                #expect(twice.status == .conflict, "only a parked delivery is resent")
                let missing = try await hotline.request(.post, "/api/v1/deliveries/999999/resend", as: "admin")
                #expect(missing.status == .notFound)
                #expect(try await hotline.request(.get, "/api/v1/deliveries?status=parked", as: "admin").items().count == 1)

                _ = try await hotline.fileCase()
                let newest = try await hotline.sql { connection in
                    try await connection.query("SELECT max(id) FROM deliveries", logger: TestDatabase.logger).collect().first!.decode(Int.self)
                }
                receiver.answers.withLockedValue { $0 = ["\(newest)": 410] }
                _ = try await Self.deliver(hotline)
                let subscription = try await hotline.request(.get, "/api/v1/subscriptions/\(made["id"] as! Int)", as: "admin").object()
                #expect(subscription["active"] as? Bool == false)
                #expect(subscription["disabled_reason"] as? String == "the receiver answered 410 Gone")
                // Turned off, it hears of nothing more.
                let before = try await hotline.count("deliveries")
                _ = try await hotline.fileCase()
                #expect(try await hotline.count("deliveries") == before)
            }
        }
    }

    @Test func aTurnedOffSubscriptionKeepsWhatIsQueuedAndAClosingIsHeardAsSuch() async throws {
        let receiver = Receiver()
        try await receiver.application().test(.live) { live in
            try await withHotline(secretsKey: Self.key) { hotline in
                let made = try await Self.subscribe(hotline, port: live.port!, events: ["case.accepted", "case.transferred", "case.closed"])
                let number = try await hotline.fileCase()
                let off = try await hotline.request(.patch, "/api/v1/subscriptions/\(made["id"] as! Int)", as: "admin",
                                                    body: #"{"active": false}"#)
                #expect(try off.object()["disabled_reason"] as? String == "turned off by an administrator")
                #expect(try await Self.deliver(hotline) == 0)
                let waiting = try await hotline.sql { connection in
                    try await connection.query("SELECT status FROM deliveries", logger: TestDatabase.logger).collect()
                        .map { try $0.decode(String.self) }
                }
                #expect(waiting == ["queued"], "turned off, its deliveries wait: they are not parked")
                _ = try await hotline.request(.patch, "/api/v1/subscriptions/\(made["id"] as! Int)", as: "admin",
                                              body: #"{"active": true}"#)
                // A transfer to 119 is heard as a transfer and as the case's end.
                try await hotline.step(number, "transfer", as: "operator", body: #"{"service": "119", "note": "楼道起火"}"#)
                #expect(try await Self.deliver(hotline) == 3)
                let kinds = receiver.received.withLockedValue { $0.map(\.event) }
                #expect(kinds == ["case.accepted", "case.transferred", "case.closed"])
            }
        }
    }

    @Test func aUnitsSubscriptionNeverCarriesTheCitizenOfAReport() async throws {
        let receiver = Receiver()
        try await receiver.application().test(.live) { live in
            try await withHotline(secretsKey: Self.key) { hotline in
                _ = try await Self.subscribe(hotline, port: live.port!, events: ["*"], unit: "housing")
                // The citizen says their number and name in the description too (DOMAIN §10).
                let number = try await hotline.fileCase(json(CaseBodies.make(
                    type: "report", description: "我是张三，电话13812345678，举报小区物业私收停车费。", name: "张三", phone: "13812345678")))
                try await hotline.dispatch(number)
                try await hotline.step(number, "sign", as: "handler:housing")
                try await hotline.step(number, "notes", as: "handler:housing", body: #"{"text": "已核实"}"#, expect: 201)
                // Another case the unit never had: not heard of at all.
                _ = try await hotline.fileCase()
                #expect(try await Self.deliver(hotline) == 2, "dispatched and signed; the acceptance came before the unit had it")
                let got = receiver.received.withLockedValue { $0 }
                #expect(got.map(\.event) == ["case.dispatched", "case.signed"])
                for delivery in got {
                    let text = String(decoding: delivery.body, as: UTF8.self)
                    #expect(text.contains(number) && text.contains("私收停车费"), "\(text)")
                    #expect(!text.contains("13812345678") && !text.contains("张三") && !text.contains("5678"), "\(text)")
                }
            }
        }
    }

    @Test func aReceiverThatDoesNotAnswerHoldsUpOnlyItselfAndTwoDeliverersSendEachOnce() async throws {
        let receiver = Receiver()
        try await receiver.application().test(.live) { live in
            try await withHotline(secretsKey: Self.key) { hotline in
                _ = try await Self.subscribe(hotline, port: live.port!, events: ["case.accepted"], code: "alive")
                // A port nothing listens on: every attempt is refused.
                let dead = try await Self.subscribe(hotline, port: 9, events: ["case.accepted"], code: "dead")
                for _ in 0..<20 { _ = try await hotline.fileCase() }
                async let one = Self.deliver(hotline)
                async let two = Self.deliver(hotline)
                let delivered = try await one + two
                #expect(delivered == 20)
                let counts = receiver.received.withLockedValue { Dictionary($0.map { ($0.delivery, 1) }, uniquingKeysWith: +) }
                let once = counts.values.allSatisfy { $0 == 1 }
                #expect(counts.count == 20 && once, "each sent once: \(counts)")
                // The dead receiver was tried once per lane of each pass (4 lanes, two deliverers),
                // not once per delivery.
                let tried = try await hotline.sql { connection in
                    try await connection.query("""
                        SELECT count(*) FILTER (WHERE attempts > 0), count(*) FILTER (WHERE status = 'queued') FROM deliveries
                        WHERE subscription_id = \(dead["id"] as! Int)
                        """, logger: TestDatabase.logger).collect().first!.decode((Int, Int).self)
                }
                #expect(tried.0 >= 1 && tried.0 <= 8 && tried.1 == 20, "\(tried)")
            }
        }
    }
}
