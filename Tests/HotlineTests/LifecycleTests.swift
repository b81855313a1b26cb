import Foundation
import HotlineCore
import Testing

/// Each path of a case's life, end to end through HTTP on the real database (DOMAIN §5).
@Suite("Lifecycle") struct LifecycleTests {
    @Test func theHappyPath() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            // dispatch: Monday 2 March 09:00
            var view = try await hotline.dispatch(number, assists: ["environment"])
            #expect(view["status"] as? String == "dispatched")
            let lead = try #require(view.assignment("housing", role: "lead"))
            #expect(view.due("sign", of: lead) == "2026-03-03T23:59:59+08:00")
            #expect(view.due("reply", of: lead) == "2026-03-09T23:59:59+08:00")
            #expect(lead["return_until"] as? String == "2026-03-04T23:59:59+08:00")
            let assist = try #require(view.assignment("environment", role: "assist"))
            #expect(view.due("opinion", of: assist) == "2026-03-05T23:59:59+08:00")

            hotline.clock.advance(by: 3600)
            view = try await hotline.step(number, "sign", as: "handler:housing")
            #expect(view["status"] as? String == "in_progress")
            try await hotline.step(number, "sign", as: "handler:environment")
            try await hotline.step(number, "opinions", as: "handler:environment",
                                   body: #"{"text": "经查，该小区电梯维保单位为某电梯公司，建议约谈。"}"#, expect: 201)
            try await hotline.step(number, "notes", as: "handler:housing", body: #"{"text": "已联系物业，明日维修。"}"#, expect: 201)
            let seenByLead = try await hotline.view(number, as: "handler:housing")
            #expect((seenByLead["opinions"] as? [[String: Any]])?.first?["unit"] as? String == "environment")

            hotline.clock.advance(by: 86_400)  // Tuesday 10:00
            view = try await hotline.reply(number)
            #expect(view["status"] as? String == "replied")
            let reply = try #require(view["reply"] as? [String: Any])
            #expect(reply["unit"] as? String == "housing")
            #expect(reply["handler_name"] as? String == "李明")
            #expect(reply["handler_phone"] as? String == "05388221234")
            #expect((view["visit_deadline"] as? [String: Any])?["due_at"] as? String == "2026-03-06T23:59:59+08:00")

            view = try await hotline.visit(number, satisfaction: "satisfied")
            #expect(view["status"] as? String == "closed")
            #expect(view["closure"] as? String == "visited")
            #expect(try await hotline.kinds(number) == [
                "accepted", "dispatched", "signed", "signed", "opinion_given", "note", "replied", "visited",
            ])
        }
    }

    @Test func withNoLeadNamedTheRoutingSuggestsOneAndNoRoutingIs422() async throws {
        try await withHotline { hotline in
            // 噪音 in 财源街道: the street leads, the environment bureau assists.
            let noise = try await hotline.fileCase(json(CaseBodies.make(category: "environment.noise", region: "taishan.caiyuan")))
            let view = try await hotline.dispatch(noise, lead: nil)
            #expect(view.assignment("taishan.caiyuan", role: "lead") != nil)
            #expect(view.assignment("environment", role: "assist") != nil)
            // In 岱岳区's 满庄镇 the district's route applies (the town has none of its own).
            let daiyue = try await hotline.fileCase(json(CaseBodies.make(category: "environment.noise", region: "daiyue.manzhuang")))
            #expect(try await hotline.dispatch(daiyue, lead: nil).assignment("daiyue", role: "lead") != nil)
            // No route for the region: the category's default.
            let elsewhere = try await hotline.fileCase(json(CaseBodies.make(category: "environment.noise", region: "xintai")))
            #expect(try await hotline.dispatch(elsewhere, lead: nil).assignment("environment", role: "lead") != nil)

            let created = try await hotline.request(.post, "/api/v1/categories", as: "admin",
                                                    body: #"{"code": "misc", "name": "其他"}"#)
            #expect(created.status == .created)
            let unrouted = try await hotline.fileCase(json(CaseBodies.make(category: "misc")))
            let refused = try await hotline.request(.post, "/api/v1/cases/\(unrouted)/dispatch", as: "dispatcher", body: "{}")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.problemCode == "no_routing")
            let twice = try await hotline.request(.post, "/api/v1/cases/\(unrouted)/dispatch", as: "dispatcher",
                                                  body: #"{"lead_unit": "housing", "assist_units": ["housing"]}"#)
            #expect(twice.status == .badRequest)
            #expect(try await hotline.view(unrouted)["status"] as? String == "accepted")
        }
    }

    @Test func anApprovedReturnReDispatchesAndDoesNotCountAgainstTheUnit() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            var view = try await hotline.step(number, "return-requests", as: "handler:housing",
                                              body: #"{"reason": "电梯维保属市场监管部门职责", "suggested_unit": "market"}"#, expect: 201)
            #expect(view["status"] as? String == "return_requested")
            let requestId = try #require((view["return_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            view = try await hotline.step(number, "return-requests/\(requestId)/approve", as: "dispatcher")
            #expect(view["status"] as? String == "dispatched")
            #expect(view.assignment("housing")?["status"] as? String == "returned")
            #expect(view.assignment("environment")?["status"] as? String == "cancelled")
            let market = try #require(view.assignment("market", role: "lead"))
            #expect(market["round"] as? Int == 2)
            #expect(view["approved_returns"] as? Int == 1)
            // The returned unit's deadlines ended unmet, not missed.
            let housingDeadlines = view.assignment("housing")?["deadlines"] as? [[String: Any]] ?? []
            let noCards = housingDeadlines.allSatisfy { $0["card"] as? String == "none" }
            #expect(noCards)
            let returned = try await hotline.sql { connection in
                try await connection.query("SELECT count(*) FROM deadlines d JOIN assignments a ON a.id = d.assignment_id WHERE a.unit_code = 'housing' AND d.closed_reason = 'returned'", logger: TestDatabase.logger).collect().first!.decode(Int.self)
            }
            #expect(returned == 1)  // the reply deadline; the sign deadline was met
            // The unit that returned it cannot reply any more.
            let late = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:housing", body: json([
                "outcome": "resolved", "text": "已处理。", "contacted_citizen": true, "handler_name": "李明", "handler_phone": "0538-8221234",
            ]))
            #expect(late.status == .forbidden)
            #expect(late.problemCode == "not_lead_unit")
            // Nothing of the returned assignment counts against housing.
            let housing = AppraisalTests.line(try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object(), "housing")
            #expect(LifecycleRulesTests.indicator(housing, "on_time_sign") == "0/0")
            #expect(LifecycleRulesTests.indicator(housing, "on_time_reply") == "0/0")
            #expect(try await hotline.kinds(number).suffix(3) == ["return_requested", "return_approved", "dispatched"])
        }
    }

    @Test func aRejectedReturnGoesBackWithItsDeadlinesAndCountsAsUnreasonable() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            let before = try await hotline.view(number)
            var view = try await hotline.step(number, "return-requests", as: "handler:housing",
                                              body: #"{"reason": "不归我局管"}"#, expect: 201)
            let requestId = try #require((view["return_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            let missingReason = try await hotline.request(.post, "/api/v1/cases/\(number)/return-requests/\(requestId)/reject",
                                                          as: "dispatcher", body: "{}")
            #expect(missingReason.status == .badRequest)
            view = try await hotline.step(number, "return-requests/\(requestId)/reject", as: "dispatcher",
                                          body: #"{"reason": "物业监管属住建部门职责"}"#)
            #expect(view["status"] as? String == "in_progress")
            #expect(view.due("reply", of: view.assignment("housing")) == before.due("reply", of: before.assignment("housing")))
            #expect((view["return_requests"] as? [[String: Any]])?.first?["status"] as? String == "rejected")
            // Once per assignment.
            let again = try await hotline.request(.post, "/api/v1/cases/\(number)/return-requests", as: "handler:housing",
                                                  body: #"{"reason": "再次申请"}"#)
            #expect(again.problemCode == "already_requested")
        }
    }

    @Test func theReturnWindowCloses() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            hotline.clock.set(Timestamp.parse("2026-03-05T00:00:00+08:00")!)  // past the end of Wednesday the 4th
            let late = try await hotline.request(.post, "/api/v1/cases/\(number)/return-requests", as: "handler:housing",
                                                 body: #"{"reason": "不归我局管"}"#)
            #expect(late.status == .unprocessableContent)
            #expect(late.problemCode == "deadline_passed")
        }
    }

    @Test func afterTwoApprovedReturnsTheDispatchIsDesignated() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number, lead: "housing")
            for (from, to) in [("housing", "water"), ("water", "power")] {
                let view = try await hotline.step(number, "return-requests", as: "handler:\(from)",
                                                  body: json(["reason": "非本单位职责", "suggested_unit": to]), expect: 201)
                let id = try #require((view["return_requests"] as? [[String: Any]])?.last?["id"] as? Int)
                try await hotline.step(number, "return-requests/\(id)/approve", as: "dispatcher")
            }
            let view = try await hotline.view(number)
            let power = try #require(view.assignment("power", role: "lead"))
            #expect(power["designated"] as? Bool == true)
            #expect(power["return_until"] == nil)
            let refused = try await hotline.request(.post, "/api/v1/cases/\(number)/return-requests", as: "handler:power",
                                                    body: #"{"reason": "也不归我们"}"#)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.problemCode == "designated_dispatch")
        }
    }

    @Test func anApprovedExtensionMovesTheReplyDeadline() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            let tooMany = try await hotline.request(.post, "/api/v1/cases/\(number)/extension-requests", as: "handler:housing",
                                                    body: #"{"working_days": 11, "reason": "需协调多部门"}"#)
            #expect(tooMany.status == .badRequest)
            var view = try await hotline.step(number, "extension-requests", as: "handler:housing",
                                              body: #"{"working_days": 3, "reason": "需协调多部门"}"#, expect: 201)
            let id = try #require((view["extension_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            view = try await hotline.step(number, "extension-requests/\(id)/approve", as: "dispatcher", body: #"{"working_days": 2}"#)
            // 9 March + 2 working days
            #expect(view.due("reply", of: view.assignment("housing")) == "2026-03-11T23:59:59+08:00")
            #expect((view["extension_requests"] as? [[String: Any]])?.first?["approved_days"] as? Int == 2)
            let again = try await hotline.request(.post, "/api/v1/cases/\(number)/extension-requests", as: "handler:housing",
                                                  body: #"{"working_days": 1, "reason": "还需时间"}"#)
            #expect(again.problemCode == "already_requested")
        }
    }

    @Test func aRejectedExtensionLeavesTheDeadlineAndLateOrUrgentOnesAreRefused() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            var view = try await hotline.step(number, "extension-requests", as: "handler:housing",
                                              body: #"{"working_days": 3, "reason": "需协调"}"#, expect: 201)
            let id = try #require((view["extension_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            view = try await hotline.step(number, "extension-requests/\(id)/reject", as: "dispatcher", body: #"{"reason": "可按期办结"}"#)
            #expect(view.due("reply", of: view.assignment("housing")) == "2026-03-09T23:59:59+08:00")
            #expect((view["extension_requests"] as? [[String: Any]])?.first?["status"] as? String == "rejected")

            let urgent = try await hotline.caseInProgress(json(CaseBodies.make(type: "help", urgency: "urgent")))
            let refused = try await hotline.request(.post, "/api/v1/cases/\(urgent)/extension-requests", as: "handler:housing",
                                                    body: #"{"working_days": 1, "reason": "需时间"}"#)
            #expect(refused.problemCode == "extension_not_allowed")

            let late = try await hotline.caseInProgress()
            hotline.clock.set(Timestamp.parse("2026-03-10T09:00:00+08:00")!)
            let tooLate = try await hotline.request(.post, "/api/v1/cases/\(late)/extension-requests", as: "handler:housing",
                                                    body: #"{"working_days": 1, "reason": "需时间"}"#)
            #expect(tooLate.problemCode == "deadline_passed")
        }
    }

    @Test func reopenedTwiceAndRefusedTheThirdTime() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseRatedUnsatisfied()
            for round in 1...2 {
                hotline.clock.advance(by: 3600)
                let view = try await hotline.step(number, "reopen", as: round == 1 ? "operator" : "dispatcher",
                                                  body: #"{"reason": "市民反映电梯仍未修复"}"#)
                #expect(view["status"] as? String == "in_progress")
                #expect(view["reopen_count"] as? Int == round)
                let replies = (view.assignment("housing")?["deadlines"] as? [[String: Any]])?.filter { $0["step"] as? String == "reply" }
                #expect(replies?.count == round + 1)
                // No new signing: the lead replies straight away.
                try await hotline.reply(number)
                try await hotline.visit(number, satisfaction: "unsatisfied", resolved: false)
            }
            let third = try await hotline.request(.post, "/api/v1/cases/\(number)/reopen", as: "dispatcher",
                                                  body: #"{"reason": "仍不满意"}"#)
            #expect(third.status == .unprocessableContent)
            #expect(third.problemCode == "reopen_limit")
            let closed = try await hotline.step(number, "close", as: "dispatcher", body: #"{"reason": "单位已尽力，诉求超出政策范围"}"#)
            #expect(closed["closure"] as? String == "visited")
            #expect((closed["visits"] as? [[String: Any]])?.count == 3)
        }
    }

    @Test func mergedDuplicatesReceiveTheMastersReplyAndEachCitizenIsVisited() async throws {
        try await withHotline { hotline in
            let master = try await hotline.fileCase(json(CaseBodies.make(name: "王五", phone: "13700000001")))
            let duplicate = try await hotline.fileCase(json(CaseBodies.make(name: "赵六", phone: "13700000002")))
            let anonymous = try await hotline.fileCase(json(CaseBodies.make(type: "complaint", name: nil, phone: nil, anonymous: true, consent: false)))
            try await hotline.dispatch(master)
            try await hotline.dispatch(duplicate, lead: "water")
            var view = try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": master]))
            #expect(view["status"] as? String == "merged")
            #expect(view["merged_into"] as? String == master)
            #expect(view.assignment("water")?["status"] as? String == "cancelled")
            try await hotline.step(anonymous, "merge", as: "dispatcher", body: json(["master": master]))
            #expect(try await hotline.view(master)["duplicates"] as? [String] == [duplicate, anonymous])
            // A duplicate's own steps are refused while it follows its master.
            let sign = try await hotline.request(.post, "/api/v1/cases/\(duplicate)/sign", as: "handler:water")
            #expect(sign.status == .forbidden)

            try await hotline.step(master, "sign", as: "handler:housing")
            try await hotline.reply(master)
            view = try await hotline.view(duplicate)
            #expect(view["status"] as? String == "replied")
            #expect((view["reply"] as? [String: Any])?["unit"] as? String == "housing")
            #expect(view["visit_deadline"] != nil)
            #expect(try await hotline.view(anonymous)["closure"] as? String == "no_visit_needed")

            try await hotline.visit(duplicate, satisfaction: "basically_satisfied")
            try await hotline.visit(master, satisfaction: "satisfied")
            #expect(try await hotline.view(duplicate)["closure"] as? String == "visited")
            #expect(try await hotline.view(master)["closure"] as? String == "visited")
            #expect(try await hotline.kinds(duplicate).contains("reply_received"))
            // Each citizen is called on their own number.
            let duplicateContact = try await hotline.request(.post, "/api/v1/cases/\(duplicate)/contact-reveal", as: "operator").object()
            #expect(duplicateContact["phone"] as? String == "13700000002")
        }
    }

    @Test func threeFailedCallsCloseTheCaseAsUnreachable() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(number)
            for attempt in 1...3 {
                let view = try await hotline.visit(number, satisfaction: nil)
                #expect(view["status"] as? String == (attempt < 3 ? "replied" : "closed"))
            }
            let view = try await hotline.view(number)
            #expect(view["closure"] as? String == "unreachable")
            #expect(try await hotline.kinds(number).suffix(4) == ["visit_failed", "visit_failed", "visit_failed", "closed_unreachable"])
        }
    }

    @Test func anAnonymousCaseClosesAtTheReply() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(CaseBodies.anonymousReport(), assists: [])
            let view = try await hotline.reply(number)
            #expect(view["status"] as? String == "closed")
            #expect(view["closure"] as? String == "no_visit_needed")
            #expect(view["visit_deadline"] == nil)
            let visit = try await hotline.request(.post, "/api/v1/cases/\(number)/visits", as: "operator", body: #"{"reached": false}"#)
            #expect(visit.status == .conflict)
        }
    }

    @Test func aWithdrawnCaseReleasesItsUnits() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            #expect(try await hotline.request(.get, "/api/v1/inbox", as: "handler:environment").items().count == 1)
            let view = try await hotline.step(number, "withdraw", as: "operator", body: #"{"reason": "市民称已自行解决"}"#)
            #expect(view["closure"] as? String == "withdrawn")
            let allCancelled = view.assignments.allSatisfy { $0["status"] as? String == "cancelled" }
            #expect(allCancelled)
            #expect(try await hotline.request(.get, "/api/v1/inbox", as: "handler:environment").items().isEmpty)
            #expect(try await hotline.request(.get, "/api/v1/inbox", as: "handler:housing").items().isEmpty)
            let open = try await hotline.sql { connection in
                try await connection.query("SELECT count(*) FROM deadlines WHERE met_at IS NULL AND closed_at IS NULL", logger: TestDatabase.logger)
                    .collect().first!.decode(Int.self)
            }
            #expect(open == 0)
        }
    }

    @Test func anEmergencyIsTransferredAndCannotBeDispatched() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(json(CaseBodies.make(type: "help", urgency: "urgent")))
            try await hotline.step(number, "transfer", as: "operator", body: #"{"service": "119", "note": "楼道起火"}"#)
            let dispatch = try await hotline.request(.post, "/api/v1/cases/\(number)/dispatch", as: "dispatcher",
                                                     body: #"{"lead_unit": "housing"}"#)
            #expect(dispatch.status == .conflict)
            #expect(try dispatch.object()["detail"] as? String == "cannot dispatch a case that is closed")
        }
    }

    @Test func theInboxListsWhatWaitsSoonestFirst() async throws {
        try await withHotline { hotline in
            let normal = try await hotline.fileCase()
            try await hotline.dispatch(normal)
            let urgent = try await hotline.fileCase(json(CaseBodies.make(type: "help", urgency: "urgent")))
            try await hotline.dispatch(urgent)
            var inbox = try await hotline.request(.get, "/api/v1/inbox", as: "handler:housing").items()
            let order = inbox.map { $0["number"] as? String }
            #expect(order == [urgent, normal])
            #expect(inbox.first?["next_step"] as? String == "sign")
            #expect(inbox.first?["due_at"] as? String == "2026-03-02T09:30:00+08:00")
            try await hotline.step(urgent, "sign", as: "handler:housing")
            inbox = try await hotline.request(.get, "/api/v1/inbox", as: "handler:housing").items()
            #expect(inbox.first?["next_step"] as? String == "reply")
            #expect(inbox.first?["due_at"] as? String == "2026-03-03T09:00:00+08:00")
            #expect(try await hotline.request(.get, "/api/v1/inbox", as: "handler:water").items().isEmpty)
            #expect(try await hotline.request(.get, "/api/v1/inbox", as: "operator").status == .forbidden)
            let page = try await hotline.request(.get, "/api/v1/inbox?limit=1", as: "handler:housing").object()
            let cursor = try #require(page["next_cursor"] as? String)
            let second = try await hotline.request(.get, "/api/v1/inbox?limit=1&cursor=\(cursor)", as: "handler:housing").items()
            let secondPage = second.map { $0["number"] as? String }
            #expect(secondPage == [normal])
        }
    }

    @Test func cardsTurnYellowOnTheLastWorkingDayAndRedAfter() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)  // sign due Tuesday 3 March, end of day
            func card(at time: String) async throws -> String? {
                hotline.clock.set(Timestamp.parse(time)!)
                return try await hotline.view(number).assignment("housing")?["card"] as? String
            }
            // Yellow from the end of the working day before the deadline's day, red the second after it.
            #expect(try await card(at: "2026-03-02T23:59:58+08:00") == "none")
            #expect(try await card(at: "2026-03-02T23:59:59+08:00") == "yellow")
            #expect(try await card(at: "2026-03-03T23:59:59+08:00") == "yellow")
            #expect(try await card(at: "2026-03-04T00:00:00+08:00") == "red")
            try await hotline.step(number, "sign", as: "handler:housing")
            #expect(try await card(at: "2026-03-04T00:00:01+08:00") == "none")
        }
    }

    @Test func loadingACalendarYearRecomputesOpenDeadlines() async throws {
        try await withHotline(start: Timestamp.parse("2026-12-28T10:00:00+08:00")!) { hotline in
            let number = try await hotline.fileCase()
            var view = try await hotline.dispatch(number)
            // Without 2027: Tue 29, Wed 30, Thu 31, Fri 1, Mon 4 → provisional.
            let reply = (view.assignment("housing")?["deadlines"] as? [[String: Any]])?.first { $0["step"] as? String == "reply" }
            #expect(reply?["due_at"] as? String == "2027-01-04T23:59:59+08:00")
            #expect(reply?["provisional"] as? Bool == true)
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                body: #"{"off_days": ["2027-01-01"], "make_up_working_days": []}"#)
            #expect(put.status == .ok)
            view = try await hotline.view(number)
            let moved = (view.assignment("housing")?["deadlines"] as? [[String: Any]])?.first { $0["step"] as? String == "reply" }
            #expect(moved?["due_at"] as? String == "2027-01-05T23:59:59+08:00")
            #expect(moved?["provisional"] as? Bool == false)
            let events = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
            let recomputed = events.filter { $0["kind"] as? String == "deadline_recomputed" }
            #expect(recomputed.count == 1)
            #expect((recomputed.first?["details"] as? [String: Any])?["due"] as? String == "2027-01-05T23:59:59+08:00")
        }
    }
}
