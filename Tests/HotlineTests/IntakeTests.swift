import Foundation
import HotlineCore
import Testing

@Suite("Intake") struct IntakeTests {
    @Test func anOperatorFilesAComplaintAndReadsItBack() async throws {
        try await withHotline { hotline in
            // act
            let created = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint())
            // verify
            #expect(created.status == .created, "\(created.text)")
            let body = try created.object()
            let number = try #require(body["number"] as? String)
            #expect(number == "20260302000001")
            #expect(body["status"] as? String == "accepted")
            #expect(body["accepted_at"] as? String == "2026-03-02T09:00:00+08:00")
            let read = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "operator")
            #expect(read.status == .ok)
            let citizen = try #require(try read.object()["citizen"] as? [String: Any])
            #expect(citizen["name"] as? String == "张**")
            #expect(citizen["phone"] as? String == "138****5678")
            #expect(try read.object()["subject"] as? String == "小区电梯停运一周无人维修")
        }
    }

    /// The lifecycle table lets the center (and an exchange client) file a case; a sub-center's
    /// dispatcher, a dispatcher by role, does not: it works its unit's cases only.
    @Test func aSubCentersDispatcherCannotFileACase() async throws {
        try await withHotline { hotline in
            let cases = try await hotline.count("cases")
            let refused = try await hotline.request(.post, "/api/v1/cases", as: "dispatcher:taishan", body: CaseBodies.complaint())
            #expect(refused.status == .forbidden, "\(refused.status) \(refused.text)")
            #expect(try await hotline.count("cases") == cases)
            let center = try await hotline.request(.post, "/api/v1/cases", as: "dispatcher", body: CaseBodies.complaint())
            #expect(center.status == .created)
        }
    }

    /// POST answers with the case built from what it stored, without reading it back: it must
    /// be what GET answers (less the similar cases only intake lists), for every kind of citizen and
    /// both intake roles.
    @Test func theAnswerToAnIntakeIsWhatReadingTheCaseGives() async throws {
        // A clock between whole seconds and microseconds, as a real one is.
        try await withHotline(start: TestHotline.start.addingTimeInterval(0.987_654_321)) { hotline in
            let article = try await KnowledgeTests.publish(hotline, ["unit": "hrss", "title": "养老保险缴费基数", "body": "缴费基数在规定范围内自选。"])
            var located = CaseBodies.make()
            located["location"] = ["address": "泰山区红门路1号", "region": "taishan", "latitude": 36.194_736_521, "longitude": 117.129_834_211]
            let bodies: [(role: String, body: [String: Any])] = [
                ("operator", CaseBodies.make()),
                ("dispatcher", located),
                ("operator", CaseBodies.make(type: "report", confidential: true)),
                ("operator", CaseBodies.make(type: "report", name: nil, phone: nil, anonymous: true, consent: false)),
                ("dispatcher", CaseBodies.make(urgency: "urgent", region: nil, name: nil, consent: false, channel: "wechat")),
                ("operator", CaseBodies.make(
                    type: "consultation", category: "social-security.pension", subject: "养老保险缴费基数怎么选",
                    directAnswer: ["text": "缴费基数在规定范围内自选。", "article_ids": [article]])),
            ]
            for (role, body) in bodies {
                let created = try await hotline.request(.post, "/api/v1/cases", as: role, body: json(body))
                #expect(created.status == .created, "\(created.text)")
                let number = try #require(try created.object()["number"] as? String)
                let read = try await hotline.request(.get, "/api/v1/cases/\(number)", as: role)
                #expect(read.status == .ok)
                // Less the similar cases, which only the answer to intake carries (DOMAIN §15).
                var answer = try created.object()
                #expect(answer.removeValue(forKey: "similar") is [Any])
                let sorted = { (object: [String: Any]) in
                    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
                }
                let (answered, given) = (try sorted(answer), try sorted(try read.object()))
                #expect(answered == given)
            }
        }
    }

    @Test func numbersFollowTheShanghaiDayAndItsSequence() async throws {
        // 2026-03-02T23:30+08:00 is still the 2nd in Shanghai; 00:10 the next day starts at 1 again.
        try await withHotline(start: Timestamp.parse("2026-03-02T15:30:00Z")!) { hotline in
            var numbers: [String] = []
            for _ in 0..<3 {
                numbers.append(try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint())
                    .object()["number"] as! String)
            }
            hotline.clock.advance(by: 40 * 60)
            numbers.append(try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint())
                .object()["number"] as! String)
            #expect(numbers == ["20260302000001", "20260302000002", "20260302000003", "20260303000001"])
        }
    }

    /// A prepared statement is typed by its first call on a connection: a value sent as NULL then
    /// (a case whose text holds no identity has no center vector; a similar-case query without a
    /// text has no terms) left PostgreSQL to infer the type from its cast, and the next call's
    /// text arrived as a binary tsvector or tsquery: a 500 for the case whose description gives
    /// the citizen's number (found by schemathesis). Both statements, one connection, in that order.
    @Test func aPreparedStatementFirstCalledWithNullsTakesTextAfter() async throws {
        try await withHotline { hotline in
            let logger = TestDatabase.logger
            let operatorId = try await hotline.sql { connection in
                try await connection.query("SELECT id FROM users WHERE role = 'operator' LIMIT 1", logger: logger).collect()[0].decode(Int64.self)
            }
            let staff = Staff(id: operatorId, role: .operator, unit: nil)
            let plain = try JSONDecoder().decode(NewCase.self, from: Data(CaseBodies.complaint().utf8))
            var identified = plain
            identified.description = "3号楼电梯停运，回电13812345678。"
            let now = hotline.clock.now()
            let numbers = try await hotline.sql { connection in
                var numbers: [String] = []
                for input in [plain, identified] {
                    try await connection.query("BEGIN", logger: logger)
                    numbers.append(try await Intake.accept(input, by: staff, at: now, on: connection, logger: logger).number)
                    try await connection.query("COMMIT", logger: logger)
                }
                _ = try await SimilarCases.find(SimilarCases.Query(phone: "13812345678"), for: staff, at: now, on: connection, logger: logger)
                return numbers + (try await SimilarCases.find(
                    SimilarCases.Query(category: "housing.property", region: "taishan", text: "电梯停运"),
                    for: staff, at: now, on: connection, logger: logger).map(\.number))
            }
            #expect(numbers.count == 4, "\(numbers)")
        }
    }

    /// No row is held by one intake until its COMMIT for the next to wait on (issue 15): an
    /// intake whose transaction is still open holds up no other intake of its day.
    @Test func anOpenIntakeHoldsUpNoOtherIntakeOfItsDay() async throws {
        try await withHotline { hotline in
            _ = try await hotline.fileCase()  // the day has begun numbering
            let logger = TestDatabase.logger
            let operatorId = try await hotline.sql { connection in
                try await connection.query("SELECT id FROM users WHERE role = 'operator' LIMIT 1", logger: logger).collect()[0].decode(Int64.self)
            }
            let staff = Staff(id: operatorId, role: .operator, unit: nil)
            let input = try JSONDecoder().decode(NewCase.self, from: Data(CaseBodies.complaint().utf8))
            let now = hotline.clock.now()
            let numbers = try await hotline.database.transaction(logger: logger) { first in
                let held = try await Intake.accept(input, by: staff, at: now, on: first, logger: logger)
                // While the first is open: a wait for any of its rows fails after the lock timeout
                // (a detector of waiting, not a measure of speed).
                let other = try await hotline.database.transaction(logger: logger) { second in
                    try await second.query("SET LOCAL lock_timeout = '5s'", logger: logger)
                    return try await Intake.accept(input, by: staff, at: now, on: second, logger: logger)
                }
                return [held.number, other.number]
            }
            let ofTheDay = numbers.filter { $0.hasPrefix("20260302") && $0.count == 14 }
            #expect(numbers[0] < numbers[1], "\(numbers)")
            #expect(ofTheDay.count == 2)
        }
    }

    /// The first intakes of a day, all at once: one makes the day's base, each gets a number of
    /// the day of its own.
    @Test func theFirstIntakesOfADayAtOnceEachGetANumber() async throws {
        try await withHotline(start: Timestamp.parse("2026-03-03T00:00:01+08:00")!) { hotline in
            let tokens = try await ConcurrencyTests.tokens(hotline, 12, role: .operator, unit: nil)
            let outcomes = try await ConcurrencyTests.race(hotline, "/api/v1/cases", body: CaseBodies.complaint(), tokens: tokens)
            #expect(ConcurrencyTests.count(outcomes, status: 201) == 12, "\(outcomes)")
            var numbers: [String] = []
            for outcome in outcomes {
                let object = try JSONSerialization.jsonObject(with: Data(outcome.text.utf8)) as? [String: Any]
                numbers.append(object?["number"] as? String ?? "")
            }
            let ofTheDay = numbers.filter { $0.hasPrefix("20260303") }
            #expect(Set(numbers).count == 12)
            #expect(ofTheDay.count == 12)
            // Unique and increasing, not gapless: the next is above every one of them.
            let next = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint()).object()["number"] as! String
            let below = numbers.filter { $0 < next }
            #expect(below.count == 12)
        }
    }

    @Test func aConsultationAnsweredDirectlyClosesAtOnce() async throws {
        try await withHotline { hotline in
            let first = try await KnowledgeTests.publish(hotline, ["unit": "hrss", "title": "灵活就业人员参加职工养老保险", "body": "可通过爱山东APP办理参保登记。"])
            let second = try await KnowledgeTests.publish(hotline, ["unit": "hrss", "title": "养老保险缴费基数", "body": "缴费基数在规定范围内自选。"])
            let body = json(CaseBodies.make(
                type: "consultation", category: "social-security.pension", subject: "灵活就业人员如何缴纳养老保险",
                directAnswer: ["text": "可通过爱山东APP办理灵活就业人员参保登记。", "article_ids": [second, first]]
            ))
            let created = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body)
            #expect(created.status == .created, "\(created.text)")
            let object = try created.object()
            #expect(object["status"] as? String == "closed")
            #expect(object["closure"] as? String == "direct_answer")
            #expect(object["closed_at"] as? String == "2026-03-02T09:00:00+08:00")
            let answer = try #require(object["direct_answer"] as? [String: Any])
            #expect(answer["article_ids"] as? [Int] == [second, first])
            let number = try #require(object["number"] as? String)
            let timeline = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "operator").items()
            let kinds = timeline.map { $0["kind"] as? String }
            #expect(kinds == ["accepted", "answered_directly"])
        }
    }

    @Test func onlyAConsultationIsAnsweredDirectly() async throws {
        try await withHotline { hotline in
            let body = json(CaseBodies.make(type: "complaint", directAnswer: ["text": "已答复"]))
            let response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body)
            #expect(response.status == .badRequest)
            #expect(response.problemCode == "validation_failed")
            let count = try await hotline.sql { try await $0.query("SELECT count(*) FROM cases", logger: TestDatabase.logger).collect().first!.decode(Int.self) }
            #expect(count == 0)
        }
    }

    @Test func theSameIdempotencyKeyMakesOneCaseAndGivesTheFirstAnswer() async throws {
        try await withHotline { hotline in
            let body = CaseBodies.complaint()
            let first = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body, headers: [.init("Idempotency-Key")!: "call-7781"])
            let again = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body, headers: [.init("Idempotency-Key")!: "call-7781"])
            #expect(first.status == .created)
            #expect(again.status == .created)
            #expect(first.text == again.text)
            #expect(again.headers[.init("Idempotency-Replayed")!] == "true")
            let other = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                  body: json(CaseBodies.make(subject: "另一件事")),
                                                  headers: [.init("Idempotency-Key")!: "call-7781"])
            #expect(other.status == .unprocessableContent)
            #expect(other.problemCode == "idempotency_key_reused")
            let count = try await hotline.sql { try await $0.query("SELECT count(*) FROM cases", logger: TestDatabase.logger).collect().first!.decode(Int.self) }
            #expect(count == 1)
        }
    }

    @Test func concurrentRetriesWithOneKeyMakeOneCase() async throws {
        try await withHotline { hotline in
            let body = CaseBodies.complaint()
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let r = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body,
                                                          headers: [.init("Idempotency-Key")!: "same"])
                        return "\(r.status.code) \(r.text)"
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(answers.count == 1, "\(answers)")
            #expect(answers.first?.hasPrefix("201") == true)
            let count = try await hotline.sql { try await $0.query("SELECT count(*) FROM cases", logger: TestDatabase.logger).collect().first!.decode(Int.self) }
            #expect(count == 1)
        }
    }

    @Test func anEmergencyIsTransferredOnceAndOnlyFromAccepted() async throws {
        try await withHotline { hotline in
            let number = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                   body: json(CaseBodies.make(type: "help", urgency: "urgent")))
                .object()["number"] as! String
            let transferred = try await hotline.request(.post, "/api/v1/cases/\(number)/transfer", as: "operator",
                                                        body: #"{"service": "120", "note": "老人晕倒，已转120"}"#)
            #expect(transferred.status == .ok, "\(transferred.text)")
            let object = try transferred.object()
            #expect(object["closure"] as? String == "emergency_transfer")
            #expect((object["transfer"] as? [String: Any])?["service"] as? String == "120")
            let again = try await hotline.request(.post, "/api/v1/cases/\(number)/transfer", as: "operator",
                                                  body: #"{"service": "110"}"#)
            #expect(again.status == .conflict)
            #expect(again.problemCode == "invalid_transition")
            #expect(try again.object()["detail"] as? String == "cannot transfer a case that is closed")
            let open = try await hotline.fileCase()
            let unknown = try await hotline.request(.post, "/api/v1/cases/\(open)/transfer", as: "operator",
                                                    body: #"{"service": "999"}"#)
            #expect(unknown.status == .badRequest)
            #expect(try await hotline.view(open)["status"] as? String == "accepted")
        }
    }

    @Test func aWithdrawnCaseClosesWithItsReason() async throws {
        try await withHotline { hotline in
            let number = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint())
                .object()["number"] as! String
            let missingReason = try await hotline.request(.post, "/api/v1/cases/\(number)/withdraw", as: "operator", body: "{}")
            #expect(missingReason.status == .badRequest)
            let withdrawn = try await hotline.request(.post, "/api/v1/cases/\(number)/withdraw", as: "operator",
                                                      body: #"{"reason": "市民来电表示问题已自行解决"}"#)
            #expect(withdrawn.status == .ok)
            #expect(try withdrawn.object()["closure"] as? String == "withdrawn")
            let timeline = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
            let kinds = timeline.map { $0["kind"] as? String }
            #expect(kinds == ["accepted", "withdrawn"])
            #expect((timeline[1]["details"] as? [String: Any])?["reason"] as? String == "市民来电表示问题已自行解决")
            let twice = try await hotline.request(.post, "/api/v1/cases/\(number)/withdraw", as: "operator",
                                                  body: #"{"reason": "again"}"#)
            #expect(twice.status == .conflict)
        }
    }
}

@Suite("Case lists") struct CaseListTests {
    @Test func listsFilterAndPageWithACursor() async throws {
        try await withHotline { hotline in
            // setup: five cases over two days
            let water = json(CaseBodies.make(type: "help", category: "utilities.water", subject: "红门路停水两天"))
            let noise = json(CaseBodies.make(type: "complaint", category: "environment.noise", subject: "夜间施工噪音扰民"))
            var numbers: [String] = []
            for body in [water, noise, noise] { numbers.append(try await hotline.fileCase(body)) }
            hotline.clock.advance(by: 86_400)
            for body in [water, noise] { numbers.append(try await hotline.fileCase(body)) }

            // act and verify: pages of two, newest first, cursors to the end
            var seen: [String] = []
            var path = "/api/v1/cases?limit=2"
            var pages = 0
            while true {
                let page = try await hotline.request(.get, path, as: "dispatcher").object()
                seen += (page["items"] as! [[String: Any]]).map { $0["number"] as! String }
                pages += 1
                guard let cursor = page["next_cursor"] as? String else { break }
                path = "/api/v1/cases?limit=2&cursor=\(cursor)"
            }
            #expect(pages == 3)
            #expect(seen == numbers.reversed())

            let helps = try await hotline.request(.get, "/api/v1/cases?type=help", as: "operator").items()
            let helpNumbers = helps.map { $0["number"] as? String }
            #expect(helpNumbers == [numbers[3], numbers[0]])
            let utilities = try await hotline.request(.get, "/api/v1/cases?category=utilities", as: "operator").items()
            #expect(utilities.count == 2)
            let text = try await hotline.request(.get, "/api/v1/cases?q=%E5%99%AA%E9%9F%B3", as: "operator").items()  // 噪音
            #expect(text.count == 3)
            let firstDay = try await hotline.request(.get, "/api/v1/cases?accepted_from=2026-03-02&accepted_to=2026-03-02", as: "operator").items()
            #expect(firstDay.count == 3)
            let secondDay = try await hotline.request(.get, "/api/v1/cases?accepted_from=2026-03-03T00:00:00%2B08:00", as: "operator").items()
            #expect(secondDay.count == 2)
            let byNumber = try await hotline.request(.get, "/api/v1/cases?q=\(numbers[1])", as: "operator").items()
            let foundNumbers = byNumber.map { $0["number"] as? String }
            #expect(foundNumbers == [numbers[1]])
            // A list never carries the citizen.
            let all = try await hotline.request(.get, "/api/v1/cases", as: "operator")
            #expect(!all.text.contains("5678") && !all.text.contains("张"))
        }
    }
}
