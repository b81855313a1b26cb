import Foundation
import HotlineCore
import Testing

/// DOMAIN §5 "Rules that hold across the steps", each through the HTTP API. Every test here
/// failed on the code before the lifecycle table (4f113b4).
@Suite("Rules across the steps") struct LifecycleRulesTests {
    static func returnRequest(_ hotline: TestHotline, _ number: String) async throws -> Int {
        let view = try await hotline.step(number, "return-requests", as: "handler:housing",
                                          body: #"{"reason": "不属本单位职责"}"#, expect: 201)
        return try #require((view["return_requests"] as? [[String: Any]])?.last?["id"] as? Int)
    }

    static func reportLine(_ hotline: TestHotline, _ unit: String, period: String = "2026-03") async throws -> [String: Any] {
        AppraisalTests.line(try await hotline.request(.get, "/api/v1/appraisals/\(period)", as: "manager").object(), unit)
    }

    static func indicator(_ line: [String: Any], _ name: String) -> String {
        let value = (line["indicators"] as? [String: Any])?[name] as? [String: Any]
        return "\(value?["numerator"] as? Int ?? -1)/\(value?["denominator"] as? Int ?? -1)"
    }

    static func replyDue(_ view: [String: Any], _ unit: String = "housing") -> String? {
        view.due("reply", of: view.assignment(unit))
    }

    /// 1. While a return waits for review nothing is urged or escalated; approved, nothing of
    /// the assignment counts; rejected, the ladder catches up as if it had never paused.
    @Test func aPendingReturnPausesTheLadder() async throws {
        try await withHotline { hotline in
            let approved = try await hotline.fileCase()
            let rejected = try await hotline.fileCase()
            var requests: [String: Int] = [:]
            for number in [approved, rejected] {
                try await hotline.dispatch(number)  // Monday 2 March: sign due the 3rd, reply the 9th
                requests[number] = try await Self.returnRequest(hotline, number)
            }
            // A week on, long past the point where the sign step would have been escalated.
            let paused = try await hotline.sweep(at: "2026-03-10T09:00:00+08:00")
            #expect(paused["urgings"] as? Int == 0)
            #expect(paused["escalations"] as? Int == 0)
            let byHand = try await hotline.request(.post, "/api/v1/cases/\(rejected)/urge", as: "dispatcher",
                                                   body: try await hotline.supervising(rejected, step: "sign", ["note": "请签收"]))
            #expect(byHand.status == .conflict)
            #expect(byHand.problemCode == "return_pending")

            try await hotline.step(approved, "return-requests/\(requests[approved]!)/approve", as: "dispatcher",
                                   body: #"{"lead_unit": "environment"}"#)
            try await hotline.step(rejected, "return-requests/\(requests[rejected]!)/reject", as: "dispatcher",
                                   body: #"{"reason": "属本单位职责"}"#)
            // What fell due meanwhile is written at the next sweep: sign urgings 1–3, the sign
            // escalation, the reply's urging 1; for the rejected case only.
            let resumed = try await hotline.sweep(at: "2026-03-10T09:00:01+08:00")
            #expect(resumed["urgings"] as? Int == 4)
            #expect(resumed["escalations"] as? Int == 1)
            let ladder = try await hotline.kinds(approved).filter { $0 == "urged" || $0 == "escalated" }
            #expect(ladder.isEmpty)

            let housing = try await Self.reportLine(hotline, "housing")
            #expect(housing["escalations"] as? Int == 1)
            #expect(housing["overdue"] as? Int == 1)
            #expect(housing["unreasonable_returns"] as? Int == 1)
            #expect(Self.indicator(housing, "on_time_sign") == "0/1")
            let accountability = try await hotline.request(.get, "/api/v1/supervision/accountability?period=2026-03",
                                                           as: "supervisor").object()
            let listed = (accountability["escalations"] as? [[String: Any]] ?? []).map { $0["number"] as? String }
            #expect(listed == [rejected])
        }
    }

    /// 2. A request lapses with the deadline it asked about: it cannot move a reopen's deadline.
    @Test func anExtensionRequestLapsesWithItsDeadline() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            let asked = try await hotline.step(number, "extension-requests", as: "handler:housing",
                                               body: #"{"working_days": 3, "reason": "需协调相关部门"}"#, expect: 201)
            let id = try #require((asked["extension_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            try await hotline.reply(number)
            try await hotline.visit(number, satisfaction: "unsatisfied", resolved: false)
            hotline.clock.set(Timestamp.parse("2026-03-05T10:00:00+08:00")!)
            var view = try await hotline.step(number, "reopen", as: "operator", body: #"{"reason": "市民反映未解决"}"#)
            #expect(Self.replyDue(view) == "2026-03-12T23:59:59+08:00")
            #expect((view["extension_requests"] as? [[String: Any]])?.first?["status"] as? String == "lapsed")
            let late = try await hotline.request(.post, "/api/v1/cases/\(number)/extension-requests/\(id)/approve",
                                                 as: "dispatcher", body: "{}")
            #expect(late.status == .conflict)
            view = try await hotline.view(number)
            #expect(Self.replyDue(view) == "2026-03-12T23:59:59+08:00")

            // Left unreviewed past its deadline, a request lapses too.
            let other = try await hotline.caseInProgress(assists: [])
            let second = try await hotline.step(other, "extension-requests", as: "handler:housing",
                                                body: #"{"working_days": 2, "reason": "需协调相关部门"}"#, expect: 201)
            let secondId = try #require((second["extension_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            _ = try await hotline.sweep(at: "2026-03-14T10:00:00+08:00")  // its reply deadline, the 12th, has passed
            let unreviewed = try await hotline.request(.post, "/api/v1/cases/\(other)/extension-requests/\(secondId)/approve",
                                                       as: "dispatcher", body: "{}")
            #expect(unreviewed.status == .conflict)
            view = try await hotline.view(other)
            #expect((view["extension_requests"] as? [[String: Any]])?.first?["status"] as? String == "lapsed")
            #expect(Self.replyDue(view) == "2026-03-12T23:59:59+08:00")
        }
    }

    /// 3. A deadline that moves after it passed restarts its ladder from the new due time.
    @Test func aDeadlineThatMovesRestartsItsLadder() async throws {
        try await withHotline(start: Timestamp.parse("2026-12-28T10:00:00+08:00")!) { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            try await hotline.step(number, "sign", as: "handler:housing")
            #expect(Self.replyDue(try await hotline.view(number)) == "2027-01-04T23:59:59+08:00")  // 1 January on Mon–Fri
            #expect(try await hotline.sweep(at: "2027-01-05T00:00:01+08:00")["urgings"] as? Int == 1)
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                body: #"{"off_days": ["2027-01-01"], "make_up_working_days": []}"#)
            #expect(put.status == .ok)
            #expect(Self.replyDue(try await hotline.view(number)) == "2027-01-05T23:59:59+08:00")
            // Nothing is due before the new deadline; urging no. 1 of the new ladder when it passes.
            #expect(try await hotline.sweep(at: "2027-01-05T23:59:59+08:00")["urgings"] as? Int == 0)
            #expect(try await hotline.sweep(at: "2027-01-06T00:00:01+08:00")["urgings"] as? Int == 1)
            let urged = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
                .filter { $0["kind"] as? String == "urged" }
                .map { "\(($0["details"] as? [String: Any])?["level"] as? Int ?? 0)@\(($0["details"] as? [String: Any])?["due"] as? String ?? "")" }
            #expect(urged == ["1@2027-01-04T23:59:59+08:00", "1@2027-01-05T23:59:59+08:00"])
        }
    }

    /// 4. The return window is a deadline: provisional past the loaded calendar, recomputed on a load.
    @Test func theReturnWindowIsADeadline() async throws {
        try await withHotline(start: Timestamp.parse("2026-12-30T10:00:00+08:00")!) { hotline in
            let number = try await hotline.fileCase()
            var view = try await hotline.dispatch(number)
            var window = Self.due(view, "return")
            #expect(window?["due_at"] as? String == "2027-01-01T23:59:59+08:00")
            #expect(window?["provisional"] as? Bool == true)
            #expect(window?["card"] as? String == "none")
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                body: #"{"off_days": ["2027-01-01"], "make_up_working_days": []}"#)
            #expect(put.status == .ok)
            view = try await hotline.view(number)
            window = Self.due(view, "return")
            #expect(window?["due_at"] as? String == "2027-01-04T23:59:59+08:00")
            #expect(window?["provisional"] as? Bool == false)
            #expect(view.assignment("housing")?["return_until"] as? String == "2027-01-04T23:59:59+08:00")
            hotline.clock.set(Timestamp.parse("2027-01-04T10:00:00+08:00")!)
            _ = try await Self.returnRequest(hotline, number)
        }
    }

    /// 5. A master that closes without a reply releases its duplicates back to the center.
    @Test func aTransferredMasterReleasesItsDuplicates() async throws {
        try await withHotline { hotline in
            let master = try await hotline.fileCase()
            let duplicate = try await hotline.fileCase()
            try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": master]))
            try await hotline.step(master, "transfer", as: "operator", body: #"{"service": "110"}"#)
            let view = try await hotline.view(duplicate)
            #expect(view["status"] as? String == "accepted")
            #expect(view["merged_into"] is NSNull || view["merged_into"] == nil)
            #expect(try await hotline.kinds(duplicate).last == "unmerged")
            try await hotline.dispatch(duplicate)
        }
    }

    /// 6. Merging keeps what was missed; a deadline still running at the merge counts for nothing.
    @Test func mergingKeepsWhatWasMissed() async throws {
        try await withHotline { hotline in
            let master = try await hotline.fileCase()
            let late = try await hotline.fileCase()
            try await hotline.dispatch(late)  // sign due Tuesday 3 March
            hotline.clock.set(Timestamp.parse("2026-03-05T10:00:00+08:00")!)
            let early = try await hotline.fileCase()
            try await hotline.dispatch(early)
            for number in [late, early] {
                try await hotline.step(number, "merge", as: "dispatcher", body: json(["master": master]))
            }
            let housing = try await Self.reportLine(hotline, "housing")
            #expect(Self.indicator(housing, "on_time_sign") == "0/1")
            #expect(housing["overdue"] as? Int == 1)
            #expect(Self.indicator(housing, "on_time_reply") == "0/0")  // both replies were still running
        }
    }

    /// 7. A duplicate rated unsatisfied is reopened on its own, to the unit that gave the reply.
    @Test func aDuplicateRatedUnsatisfiedIsReopened() async throws {
        try await withHotline { hotline in
            let master = try await hotline.caseInProgress(assists: [])
            let duplicate = try await hotline.fileCase()
            try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": master]))
            try await hotline.reply(master)
            try await hotline.visit(duplicate, satisfaction: "unsatisfied", resolved: false)
            let view = try await hotline.step(duplicate, "reopen", as: "operator", body: #"{"reason": "市民反映未解决"}"#)
            #expect(view["status"] as? String == "in_progress")
            #expect(view["merged_into"] is NSNull || view["merged_into"] == nil)
            #expect(view.assignment("housing", role: "lead")?["status"] as? String == "signed")
            #expect(Self.replyDue(view) == "2026-03-09T23:59:59+08:00")
            #expect(try await hotline.view(master)["status"] as? String == "replied")
            try await hotline.reply(duplicate)
            #expect(Self.indicator(try await Self.reportLine(hotline, "housing"), "reopen") == "1/2")
        }
    }

    /// 8. Times are whole seconds: what was compared is what the API shows.
    @Test func anActionAtTheLastSecondIsOnTime() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            hotline.clock.set(Timestamp.parse("2026-03-03T23:59:59+08:00")!.addingTimeInterval(0.4))
            let view = try await hotline.step(number, "sign", as: "handler:housing")
            #expect(view.assignment("housing")?["signed_at"] as? String == "2026-03-03T23:59:59+08:00")
            let signed = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items().last
            #expect((signed?["details"] as? [String: Any])?["on_time"] as? Bool == true)
            #expect(Self.indicator(try await Self.reportLine(hotline, "housing"), "on_time_sign") == "1/1")
        }
    }

    /// 8. A category's time-limit override holds for its sub-categories, the nearest winning.
    @Test func timeLimitOverridesAreInherited() async throws {
        try await withHotline { hotline in
            let parent = try await hotline.request(.patch, "/api/v1/categories/environment", as: "admin", body: """
                {"time_limits": [{"urgency": "normal", "step": "reply", "amount": 3, "unit": "working_days"}]}
                """)
            #expect(parent.status == .ok, "\(parent.text)")
            let noise = try await hotline.fileCase(json(CaseBodies.make(category: "environment.noise")))
            #expect(Self.replyDue(try await hotline.dispatch(noise)) == "2026-03-05T23:59:59+08:00")
            let child = try await hotline.request(.patch, "/api/v1/categories/environment.noise", as: "admin", body: """
                {"time_limits": [{"urgency": "normal", "step": "reply", "amount": 2, "unit": "working_days"}]}
                """)
            #expect(child.status == .ok, "\(child.text)")
            let again = try await hotline.fileCase(json(CaseBodies.make(category: "environment.noise")))
            #expect(Self.replyDue(try await hotline.dispatch(again)) == "2026-03-04T23:59:59+08:00")
        }
    }

    /// 8. GET /cases filters by the lead unit, by what is overdue and by what was escalated.
    @Test func casesAreFilteredByLeadOverdueAndEscalated() async throws {
        try await withHotline { hotline in
            let late = try await hotline.fileCase()
            try await hotline.dispatch(late)
            let signed = try await hotline.fileCase()
            try await hotline.dispatch(signed, lead: "water")
            try await hotline.step(signed, "sign", as: "handler:water")
            let waiting = try await hotline.fileCase()
            hotline.clock.set(Timestamp.parse("2026-03-04T09:00:00+08:00")!)  // housing's sign deadline has passed
            func numbers(_ query: String) async throws -> [String] {
                try await hotline.request(.get, "/api/v1/cases?\(query)", as: "dispatcher").items().compactMap { $0["number"] as? String }
            }
            #expect(try await numbers("lead_unit=housing") == [late])
            #expect(try await numbers("lead_unit=water") == [signed])
            #expect(try await numbers("overdue=true") == [late])
            #expect(try await numbers("overdue=false") == [waiting, signed])
            #expect(try await numbers("escalated=true").isEmpty)
            try await hotline.step(late, "escalate", as: "dispatcher",
                                   body: try await hotline.supervising(late, step: "sign", ["reason": "逾期未签收"]), expect: 201)
            #expect(try await numbers("escalated=true") == [late])
            #expect(try await numbers("escalated=false&lead_unit=water") == [signed])
            let bad = try await hotline.request(.get, "/api/v1/cases?overdue=yes", as: "dispatcher")
            #expect(bad.status == .badRequest)
        }
    }

    static func due(_ view: [String: Any], _ step: String, _ unit: String = "housing") -> [String: Any]? {
        view.deadline(step, of: view.assignment(unit))
    }

    /// A calendar load recomputes every kind of deadline counted in working days: sign, reply,
    /// opinion (still capped by the reply), the return window and the visit.
    @Test func aCalendarLoadRecomputesEveryKindOfDeadline() async throws {
        try await withHotline(start: Timestamp.parse("2026-12-30T10:00:00+08:00")!) { hotline in
            let handled = try await hotline.fileCase()
            try await hotline.dispatch(handled, assists: ["environment"])
            let replied = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(replied)
            hotline.clock.set(Timestamp.parse("2026-12-31T10:00:00+08:00")!)
            let signing = try await hotline.fileCase()
            try await hotline.dispatch(signing)
            func dues() async throws -> [String] {
                let a = try await hotline.view(handled), b = try await hotline.view(replied), c = try await hotline.view(signing)
                let visit = b["visit_deadline"] as? [String: Any]
                return [Self.due(a, "reply"), Self.due(a, "return"), Self.due(a, "opinion", "environment"), visit, Self.due(c, "sign")]
                    .map { "\($0?["due_at"] as? String ?? "none") \($0?["provisional"] as? Bool ?? false)" }
            }
            // Before 2027 is loaded: Monday to Friday, provisional.
            #expect(try await dues() == [
                "2027-01-06T23:59:59+08:00 true", "2027-01-01T23:59:59+08:00 true", "2027-01-04T23:59:59+08:00 true",
                "2027-01-04T23:59:59+08:00 true", "2027-01-01T23:59:59+08:00 true",
            ])
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                body: #"{"off_days": ["2027-01-01"], "make_up_working_days": []}"#)
            #expect(put.status == .ok)
            #expect(try await dues() == [
                "2027-01-07T23:59:59+08:00 false", "2027-01-04T23:59:59+08:00 false", "2027-01-05T23:59:59+08:00 false",
                "2027-01-05T23:59:59+08:00 false", "2027-01-04T23:59:59+08:00 false",
            ])
        }
    }

    /// Urgent limits end to end (DOMAIN §6): sign in 30 minutes, return within 2 hours, the
    /// opinion in 12 hours, reply in 24, the visit within a working day, a reopen's reply in 24
    /// hours; cards at 75 % of an hour-based limit; urgings 2 and 3 at the end of each further
    /// working day, escalation one working day after the third.
    @Test func urgentLimitsEndToEnd() async throws {
        try await withHotline { hotline in  // Monday 2 March, 09:00
            let urgent = json(CaseBodies.make(urgency: "urgent"))
            let number = try await hotline.fileCase(urgent)
            let view = try await hotline.dispatch(number, assists: ["environment"])
            #expect(Self.due(view, "sign")?["due_at"] as? String == "2026-03-02T09:30:00+08:00")
            #expect(Self.due(view, "return")?["due_at"] as? String == "2026-03-02T11:00:00+08:00")
            #expect(Self.due(view, "reply")?["due_at"] as? String == "2026-03-03T09:00:00+08:00")
            #expect(Self.due(view, "opinion", "environment")?["due_at"] as? String == "2026-03-02T21:00:00+08:00")
            func card(at time: String) async throws -> String? {
                hotline.clock.set(Timestamp.parse(time)!)
                return Self.due(try await hotline.view(number), "sign")?["card"] as? String
            }
            #expect(try await card(at: "2026-03-02T09:22:29+08:00") == "none")
            #expect(try await card(at: "2026-03-02T09:22:30+08:00") == "yellow")
            #expect(try await card(at: "2026-03-02T09:30:00+08:00") == "yellow")
            #expect(try await card(at: "2026-03-02T09:30:01+08:00") == "red")
            hotline.clock.set(Timestamp.parse("2026-03-02T09:10:00+08:00")!)
            try await hotline.step(number, "sign", as: "handler:environment")
            try await hotline.step(number, "opinions", as: "handler:environment", body: #"{"text": "已配合核查。"}"#, expect: 201)

            // The lead never signs: its sign ladder, and the reply's when that falls due.
            #expect(try await hotline.sweep(at: "2026-03-02T09:30:00+08:00")["urgings"] as? Int == 0)
            #expect(try await hotline.sweep(at: "2026-03-02T09:30:01+08:00")["urgings"] as? Int == 1)
            #expect(try await hotline.sweep(at: "2026-03-03T23:59:59+08:00")["urgings"] as? Int == 1)  // the reply's no. 1
            #expect(try await hotline.sweep(at: "2026-03-04T00:00:00+08:00")["urgings"] as? Int == 1)  // the sign's no. 2
            _ = try await hotline.sweep(at: "2026-03-06T00:00:00+08:00")
            let ladder = try await SupervisionTests.ladder(hotline, number)
            #expect(ladder == ["sign:1", "reply:1", "sign:2", "reply:2", "sign:3", "reply:3", "sign:escalated"], "\(ladder)")

            // A return within two hours of the dispatch, to the second.
            AppraisalTests.at(hotline, "2026-03-09T09:00:00+08:00")
            let late = try await hotline.fileCase(urgent)
            let onTime = try await hotline.fileCase(urgent)
            for case_ in [late, onTime] { try await hotline.dispatch(case_) }
            AppraisalTests.at(hotline, "2026-03-09T11:00:01+08:00")
            let refused = try await hotline.request(.post, "/api/v1/cases/\(late)/return-requests", as: "handler:housing",
                                                    body: #"{"reason": "不属本单位职责"}"#)
            #expect(refused.problemCode == "deadline_passed")
            AppraisalTests.at(hotline, "2026-03-09T11:00:00+08:00")
            _ = try await Self.returnRequest(hotline, onTime)

            // The visit within a working day of the reply; a reopen's reply within 24 hours.
            let replied = try await hotline.fileCase(urgent)
            try await hotline.dispatch(replied)
            try await hotline.step(replied, "sign", as: "handler:housing")
            AppraisalTests.at(hotline, "2026-03-09T12:00:00+08:00")
            let answered = try await hotline.reply(replied)
            #expect((answered["visit_deadline"] as? [String: Any])?["due_at"] as? String == "2026-03-10T23:59:59+08:00")
            try await hotline.visit(replied, satisfaction: "unsatisfied", resolved: false)
            AppraisalTests.at(hotline, "2026-03-09T13:00:00+08:00")
            let reopened = try await hotline.step(replied, "reopen", as: "operator", body: #"{"reason": "市民反映未解决"}"#)
            #expect(Self.replyDue(reopened) == "2026-03-10T13:00:00+08:00")
        }
    }

    /// A calendar that confirms a provisional deadline does not move it: its ladder goes on.
    @Test func aConfirmedDeadlineKeepsItsLadder() async throws {
        try await withHotline(start: Timestamp.parse("2026-12-28T10:00:00+08:00")!) { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            try await hotline.step(number, "sign", as: "handler:housing")
            #expect(try await hotline.sweep(at: "2027-01-05T00:00:01+08:00")["urgings"] as? Int == 1)
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                body: #"{"off_days": ["2027-02-10"], "make_up_working_days": []}"#)
            #expect(put.status == .ok)
            let reply = Self.due(try await hotline.view(number), "reply")
            #expect(reply?["due_at"] as? String == "2027-01-04T23:59:59+08:00")
            #expect(reply?["provisional"] as? Bool == false)
            #expect(try await hotline.sweep(at: "2027-01-05T00:00:02+08:00")["urgings"] as? Int == 0)
            #expect(try await SupervisionTests.ladder(hotline, number) == ["reply:1"])
        }
    }

    /// A return still waiting when its case is merged away lapses; so does an assisting unit's
    /// part that was done.
    @Test func aMergeEndsWhatTheDuplicateStillHad() async throws {
        try await withHotline { hotline in
            let master = try await hotline.fileCase()
            let duplicate = try await hotline.caseInProgress()
            try await hotline.step(duplicate, "sign", as: "handler:environment")
            try await hotline.step(duplicate, "opinions", as: "handler:environment", body: #"{"text": "已核查。"}"#, expect: 201)
            _ = try await Self.returnRequest(hotline, duplicate)
            let view = try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": master]))
            #expect((view["return_requests"] as? [[String: Any]])?.first?["status"] as? String == "lapsed")
            let statuses = view.assignments.compactMap { $0["status"] as? String }
            #expect(statuses == ["cancelled", "cancelled"])
            let opinion = try await hotline.request(.post, "/api/v1/cases/\(duplicate)/notes", as: "handler:environment",
                                                    body: #"{"text": "补充"}"#)
            #expect(opinion.status == .forbidden)
        }
    }
}
