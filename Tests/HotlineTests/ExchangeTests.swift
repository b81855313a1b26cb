import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Cases exchanged with upper platforms and 110 (DOMAIN §14): stored once per source id, held
/// to the source's deadline, reported back through the outbox, and pushed to 110 on a transfer.
@Suite("Exchange with upper platforms and 110") struct ExchangeTests {
    /// Two working days after the fixture's Monday 09:00: earlier than any reply deadline of a
    /// normal case.
    static let sourceDeadline = "2026-03-04T17:00:00+08:00"

    static func provinceCase(id: String = "SD-2026-000123", subject: String = "小区电梯停运一周无人维修",
                             reportBack: String? = "province-back", deadline: String? = sourceDeadline) -> [String: Any] {
        var body = CaseBodies.make(subject: subject, channel: "upper_platform")
        var source: [String: Any] = ["system": "province", "id": id]
        if let reportBack { source["report_back"] = reportBack }
        if let deadline { source["deadline"] = deadline }
        body["source"] = source
        return body
    }

    static func subscribe(_ hotline: TestHotline, port: Int, code: String, system: String, events: [String]) async throws {
        let made = try await hotline.request(.post, "/api/v1/subscriptions", as: "admin", body: json([
            "code": code, "url": "http://127.0.0.1:\(port)/hook", "events": events, "system": system,
        ]))
        #expect(made.status == .created, "\(made.text)")
    }

    @Test func aSourceIsStoredOnceAndItsDeadlineCapsEveryDeadlineOfTheCase() async throws {
        let receiver = WebhookTests.Receiver()
        try await receiver.application().test(.live) { live in
            try await withHotline(secretsKey: WebhookTests.key) { hotline in
                try await Self.subscribe(hotline, port: live.port!, code: "province-back", system: "province", events: ["case.accepted"])
                let body = Self.provinceCase()
                let first = try await hotline.request(.post, "/api/v1/cases", as: "exchange", body: json(body))
                #expect(first.status == .created, "\(first.text)")
                let number = try first.object()["number"] as! String
                let source = try first.object()["source"] as? [String: Any]
                #expect(source?["system"] as? String == "province" && source?["id"] as? String == "SD-2026-000123")
                #expect(source?["deadline"] as? String == Self.sourceDeadline)

                // The same body again, laid out otherwise (its keys in whatever order a dictionary
                // keeps, indented): the same case, 200, nothing new.
                let reordered = try JSONSerialization.data(withJSONObject: body, options: [.prettyPrinted])
                #expect(String(decoding: reordered, as: UTF8.self) != json(body))
                let again = try await hotline.request(.post, "/api/v1/cases", as: "exchange", bytes: Array(reordered))
                #expect(again.status == .ok, "\(again.text)")
                #expect(try again.object()["number"] as? String == number)
                #expect(try await hotline.count("cases") == 1)
                // Another body under the same id: a conflict, naming the case there is.
                let other = try await hotline.request(.post, "/api/v1/cases", as: "exchange",
                                                      body: json(Self.provinceCase(subject: "另一件事：路灯不亮")))
                #expect(other.status == .conflict && other.problemCode == "source_conflict", "\(other.text)")
                #expect(try await hotline.count("cases") == 1)

                // The center dispatches: the sign and reply deadlines end by the source's.
                let view = try await hotline.dispatch(number)
                let reply = LifecycleRulesTests.due(view, "reply")
                #expect(reply?["due_at"] as? String == Self.sourceDeadline, "\(String(describing: reply))")
                let sign = LifecycleRulesTests.due(view, "sign")
                let signDue = Timestamp.parse(sign?["due_at"] as? String ?? "")!
                #expect(signDue <= Timestamp.parse(Self.sourceDeadline)!)
                // An approved extension cannot carry it past either.
                try await hotline.step(number, "sign", as: "handler:housing")
                let asked = try await hotline.step(number, "extension-requests", as: "handler:housing",
                                                   body: #"{"working_days": 5, "reason": "需协调多个部门"}"#, expect: 201)
                let request = (asked["extension_requests"] as! [[String: Any]]).last!["id"] as! Int
                let extended = try await hotline.step(number, "extension-requests/\(request)/approve", as: "dispatcher")
                #expect(LifecycleRulesTests.due(extended, "reply")?["due_at"] as? String == Self.sourceDeadline)
                // Nor can anything else, even the service's own role writing the table by hand.
                let guarded = try await RecordDefenceTests.attempt("""
                    UPDATE deadlines SET due_at = due_at + interval '30 days'
                    WHERE case_id = (SELECT id FROM cases WHERE number = '\(number)') AND step = 'reply'
                    """, as: "hotline_test_service", database: hotline.databaseName)
                #expect(guarded == "23514", "check_violation: \(String(describing: guarded))")

                // The exchange client reads its own case, as an assisting unit would (no citizen at
                // all), and no other.
                let read = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "exchange")
                let readCitizen = try read.object()["citizen"]
                #expect(read.status == .ok && (readCitizen == nil || readCitizen is NSNull), "\(read.text)")
                #expect(!read.text.contains("13812345678") && !read.text.contains("张"), "\(read.text)")
                let ours = try await hotline.fileCase()
                let notTheirs = try await hotline.request(.get, "/api/v1/cases/\(ours)", as: "exchange")
                #expect(notTheirs.status == .notFound)
                let dispatching = try await hotline.request(.post, "/api/v1/cases/\(ours)/dispatch", as: "exchange",
                                                            body: #"{"lead_unit": "housing"}"#)
                #expect(dispatching.status == .forbidden)
            }
        }
    }

    @Test func aSourceThatIsNotWhatItShouldBeIsRefusedAndChangesNothing() async throws {
        try await withHotline(secretsKey: WebhookTests.key) { hotline in
            _ = try await hotline.request(.post, "/api/v1/subscriptions", as: "admin", body: json([
                "code": "province-back", "url": "http://127.0.0.1:9/hook", "events": ["case.replied"], "system": "province",
            ]))
            _ = try await hotline.request(.post, "/api/v1/subscriptions", as: "admin", body: json([
                "code": "elsewhere", "url": "http://127.0.0.1:9/hook", "events": ["case.replied"],
            ]))
            func post(_ body: [String: Any], as who: String = "exchange") async throws -> TestResponse {
                try await hotline.request(.post, "/api/v1/cases", as: who, body: json(body))
            }
            var noId = Self.provinceCase()
            noId["source"] = ["system": "province", "report_back": "province-back"]
            // A system code with a trailing newline, and an id of 60 characters that are 120 code
            // points (PostgreSQL's char_length): refused as input, never left to the table's checks.
            var newline = Self.provinceCase()
            newline["source"] = ["system": "province\n", "id": "SD-1"]
            var combining = Self.provinceCase()
            combining["source"] = ["system": "province", "id": String(repeating: "e\u{301}", count: 60)]
            let cases: [(String, [String: Any], String, Int, String)] = [
                ("no id", noId, "exchange", 400, "source.id"),
                ("a system code with a newline", newline, "operator", 400, "source.system"),
                ("an id of 120 code points", combining, "operator", 400, "source.id"),
                ("a URL to report back to", Self.provinceCase(reportBack: "https://example.org/hook"), "exchange", 400, "source.report_back"),
                ("no such subscription", Self.provinceCase(reportBack: "nobody"), "exchange", 422, "source.report_back"),
                ("another system's subscription", Self.provinceCase(reportBack: "elsewhere"), "exchange", 422, "source.report_back"),
                ("a source by phone", Self.provinceCase().merging(["channel": "phone"]) { $1 }, "operator", 400, "channel"),
                ("an exchange case without a source", CaseBodies.make(channel: "upper_platform"), "exchange", 400, "source"),
            ]
            for (what, body, who, status, field) in cases {
                let response = try await post(body, as: who)
                #expect(response.status.code == status, "\(what): \(response.text)")
                #expect(response.text.contains(field), "\(what): \(response.text)")
            }
            var otherSystem = Self.provinceCase()
            otherSystem["source"] = ["system": "gov-supervision", "id": "X-1"]
            let foreign = try await post(otherSystem)
            #expect(foreign.status == .forbidden, "an exchange client sends its own system's cases only: \(foreign.text)")
            #expect(try await hotline.count("cases") == 0)
            #expect(try await hotline.count("case_sources") == 0)
            // The operator may enter one by hand (a case read off the province's screen).
            let byHand = try await post(Self.provinceCase(), as: "operator")
            #expect(byHand.status == .created, "\(byHand.text)")
        }
    }

    @Test func theReplyTheEndAndAReopeningAreReportedBackToTheSourcesSubscriptionOnly() async throws {
        let receiver = WebhookTests.Receiver()
        try await receiver.application().test(.live) { live in
            try await withHotline(secretsKey: WebhookTests.key) { hotline in
                try await Self.subscribe(hotline, port: live.port!, code: "province-back", system: "province", events: ["case.accepted"])
                let created = try await hotline.request(.post, "/api/v1/cases", as: "exchange", body: json(Self.provinceCase(deadline: nil)))
                let number = try created.object()["number"] as! String
                // A case of the hotline's own: the province hears nothing of it.
                let ours = try await hotline.fileCase()
                try await hotline.dispatch(ours)
                try await hotline.dispatch(number)
                try await hotline.step(number, "sign", as: "handler:housing")
                try await hotline.reply(number)
                try await hotline.visit(number, satisfaction: "unsatisfied", resolved: false)
                try await hotline.step(number, "reopen", as: "dispatcher", body: #"{"reason": "未解决"}"#)
                try await hotline.reply(number)
                try await hotline.visit(number, satisfaction: "satisfied")
                #expect(try await WebhookTests.deliver(hotline) == 5)
                let got = receiver.received.withLockedValue { $0 }
                #expect(got.map(\.event) == ["case.accepted", "case.replied", "case.reopened", "case.replied", "case.closed"])
                for delivery in got {
                    let text = String(decoding: delivery.body, as: UTF8.self)
                    #expect(text.contains(number) && !text.contains(ours), "\(text)")
                    #expect(!text.contains("13812345678") && !text.contains("\"citizen\"") && !text.contains("张"), "no identity, as an assisting unit reads it: \(text)")
                    #expect(text.contains("SD-2026-000123"))
                }
            }
        }
    }

    @Test func aTransferTo110IsPushedToItsSubscriptionWithTheCallersContactAsAReveal() async throws {
        let receiver = WebhookTests.Receiver()
        try await receiver.application().test(.live) { live in
            try await withHotline(secretsKey: WebhookTests.key) { hotline in
                try await Self.subscribe(hotline, port: live.port!, code: "police", system: "110", events: ["case.transferred"])
                let fire = try await hotline.fileCase()
                try await hotline.step(fire, "transfer", as: "operator", body: #"{"service": "119", "note": "楼道起火"}"#)
                let fight = try await hotline.fileCase()
                try await hotline.step(fight, "transfer", as: "operator", body: #"{"service": "110", "note": "有人持刀斗殴"}"#)
                #expect(try await WebhookTests.deliver(hotline) == 1, "110 hears of the transfer to 110 only")
                let got = receiver.received.withLockedValue { $0 }
                #expect(got.map(\.event) == ["case.transferred"])
                let body = try JSONSerialization.jsonObject(with: Data(got[0].body)) as? [String: Any]
                #expect((body?["case"] as? [String: Any])?["number"] as? String == fight)
                let contact = body?["contact"] as? [String: Any]
                #expect(contact?["phone"] as? String == "13812345678" && contact?["name"] as? String == "张三")
                // The contact is read at the send, never kept in the outbox.
                let kept = try await hotline.sql { connection in
                    try await connection.query("SELECT count(*) FROM deliveries WHERE position('13812345678' IN convert_from(body, 'UTF8')) > 0",
                                               logger: TestDatabase.logger).collect().first!.decode(Int.self)
                }
                #expect(kept == 0)
                // The push is a reveal on the case's timeline, saying to whom.
                let timeline = try await hotline.request(.get, "/api/v1/cases/\(fight)/timeline", as: "dispatcher").items()
                let reveal = timeline.first { $0["kind"] as? String == "contact_revealed" }
                #expect((reveal?["details"] as? [String: Any])?["to"] as? String == "110", "\(timeline)")
                let noReveal = try await hotline.request(.get, "/api/v1/cases/\(fire)/timeline", as: "dispatcher").items()
                let fireReveals = noReveal.filter { $0["kind"] as? String == "contact_revealed" }
                #expect(fireReveals.isEmpty, "119 has no subscription here: no push, no reveal")
            }
        }
    }
}
