import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Testing

/// SMS (DOMAIN §14) to a real HTTP gateway on loopback: each template's message, the phone read
/// from the case when it is sent, quiet hours, the daily cap, none for an anonymous citizen,
/// the liaison's phone, and the survey's one-time page recorded as a return visit by SMS.
@Suite("SMS") struct SMSTests {
    /// A gateway that records every message and answers `status`.
    final class Gateway: Sendable {
        struct Message: Sendable {
            let authorization: String
            let to: String
            let text: String
            let kind: String
        }
        let messages = NIOLockedValueBox<[Message]>([])
        let status = NIOLockedValueBox(200)

        func application() -> some ApplicationProtocol {
            let router = Router()
            router.post("sms") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 16)
                let fields = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: String] ?? [:]
                self.messages.withLockedValue {
                    $0.append(Message(authorization: request.headers[.authorization] ?? "", to: fields["to"] ?? "",
                                      text: fields["text"] ?? "", kind: fields["kind"] ?? ""))
                }
                return Response(status: .init(code: self.status.withLockedValue { $0 }))
            }
            return Application(router: router)
        }

        func taken() -> [Message] { messages.withLockedValue { all in defer { all = [] }; return all } }
    }

    static func gateway(port: Int, cap: Int = 5) -> SMSGateway {
        SMSGateway(url: "http://127.0.0.1:\(port)/sms", key: "gateway-key-1", publicURL: "https://12345.example.gov.cn/", dailyCap: cap)
    }

    static func send(_ hotline: TestHotline, _ gateway: SMSGateway, logger: Logger = TestDatabase.logger) async throws -> Int {
        try await SMSOutbox.sendDue(database: hotline.database, gateway: gateway, key: WebhookTests.key, policy: OutboxPolicy(maxAttempts: 3),
                                    clock: { [clock = hotline.clock] in clock.now() }, logger: logger, send: WebhookPost.send)
    }

    static func at(_ text: String) -> Date { Timestamp.parse(text)! }
}

extension TestHotline {
    /// A form posted as a browser posts it, with no token.
    func form(_ path: String, _ body: String) async throws -> TestResponse {
        try await request(.post, path, body: body, headers: [.contentType: "application/x-www-form-urlencoded"])
    }
}

extension SMSTests {
    @Test func eachTemplateGoesToThePhoneTheCaseHasWhenItIsSentAndTheSurveyRecordsAVisit() async throws {
        let gateway = Gateway()
        try await gateway.application().test(.live) { live in
            let sms = Self.gateway(port: live.port!)
            try await withHotline(secretsKey: WebhookTests.key) { hotline in
                // The liaison: set by the unit's own handler, read by an admin, no other unit's.
                let set = try await hotline.request(.put, "/api/v1/units/housing/liaison", as: "handler:housing",
                                                    body: #"{"name": "王联络", "phone": "139 0000 2222"}"#)
                #expect(set.status == .ok, "\(set.text)")
                let read = try await hotline.request(.get, "/api/v1/units/housing/liaison", as: "admin").object()
                #expect(read["phone"] as? String == "13900002222" && read["name"] as? String == "王联络")
                let other = try await hotline.request(.get, "/api/v1/units/housing/liaison", as: "handler:environment")
                #expect(other.status == .forbidden)
                let bad = try await hotline.request(.put, "/api/v1/units/housing/liaison", as: "admin", body: #"{"name": "王联络", "phone": "call me"}"#)
                #expect(bad.status == .badRequest && bad.problemCode == "validation_failed")
                let none = try await hotline.request(.get, "/api/v1/units/environment/liaison", as: "admin")
                #expect(none.status == .notFound)
                let unitName = try #require(try await hotline.request(.get, "/api/v1/units/housing", as: "admin").object()["name"] as? String)

                let number = try await hotline.fileCase()
                // The number changes before the SMS goes: the one the case has then is used.
                try await hotline.sql { connection in
                    try await connection.query("UPDATE case_contacts SET phone = '13900001111'", logger: TestDatabase.logger)
                }
                #expect(try await Self.send(hotline, sms) == 1)
                let accepted = gateway.taken()
                #expect(accepted.map(\.kind) == ["accepted"] && accepted.map(\.to) == ["13900001111"])
                #expect(accepted.first?.authorization == "Bearer gateway-key-1")
                #expect(accepted.first?.text.contains(number) == true)
                #expect(accepted.first?.text.contains("https://12345.example.gov.cn/public/cases/\(number)") == true)
                // No phone is kept with a message.
                let kept = try await hotline.sql { connection in
                    try await connection.query("""
                        SELECT count(*) FROM sms_messages m WHERE row_to_json(m)::text LIKE '%1390000%'
                        """, logger: TestDatabase.logger).collect().first!.decode(Int.self)
                }
                #expect(kept == 0)

                // The dispatch reminds housing's liaison to sign; environment has none: skipped.
                try await hotline.dispatch(number, assists: ["environment"])
                #expect(try await Self.send(hotline, sms) == 1)
                let reminder = gateway.taken()
                #expect(reminder.map(\.kind) == ["sign_reminder"] && reminder.map(\.to) == ["13900002222"])
                let reminderText = reminder.first?.text ?? ""
                #expect(reminderText.contains(unitName) && reminderText.contains(number) && reminderText.contains("前签收"), "\(reminderText)")
                let skipped = try await hotline.sql { connection in
                    try await connection.query("SELECT unit_code, last_error FROM sms_messages WHERE status = 'skipped'",
                                               logger: TestDatabase.logger).collect().map { try $0.decode((String, String).self) }
                }
                #expect(skipped.map(\.0) == ["environment"] && skipped.first?.1 == "the unit has no liaison")

                // The yellow card of the sign deadline, then the urging once it has passed.
                let (warn, due) = try await hotline.sql { connection in
                    try await connection.query("""
                        SELECT warn_at, due_at FROM deadlines WHERE step = 'sign' AND unit_code = 'housing'
                        """, logger: TestDatabase.logger).collect().first!.decode((Date, Date).self)
                }
                // Both fall at midnight (the end of a day): held by the quiet hours until 08:00.
                hotline.clock.set(warn.addingTimeInterval(60))
                #expect(try await Self.send(hotline, sms) == 0)
                hotline.clock.set(Self.at("2026-03-03T08:00:00+08:00"))
                #expect(try await Self.send(hotline, sms) == 1)
                #expect(gateway.taken().map(\.kind) == ["sign_warning"])
                #expect(try await Self.send(hotline, sms) == 0, "the yellow card reminds once")
                hotline.clock.set(due.addingTimeInterval(60))
                _ = try await UrgingLadder.sweep(database: hotline.database, at: hotline.clock.now(), logger: TestDatabase.logger)
                #expect(try await Self.send(hotline, sms) == 0)
                hotline.clock.set(Self.at("2026-03-04T08:00:00+08:00"))
                #expect(try await Self.send(hotline, sms) == 1)
                let urged = gateway.taken()
                #expect(urged.map(\.kind) == ["urged"] && urged.map(\.to) == ["13900002222"])

                // The reply: its SMS and the survey, with a one-time link.
                try await hotline.step(number, "sign", as: "handler:housing")
                try await hotline.reply(number)
                #expect(try await Self.send(hotline, sms) == 2)
                let replied = gateway.taken()
                #expect(replied.map(\.kind) == ["replied", "survey"] && Set(replied.map(\.to)) == ["13900001111"])
                #expect(replied.first?.text.contains(unitName) == true)
                let survey = try #require(replied.last?.text)
                let link = try #require(survey.firstMatch(of: /https:\/\/12345\.example\.gov\.cn\/public\/ratings\/([A-Za-z0-9_-]{43})/))
                let path = "/public/ratings/\(link.1)"

                let page = try await hotline.request(.get, path)
                #expect(page.status == .ok && page.text.contains(number) && page.text.contains(unitName), "\(page.text)")
                #expect(!page.text.contains("1390000") && !page.text.contains("张三"))
                #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                let unknown = try await hotline.request(.get, "/public/ratings/\(String(repeating: "A", count: 43))")
                #expect(unknown.status == .notFound && unknown.text.contains(#"data-problem="not_found""#))
                // A rating with a question unanswered: the form again, with what was typed.
                let incomplete = try await hotline.form(path, "resolved=true&note=%E7%94%B5%E6%A2%AF%E5%B7%B2%E4%BF%AE")
                #expect(incomplete.status == .badRequest && incomplete.text.contains("请选择满意") && incomplete.text.contains("电梯已修"))
                #expect(try await hotline.view(number)["status"] as? String == "replied")
                let rated = try await hotline.form(path, "satisfaction=satisfied&resolved=true&note=")
                #expect(rated.status == .ok, "\(rated.text)")
                let view = try await hotline.view(number)
                #expect(view["status"] as? String == "closed" && view["closure"] as? String == "visited")
                let methods = (view["visits"] as? [[String: Any]] ?? []).compactMap { $0["method"] as? String }
                #expect(methods == ["sms"])
                let visits = try await hotline.sql { connection in
                    try await connection.query("SELECT method, visited_by IS NULL, satisfaction FROM visits", logger: TestDatabase.logger)
                        .collect().map { try $0.decode((String, Bool, String).self) }
                }
                #expect(visits.count == 1 && visits.first?.0 == "sms" && visits.first?.1 == true && visits.first?.2 == "satisfied")
                let timeline = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
                let visited = timeline.last { $0["kind"] as? String == "visited" }
                #expect((visited?["actor"] as? [String: Any])?["role"] as? String == "system")
                #expect((visited?["details"] as? [String: Any])?["method"] as? String == "sms")
                let again = try await hotline.form(path, "satisfaction=unsatisfied&resolved=false")
                #expect(again.status == .conflict && again.text.contains("已使用") && again.text.contains(#"data-problem="already_rated""#))
            }
        }
    }

    @Test func quietHoursHoldWhatIsNotUrgentUntilEightAndUrgentCasesGoAtOnce() async throws {
        let gateway = Gateway()
        try await gateway.application().test(.live) { live in
            let sms = Self.gateway(port: live.port!)
            try await withHotline(start: Self.at("2026-03-02T23:10:00+08:00"), secretsKey: WebhookTests.key) { hotline in
                let normal = try await hotline.fileCase()
                let urgent = try await hotline.fileCase(json(CaseBodies.make(urgency: "urgent", phone: "13700007777")))
                #expect(try await Self.send(hotline, sms) == 1)
                let night = gateway.taken()
                #expect(night.map(\.to) == ["13700007777"] && night.first?.text.contains(urgent) == true)
                let held = try await hotline.sql { connection in
                    try await connection.query("SELECT next_attempt_at, last_error FROM sms_messages WHERE status = 'queued'",
                                               logger: TestDatabase.logger).collect().map { try $0.decode((Date, String).self) }
                }
                #expect(held.map(\.0) == [Self.at("2026-03-03T08:00:00+08:00")] && held.first?.1 == "quiet hours")
                hotline.clock.set(Self.at("2026-03-03T07:59:00+08:00"))
                #expect(try await Self.send(hotline, sms) == 0)
                hotline.clock.set(Self.at("2026-03-03T08:00:00+08:00"))
                #expect(try await Self.send(hotline, sms) == 1)
                let morning = gateway.taken()
                #expect(morning.map(\.to) == ["13812345678"] && morning.first?.text.contains(normal) == true)

                // Replied, reopened and replied again in the night: only the later reply's survey goes.
                hotline.clock.set(Self.at("2026-03-03T22:30:00+08:00"))
                try await hotline.dispatch(normal)
                try await hotline.step(normal, "sign", as: "handler:housing")
                try await hotline.reply(normal)
                try await hotline.visit(normal, satisfaction: "unsatisfied", resolved: false)
                try await hotline.step(normal, "reopen", as: "dispatcher", body: #"{"reason": "未解决"}"#)
                try await hotline.reply(normal)
                hotline.clock.set(Self.at("2026-03-04T08:00:00+08:00"))
                _ = try await Self.send(hotline, sms)
                let kinds = gateway.taken().map(\.kind).sorted()
                #expect(kinds == ["replied", "replied", "survey"], "\(kinds)")
                let skipped = try await hotline.sql { connection in
                    try await connection.query("SELECT count(*) FROM sms_messages WHERE kind = 'survey' AND status = 'skipped'",
                                               logger: TestDatabase.logger).collect().first!.decode(Int.self)
                }
                #expect(skipped == 1)
            }
        }
    }

    @Test func aPhoneGetsAtMostTheDailyCapAndAnAnonymousCitizenNone() async throws {
        let gateway = Gateway()
        try await gateway.application().test(.live) { live in
            let sms = Self.gateway(port: live.port!, cap: 2)
            try await withHotline(secretsKey: WebhookTests.key) { hotline in
                var numbers: [String] = []
                for _ in 0..<3 { numbers.append(try await hotline.fileCase()) }
                _ = try await hotline.fileCase(CaseBodies.anonymousReport())
                _ = try await hotline.fileCase(json(CaseBodies.make(phone: nil)))
                // An anonymous citizen, and one who gave no phone, are sent nothing: nothing queued.
                #expect(try await hotline.count("sms_messages") == 3)
                #expect(try await Self.send(hotline, sms) == 2)
                let first = gateway.taken().map(\.text)
                #expect(first.count == 2 && first[0].contains(numbers[0]) && first[1].contains(numbers[1]))
                let waiting = try await hotline.sql { connection in
                    try await connection.query("SELECT next_attempt_at, last_error FROM sms_messages WHERE status = 'queued'",
                                               logger: TestDatabase.logger).collect().map { try $0.decode((Date, String).self) }
                }
                #expect(waiting.map(\.0) == [Self.at("2026-03-03T08:00:00+08:00")] && waiting.first?.1 == "daily cap")
                // A failing gateway: retried, the attempts counted; no phone in the record or the log.
                hotline.clock.set(Self.at("2026-03-03T08:00:00+08:00"))
                gateway.status.withLockedValue { $0 = 503 }
                let capture = LogCapture()
                #expect(try await Self.send(hotline, sms, logger: capture.logger()) == 0)
                let errors = try await hotline.sql { connection in
                    try await connection.query("SELECT last_error FROM sms_messages WHERE attempts = 1 AND status = 'queued'",
                                               logger: TestDatabase.logger).collect().map { try $0.decode(String.self) }
                }
                #expect(errors == ["the receiver answered 503"])
                let phoneInLog = capture.all.filter { $0.contains("13812345678") }
                #expect(!capture.all.isEmpty && phoneInLog.isEmpty, "\(capture.all)")
                gateway.status.withLockedValue { $0 = 200 }
                hotline.clock.set(Self.at("2026-03-03T09:00:00+08:00"))
                #expect(try await Self.send(hotline, sms) == 1)
                let next = gateway.taken()
                #expect(next.count == 2 && next.last?.text.contains(numbers[2]) == true, "the failed try reached the gateway too")
                let record = try await hotline.sql { connection in
                    try await connection.query("SELECT status, attempts FROM sms_messages ORDER BY id", logger: TestDatabase.logger)
                        .collect().map { try $0.decode((String, Int32).self) }
                }
                #expect(record.map(\.0) == ["sent", "sent", "sent"] && record.map(\.1) == [1, 1, 2])
            }
        }
    }

    @Test func theTextsAreDataACityRewordsAndTurnsOffWithinWhatEachMayShow() async throws {
        let gateway = Gateway()
        try await gateway.application().test(.live) { live in
            let sms = Self.gateway(port: live.port!)
            try await withHotline(secretsKey: WebhookTests.key) { hotline in
                let refusals: [(String, String?, String)] = [
                    ("accepted", "您的工单{number}，联系电话{phone}", "{phone} is not something"),
                    ("survey", "请评价工单{number}", "must show {rating}"),
                    ("greeting", "您好", "must be one of"),
                ]
                for (kind, text, message) in refusals {
                    let refused = try await hotline.sql { connection in
                        do {
                            _ = try await SMSTemplates.set(kind, body: text, enabled: nil, on: connection, logger: TestDatabase.logger)
                            return "accepted"
                        } catch let error as HotlineError {
                            return "\(error.code.rawValue): \(error.fields.map(\.message))"
                        }
                    }
                    #expect(refused.hasPrefix("validation_failed") && refused.contains(message), "\(kind): \(refused)")
                }
                let reworded = try await hotline.sql { connection in
                    try await SMSTemplates.set("accepted", body: "【泰安12345】已受理：{number}", enabled: nil, on: connection, logger: TestDatabase.logger)
                }
                #expect(reworded.body == "【泰安12345】已受理：{number}" && reworded.enabled)
                let number = try await hotline.fileCase()
                #expect(try await Self.send(hotline, sms) == 1)
                #expect(gateway.taken().map(\.text) == ["【泰安12345】已受理：\(number)"])
                // A kind turned off queues nothing.
                _ = try await hotline.sql { connection in
                    try await SMSTemplates.set("accepted", body: nil, enabled: false, on: connection, logger: TestDatabase.logger)
                }
                _ = try await hotline.fileCase()
                #expect(try await hotline.count("sms_messages") == 1)
            }
        }
    }
}
