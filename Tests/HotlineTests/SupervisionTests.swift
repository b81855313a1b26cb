import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Supervision (DOMAIN §7): cards, the urging ladder, escalation, accountability.
@Suite("Supervision") struct SupervisionTests {
    /// The urgings and escalations written so far, as "step:level" (level 4: escalation), in order.
    static func ladder(_ hotline: TestHotline, _ number: String) async throws -> [String] {
        try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items().compactMap { event in
            let details = event["details"] as? [String: Any] ?? [:]
            let step = details["step"] as? String ?? "?"
            switch event["kind"] as? String {
            case "urged": return "\(step):\(details["level"] as? Int ?? 0)"
            case "escalated": return "\(step):escalated"
            default: return nil
            }
        }
    }

    @Test func theLadderClimbsOnceAtEachThresholdAndStopsWhenTheStepIsDone() async throws {
        try await withHotline { hotline in
            // setup: dispatched Monday 2 March 09:00; sign due Tuesday 3rd 23:59:59, reply Monday 9th
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            // act and verify
            try await hotline.sweep(at: "2026-03-03T23:59:59+08:00")
            #expect(try await Self.ladder(hotline, number).isEmpty, "at the deadline's second the step is still on time")
            let first = try await hotline.sweep(at: "2026-03-04T00:00:00+08:00")
            #expect(first["urgings"] as? Int == 1)
            #expect(try await Self.ladder(hotline, number) == ["sign:1"])
            let urged = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "handler:housing").items().last
            #expect(urged?["kind"] as? String == "urged")
            #expect(urged?["unit"] as? String == "housing")
            #expect((urged?["actor"] as? [String: Any])?["role"] as? String == "system")
            #expect((urged?["details"] as? [String: Any])?["due"] as? String == "2026-03-03T23:59:59+08:00")
            for _ in 0..<3 { try await hotline.sweep(at: "2026-03-04T18:00:00+08:00") }
            #expect(try await Self.ladder(hotline, number) == ["sign:1"])
            try await hotline.sweep(at: "2026-03-05T00:00:01+08:00")   // end of Wednesday passed
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2"])
            try await hotline.sweep(at: "2026-03-06T00:00:01+08:00")   // end of Thursday
            try await hotline.sweep(at: "2026-03-06T23:00:00+08:00")
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2", "sign:3"])
            try await hotline.sweep(at: "2026-03-07T00:00:01+08:00")   // one working day after the third
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2", "sign:3", "sign:escalated"])
            let escalations = try await hotline.request(.get, "/api/v1/supervision/escalations", as: "manager").items()
            #expect(escalations.count == 1)
            #expect(escalations.first?["unit"] as? String == "housing")
            #expect(escalations.first?["urgings"] as? Int == 3)
            #expect(escalations.first?["working_days_overdue"] as? Int == 3)
            // Signing (late) ends the sign ladder; the reply deadline has its own.
            try await hotline.step(number, "sign", as: "handler:housing")
            try await hotline.sweep(at: "2026-03-10T00:00:01+08:00")
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2", "sign:3", "sign:escalated", "reply:1"])
            #expect(try await hotline.count("urgings") == 4)
        }
    }

    @Test func overTheSpringFestivalTheLadderCountsWorkingDays() async throws {
        try await withHotline(start: Timestamp.parse("2026-02-12T10:00:00+08:00")!) { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)  // sign due Friday the 13th
            // Saturday the 14th is a make-up working day: urging 2 falls at its end.
            try await hotline.sweep(at: "2026-02-14T12:00:00+08:00")
            #expect(try await Self.ladder(hotline, number) == ["sign:1"])
            try await hotline.sweep(at: "2026-02-15T00:00:01+08:00")
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2"])
            // Nothing through the holiday.
            try await hotline.sweep(at: "2026-02-23T23:00:00+08:00")
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2"])
            try await hotline.sweep(at: "2026-02-25T00:00:01+08:00")
            #expect(try await Self.ladder(hotline, number) == ["sign:1", "sign:2", "sign:3"])
            try await hotline.sweep(at: "2026-02-26T00:00:01+08:00")
            #expect(try await Self.ladder(hotline, number).last == "sign:escalated")
        }
    }

    @Test func aSweepAfterALongPauseCatchesUpEveryLevelOnce() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            let report = try await hotline.sweep(at: "2026-03-20T09:00:00+08:00")
            // sign: 3 urgings and the escalation; reply (due the 9th): the same.
            #expect(report["urgings"] as? Int == 6)
            #expect(report["escalations"] as? Int == 2)
            #expect(try await Self.ladder(hotline, number).count == 8)
            let again = try await hotline.sweep(at: "2026-03-25T09:00:00+08:00")
            #expect(again["urgings"] as? Int == 0 && again["escalations"] as? Int == 0)
        }
    }

    @Test func aReopenedReplyHasALadderOfItsOwn() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            hotline.clock.set(Timestamp.parse("2026-03-10T10:00:00+08:00")!)  // reply was due the 9th
            try await hotline.sweep(at: "2026-03-10T10:00:00+08:00")
            try await hotline.reply(number)
            try await hotline.visit(number, satisfaction: "unsatisfied", resolved: false)
            try await hotline.step(number, "reopen", as: "dispatcher", body: #"{"reason": "未解决"}"#)  // new reply due 17th
            try await hotline.sweep(at: "2026-03-18T00:00:01+08:00")
            #expect(try await Self.ladder(hotline, number) == ["reply:1", "reply:1"])
            #expect(try await hotline.count("urgings") == 2)
        }
    }

    @Test func twoInstancesSweepingAtOnceWriteEachLevelOnce() async throws {
        let name = try await TestDatabase.fresh()
        let configuration = try TestDatabase.configuration(database: name)
        let logger = TestDatabase.logger
        // setup: 120 cases whose sign and reply deadlines are long past, and an admin to sweep
        let token = try await TestDatabase.withClient(configuration) { client in
            let database = Database(client: client)
            return try await database.transaction(logger: logger) { connection in
                try await DemoOrganisation.install(on: connection, logger: logger)
                let dispatcher = try await Users.create(NewUser(name: "派", role: .dispatcher, unit: nil), on: connection, logger: logger)
                let staff = Staff(id: dispatcher.id, role: .dispatcher, unit: nil)
                let start = Timestamp.parse("2026-03-02T09:00:00+08:00")!
                for _ in 0..<120 {
                    let input = NewCase(channel: .phone, type: .complaint, category: "housing.property", subject: "电梯",
                                        description: "电梯停运", citizen: CitizenInput(phone: "13800000000"))
                    let accepted = try await Intake.accept(input, by: staff, at: start, on: connection, logger: logger)
                    try await Dispatch.dispatch(accepted.number, Dispatch.Request(leadUnit: "housing"), by: staff, at: start,
                                                on: connection, logger: logger)
                }
                let admin = try await Users.create(NewUser(name: "管", role: .admin, unit: nil), on: connection, logger: logger)
                return try await Users.issueToken(forUser: admin.id, on: connection, logger: logger).token
            }
        }
        let now = Timestamp.parse("2026-03-20T09:00:00+08:00")!
        func instance() async throws -> some ApplicationProtocol {
            try await buildApplication(HotlineConfiguration(database: try TestDatabase.serviceConfiguration(database: name),
                                                            migrations: TestDatabase.migrator,
                                                            maxDatabaseConnections: 6, testClock: SettableClock(now)), logger: logger)
        }
        let first = try await instance()
        let second = try await instance()
        // act: the two instances sweep eight times each, all at once
        let reports = try await first.test(.router) { one in
            try await second.test(.router) { two in
                try await withThrowingTaskGroup(of: SweepReport.self) { group in
                    for client in [one, two] as [any TestClientProtocol] {
                        for _ in 0..<8 {
                            group.addTask {
                                let response = try await client.execute(uri: "/api/v1/test/sweep", method: .post,
                                                                        headers: [.authorization: "Bearer \(token)"])
                                return try JSONDecoder().decode(SweepReport.self, from: Data(buffer: response.body))
                            }
                        }
                    }
                    return try await group.reduce(into: [SweepReport]()) { $0.append($1) }
                }
            }
        }
        #expect(reports.count == 16)
        // verify: 120 cases × 2 deadlines × 3 urgings, and one escalation per deadline
        var written = (urgings: 0, escalations: 0)
        for report in reports {
            written.urgings += report.urgings
            written.escalations += report.escalations
        }
        #expect(written.urgings == 720)
        #expect(written.escalations == 240)
        try await TestDatabase.withClient(configuration) { client in
            let counts = try await client.query("""
                SELECT (SELECT count(*) FROM urgings), (SELECT count(DISTINCT (deadline_id, level)) FROM urgings),
                       (SELECT count(*) FROM escalations), (SELECT count(*) FROM case_events WHERE kind = 'urged')
                """, logger: logger)
            for try await (urgings, distinct, escalations, events) in counts.decode((Int, Int, Int, Int).self) {
                #expect(urgings == 720)
                #expect(distinct == 720)
                #expect(escalations == 240)
                #expect(events == 720)
            }
        }
        try await TestDatabase.drop(name)
    }

    @Test func warningsShowCardsSoonestFirstAndAUnitSeesItsOwn() async throws {
        try await withHotline { hotline in
            let housing = try await hotline.fileCase()
            try await hotline.dispatch(housing)                       // sign due Tue 3rd
            hotline.clock.set(Timestamp.parse("2026-03-02T15:00:00+08:00")!)
            let water = try await hotline.fileCase(json(CaseBodies.make(type: "help", urgency: "urgent", category: "utilities.water")))
            try await hotline.dispatch(water, lead: "water")          // urgent: sign due 15:15 (category: 15 minutes)
            hotline.clock.set(Timestamp.parse("2026-03-02T15:12:00+08:00")!)
            var warnings = try await hotline.request(.get, "/api/v1/supervision/warnings", as: "supervisor").items()
            // housing's sign warns from the end of Monday; water's from 75 % of 15 minutes
            var pairs = warnings.map { "\($0["number"] as! String)/\($0["step"] as! String)/\($0["card"] as! String)" }
            #expect(pairs == ["\(water)/sign/yellow"])
            hotline.clock.set(Timestamp.parse("2026-03-03T09:30:00+08:00")!)  // water's 24-hour reply: 75 % at 09:00
            warnings = try await hotline.request(.get, "/api/v1/supervision/warnings", as: "dispatcher").items()
            pairs = warnings.map { "\($0["number"] as! String)/\($0["step"] as! String)/\($0["card"] as! String)" }
            #expect(pairs == ["\(water)/sign/red", "\(water)/reply/yellow", "\(housing)/sign/yellow"])
            let own = try await hotline.request(.get, "/api/v1/supervision/warnings", as: "handler:housing").items()
            let ownUnits = own.map { $0["unit"] as? String }
            #expect(ownUnits == ["housing"])
            #expect(try await hotline.request(.get, "/api/v1/supervision/warnings", as: "admin").status == .forbidden)
        }
    }

    @Test func dispatchersUrgeAndEscalateByHandAndTheSweepDoesNotRepeatIt() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            try await hotline.step(number, "urge", as: "dispatcher",
                                   body: try await hotline.supervising(number, step: "sign", ["note": "请尽快签收"]), expect: 201)
            // By hand, only a step already late is escalated.
            let early = try await hotline.request(.post, "/api/v1/cases/\(number)/escalate", as: "dispatcher",
                                                  body: try await hotline.supervising(number, step: "sign", ["reason": "群众反映强烈"]))
            #expect(early.status == .unprocessableContent)
            #expect(early.problemCode == "step_not_late")
            hotline.clock.set(Timestamp.parse("2026-03-04T00:00:00+08:00")!)  // the sign deadline passed a second ago
            try await hotline.step(number, "escalate", as: "dispatcher",
                                   body: try await hotline.supervising(number, step: "sign", ["reason": "群众反映强烈"]), expect: 201)
            let twice = try await hotline.request(.post, "/api/v1/cases/\(number)/escalate", as: "dispatcher",
                                                  body: try await hotline.supervising(number, step: "sign", ["reason": "再次"]))
            #expect(twice.status == .conflict)
            #expect(twice.problemCode == "already_escalated")
            // The escalation names its step: the reply, not late, is not escalated with it.
            let reply = try await hotline.request(.post, "/api/v1/cases/\(number)/escalate", as: "dispatcher",
                                                  body: try await hotline.supervising(number, step: "reply", ["reason": "再次"]))
            #expect(reply.problemCode == "step_not_late")
            let byOperator = try await hotline.request(.post, "/api/v1/cases/\(number)/urge", as: "operator", body: "{}")
            #expect(byOperator.status == .forbidden)
            let report = try await hotline.sweep(at: "2026-03-07T00:00:01+08:00")
            // the ladder's three urgings still happen; the sign step is already escalated
            #expect(report["urgings"] as? Int == 3)
            #expect(report["escalations"] as? Int == 0)
            let escalations = try await hotline.request(.get, "/api/v1/supervision/escalations", as: "operator").items()
            #expect(escalations.count == 1)
            #expect(escalations.first?["manual"] as? Bool == true)
            #expect(escalations.first?["urgings"] as? Int == 4)
            #expect(try await hotline.request(.get, "/api/v1/supervision/escalations", as: "handler:housing").status == .forbidden)
        }
    }

    @Test func accountabilityListsTheMonthsEscalationsAndRepeatOffenders() async throws {
        try await withHotline { hotline in
            for lead in ["housing", "housing", "water"] {
                let number = try await hotline.fileCase()
                try await hotline.dispatch(number, lead: lead)
            }
            try await hotline.sweep(at: "2026-03-07T00:00:01+08:00")  // each sign step escalated
            let report = try await hotline.request(.get, "/api/v1/supervision/accountability?period=2026-03", as: "supervisor").object()
            #expect((report["escalations"] as? [Any])?.count == 3)
            let units = report["units"] as? [[String: Any]] ?? []
            #expect(units.count == 1)
            #expect(units.first?["unit"] as? String == "housing")
            #expect(units.first?["escalations"] as? Int == 2)
            let april = try await hotline.request(.get, "/api/v1/supervision/accountability?period=2026-04", as: "manager").object()
            #expect((april["escalations"] as? [Any])?.isEmpty == true)
            let bad = try await hotline.request(.get, "/api/v1/supervision/accountability?period=2026-13", as: "manager")
            #expect(bad.status == .badRequest)
            #expect(try await hotline.request(.get, "/api/v1/supervision/accountability?period=2026-03", as: "dispatcher").status == .forbidden)
        }
    }

    @Test func withoutTheFlagTheTestClockDoesNotExist() async throws {
        try await withHotline(testClockRoutes: false) { hotline in
            let put = try await hotline.request(.put, "/api/v1/test/clock", as: "admin", body: #"{"now": "2030-01-01T00:00:00+08:00"}"#)
            #expect(put.status == .notFound)
            #expect(try await hotline.request(.post, "/api/v1/test/sweep", as: "admin").status == .notFound)
        }
        try await withHotline { hotline in
            let byManager = try await hotline.request(.put, "/api/v1/test/clock", as: "manager", body: #"{"now": "2030-01-01T00:00:00+08:00"}"#)
            #expect(byManager.status == .forbidden)
            let set = try await hotline.request(.put, "/api/v1/test/clock", as: "admin", body: #"{"now": "2030-01-01T00:00:00Z"}"#)
            #expect(try set.object()["now"] as? String == "2030-01-01T08:00:00+08:00")
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
