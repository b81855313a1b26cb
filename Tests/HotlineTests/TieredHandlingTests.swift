import Foundation
import HotlineCore
import Testing

/// 分级办理 and 审核 (DOMAIN §5a, §5b) through the HTTP API: a case goes from the city down to
/// 泰山区, 岱庙街道 and 红门社区, and its reply comes back up, each level reviewing the one below.
@Suite("Tiered handling and review") struct TieredHandlingTests {
    static let district = "taishan"
    static let street = "taishan.daimiao"
    static let community = "taishan.daimiao.hongmen"

    static let replyBody = json([
        "outcome": "resolved", "text": "经现场核实，已督促物业修复电梯。", "contacted_citizen": true,
        "handler_name": "王芳", "handler_phone": "0538-6221234",
    ])

    /// Files a case and takes it down: dispatched to the district, each unit signing and its
    /// sub-center passing it to the next, to `depth` levels below the district.
    static func passedDown(_ hotline: TestHotline, depth: Int, body: String = CaseBodies.complaint()) async throws -> String {
        let number = try await hotline.fileCase(body)
        try await hotline.dispatch(number, lead: district)
        try await hotline.step(number, "sign", as: "handler:\(district)")
        let path = [district, street, community]
        for level in 0..<depth {
            try await hotline.step(number, "pass-down", as: "dispatcher:\(path[level])", body: json(["lead_unit": path[level + 1]]))
            try await hotline.step(number, "sign", as: "handler:\(path[level + 1])")
        }
        return number
    }

    /// Null or left out: how the API says "none".
    static func absent(_ value: Any?) -> Bool { value == nil || value is NSNull }

    static func underReview(_ view: [String: Any]) -> [String: Any]? {
        (view["replies"] as? [[String: Any]])?.last { $0["status"] as? String == "under_review" }
    }

    static func replyId(_ view: [String: Any]) throws -> Int {
        try #require(underReview(view)?["id"] as? Int, "no reply under review: \(view["replies"] ?? "none")")
    }

    @Test func aCaseGoesDownFourLevelsAndItsReplyComesBackUpThroughEachReview() async throws {
        try await withHotline(centerReviews: true) { hotline in
            // The shipped policy: the center reviews complaints and reports, nothing else.
            let policy = try await hotline.request(.get, "/api/v1/review-policy", as: "dispatcher").items()
            let reviewed = policy.filter { $0["center_reviews"] as? Bool == true }.map { "\($0["type"]!)/\($0["urgency"]!)" }
            #expect(reviewed == ["complaint/normal", "complaint/urgent", "report/normal", "report/urgent"])

            let number = try await Self.passedDown(hotline, depth: 2)
            var view = try await hotline.view(number)
            let chain = [Self.district, Self.street, Self.community].map { view.assignment($0) }
            #expect(chain[1]?["parent"] as? Int == chain[0]?["id"] as? Int)
            #expect(chain[2]?["parent"] as? Int == chain[1]?["id"] as? Int)
            #expect(chain[0] != nil && Self.absent(chain[0]?["parent"]))

            // Only the deepest lead answers: the street and the district are refused while the
            // community handles the case.
            for unit in [Self.district, Self.street] {
                let over = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:\(unit)", body: Self.replyBody)
                #expect(over.status == .forbidden, "\(unit): \(over.text)")
                #expect(over.problemCode == "not_lead_unit")
            }
            view = try await hotline.step(number, "reply", as: "handler:\(Self.community)", body: Self.replyBody)
            #expect(view["status"] as? String == "reply_review")
            #expect(Self.absent(view["reply"]), "the citizen has no reply yet")
            #expect(Self.underReview(view)?["reviewer"] as? String == Self.street)
            let review = view.deadline("review", of: view.assignment(Self.street))
            #expect(review?["due_at"] as? String == "2026-03-03T23:59:59+08:00", "one working day to review")
            #expect(review != nil && Self.absent(review?["met_at"]))
            let id = try Self.replyId(view)

            // The district is not this reply's reviewer yet, nor is the center.
            for who in ["dispatcher:\(Self.district)", "dispatcher"] {
                let early = try await hotline.request(.post, "/api/v1/cases/\(number)/replies/\(id)/approve", as: who)
                #expect(early.status == .forbidden, "\(who): \(early.text)")
                #expect(early.problemCode == "not_reviewer")
            }
            view = try await hotline.step(number, "replies/\(id)/approve", as: "dispatcher:\(Self.street)")
            #expect(view["status"] as? String == "reply_review")
            #expect(Self.underReview(view)?["reviewer"] as? String == Self.district)
            // The street's own reply deadline is met by its approval.
            #expect(view.deadline("reply", of: view.assignment(Self.street))?["met_at"] is String)
            let twice = try await hotline.request(.post, "/api/v1/cases/\(number)/replies/\(id)/approve", as: "dispatcher:\(Self.street)")
            #expect(twice.status == .conflict, "\(twice.text)")

            view = try await hotline.step(number, "replies/\(id)/approve", as: "dispatcher:\(Self.district)")
            #expect(Self.underReview(view)?["reviewer"] as? String == "center")
            let lookup = try await hotline.request(.get, "/public/cases/\(number)?phone_last4=5678",
                                                   headers: [.init("X-Forwarded-For")!: "10.0.0.9"]).object()
            #expect(Self.absent(lookup["reply"]), "the public lookup shows no reply under review")
            #expect(lookup["status"] as? String == "in_progress")

            view = try await hotline.step(number, "replies/\(id)/approve", as: "dispatcher")
            #expect(view["status"] as? String == "replied")
            #expect((view["reply"] as? [String: Any])?["unit"] as? String == Self.community, "谁办理谁答复: the reply names its unit")
            let reviews = (view["replies"] as? [[String: Any]])?.first?["reviews"] as? [[String: Any]] ?? []
            let reviewers = reviews.map { $0["unit"] as? String ?? "center" }
            #expect(reviewers == [Self.street, Self.district, "center"])
            #expect(view["visit_deadline"] is [String: Any])
            try await hotline.visit(number)
            #expect(try await hotline.view(number)["status"] as? String == "closed")
            // The rating counts for the unit that wrote the reply and each lead above that approved it.
            for unit in [Self.community, Self.street, Self.district] {
                let line = try await LifecycleRulesTests.reportLine(hotline, unit)
                #expect(LifecycleRulesTests.indicator(line, "satisfaction") == "1/1", "\(unit)")
            }
            let kinds = try await hotline.kinds(number)
            let passes = kinds.filter { $0 == "passed_down" }.count, approvals = kinds.filter { $0 == "reply_approved" }.count
            #expect(passes == 2)
            #expect(approvals == 3)
        }
    }

    @Test func aSendBackAtEachLevelGivesTheLeadBelowANewReplyDeadline() async throws {
        try await withHotline(centerReviews: true) { hotline in
            let number = try await Self.passedDown(hotline, depth: 1)  // Monday 2 March, 09:00
            var view = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            let first = try Self.replyId(view)
            let noReason = try await hotline.request(.post, "/api/v1/cases/\(number)/replies/\(first)/send-back",
                                                     as: "dispatcher:\(Self.district)", body: "{}")
            #expect(noReason.status == .badRequest)
            hotline.clock.set(Timestamp.parse("2026-03-03T10:00:00+08:00")!)
            view = try await hotline.step(number, "replies/\(first)/send-back", as: "dispatcher:\(Self.district)",
                                          body: #"{"reason": "未说明整改时限"}"#)
            #expect(view["status"] as? String == "in_progress")
            // Two working days from Tuesday: Thursday the 5th, inside the cap one working day
            // before the district's own reply (Monday the 9th).
            #expect(view.due("reply", of: view.assignment(Self.street)) == "2026-03-05T23:59:59+08:00")
            #expect((view["replies"] as? [[String: Any]])?.first?["status"] as? String == "sent_back")

            view = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            let second = try Self.replyId(view)
            view = try await hotline.step(number, "replies/\(second)/approve", as: "dispatcher:\(Self.district)")
            hotline.clock.set(Timestamp.parse("2026-03-04T10:00:00+08:00")!)
            view = try await hotline.step(number, "replies/\(second)/send-back", as: "dispatcher", body: #"{"reason": "答复内容不完整"}"#)
            // The center sends back to the lead directly below it: the district, which handles
            // the case again (and could pass it down again).
            #expect(view["status"] as? String == "in_progress")
            #expect(view.due("reply", of: view.assignment(Self.district)) == "2026-03-06T23:59:59+08:00")
            let street = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:\(Self.street)", body: Self.replyBody)
            #expect(street.problemCode == "not_lead_unit")
            view = try await hotline.step(number, "reply", as: "handler:\(Self.district)", body: Self.replyBody)
            #expect(Self.underReview(view)?["reviewer"] as? String == "center")
            view = try await hotline.step(number, "replies/\(try Self.replyId(view))/approve", as: "dispatcher")
            #expect(view["status"] as? String == "replied")
            #expect((view["reply"] as? [String: Any])?["unit"] as? String == Self.district)
            let statuses = (view["replies"] as? [[String: Any]])?.map { $0["status"] as? String ?? "" }
            #expect(statuses == ["sent_back", "sent_back", "approved"])
        }
    }

    @Test func withoutCenterReviewTheDistrictsApprovalReachesTheCitizen() async throws {
        try await withHotline(centerReviews: true) { hotline in
            // A help request is not in the center's policy: the district's approval is the last.
            let number = try await Self.passedDown(hotline, depth: 1, body: json(CaseBodies.make(type: "help")))
            var view = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            view = try await hotline.step(number, "replies/\(try Self.replyId(view))/approve", as: "dispatcher:\(Self.district)")
            #expect(view["status"] as? String == "replied")
            // And a district that answers itself, on a help request, answers the citizen at once.
            let direct = try await hotline.fileCase(json(CaseBodies.make(type: "help")))
            try await hotline.dispatch(direct, lead: Self.district)
            try await hotline.step(direct, "sign", as: "handler:\(Self.district)")
            view = try await hotline.step(direct, "reply", as: "handler:\(Self.district)", body: Self.replyBody)
            #expect(view["status"] as? String == "replied")
            // A manager turns the center's review on for help requests: the next one waits for it.
            let put = try await hotline.request(.put, "/api/v1/review-policy", as: "manager",
                                                body: #"{"items": [{"type": "help", "urgency": "normal", "center_reviews": true}]}"#)
            #expect(put.status == .ok, "\(put.text)")
            let refused = try await hotline.request(.put, "/api/v1/review-policy", as: "dispatcher",
                                                    body: #"{"items": [{"type": "help", "urgency": "normal", "center_reviews": false}]}"#)
            #expect(refused.status == .forbidden)
            let next = try await hotline.fileCase(json(CaseBodies.make(type: "help")))
            try await hotline.dispatch(next, lead: Self.district)
            try await hotline.step(next, "sign", as: "handler:\(Self.district)")
            view = try await hotline.step(next, "reply", as: "handler:\(Self.district)", body: Self.replyBody)
            #expect(view["status"] as? String == "reply_review")
            #expect(view.assignment(Self.district)?["status"] as? String == "replied")
        }
    }

    @Test func aChildsReturnAndExtensionAreReviewedByItsParent() async throws {
        try await withHotline { hotline in
            // Passed-down units get two working days to reply here: the street's is Wednesday the 4th.
            let limits = try await hotline.request(.put, "/api/v1/time-limits", as: "manager", body: json(["items": [
                ["type": "complaint", "urgency": "normal", "step": "passed_down_reply", "amount": 2, "unit": "working_days"],
            ]]))
            #expect(limits.status == .ok, "\(limits.text)")
            let number = try await Self.passedDown(hotline, depth: 1)
            #expect(try await hotline.view(number).due("reply", of: try await hotline.view(number).assignment(Self.street))
                    == "2026-03-04T23:59:59+08:00")
            // An extension of five days, asked of the district: the 11th, kept one working day
            // before the district's own reply deadline (Monday 9 March), so Friday the 6th.
            var view = try await hotline.step(number, "extension-requests", as: "handler:\(Self.street)",
                                              body: #"{"working_days": 5, "reason": "需协调物业公司"}"#, expect: 201)
            let extensionId = try #require((view["extension_requests"] as? [[String: Any]])?.last?["id"] as? Int)
            let byCenter = try await hotline.request(.post, "/api/v1/cases/\(number)/extension-requests/\(extensionId)/approve",
                                                     as: "dispatcher")
            #expect(byCenter.problemCode == "not_reviewer", "\(byCenter.text)")
            view = try await hotline.step(number, "extension-requests/\(extensionId)/approve", as: "dispatcher:\(Self.district)")
            #expect(view.due("reply", of: view.assignment(Self.street)) == "2026-03-06T23:59:59+08:00")

            view = try await hotline.step(number, "return-requests", as: "handler:\(Self.street)",
                                          body: #"{"reason": "不属本街道辖区"}"#, expect: 201)
            #expect(view["status"] as? String == "return_requested")
            let returnId = try #require((view["return_requests"] as? [[String: Any]])?.last?["id"] as? Int)
            let wrong = try await hotline.request(.post, "/api/v1/cases/\(number)/return-requests/\(returnId)/approve", as: "dispatcher")
            #expect(wrong.status == .forbidden)
            #expect(wrong.problemCode == "not_reviewer")
            view = try await hotline.step(number, "return-requests/\(returnId)/approve", as: "dispatcher:\(Self.district)")
            #expect(view["status"] as? String == "in_progress")
            #expect(view.assignment(Self.street)?["status"] as? String == "returned")
            #expect(view.assignment(Self.district)?["status"] as? String == "signed")
            #expect(view["approved_returns"] as? Int == 0, "a return inside a tier is not one of the center's two")
            // The district handles again: it replies (a complaint, the center's review off in this test).
            view = try await hotline.step(number, "reply", as: "handler:\(Self.district)", body: Self.replyBody)
            #expect(view["status"] as? String == "replied")
        }
    }

    @Test func theParentTakesTheCaseBack() async throws {
        try await withHotline { hotline in
            let number = try await Self.passedDown(hotline, depth: 2)
            let noReason = try await hotline.request(.post, "/api/v1/cases/\(number)/take-back", as: "dispatcher:\(Self.district)", body: "{}")
            #expect(noReason.status == .badRequest)
            let view = try await hotline.step(number, "take-back", as: "dispatcher:\(Self.district)", body: #"{"reason": "区级直接办理"}"#)
            #expect(view.assignment(Self.street)?["status"] as? String == "taken_back")
            #expect(view.assignment(Self.community)?["status"] as? String == "taken_back")
            let late = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:\(Self.community)", body: Self.replyBody)
            #expect(late.status == .forbidden)
            #expect(late.problemCode == "not_lead_unit")
            let again = try await hotline.request(.post, "/api/v1/cases/\(number)/take-back", as: "dispatcher:\(Self.district)",
                                                  body: #"{"reason": "再次收回"}"#)
            #expect(again.status == .conflict)
            #expect(again.problemCode == "not_passed_down")
            try await hotline.step(number, "reply", as: "handler:\(Self.district)", body: Self.replyBody)
        }
    }

    @Test func passingDownIsRefusedWhereItMustBe() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number, lead: Self.district)
            let unsigned = try await hotline.request(.post, "/api/v1/cases/\(number)/pass-down", as: "dispatcher:\(Self.district)",
                                                     body: json(["lead_unit": Self.street]))
            #expect(unsigned.status == .conflict, "\(unsigned.text)")
            try await hotline.step(number, "sign", as: "handler:\(Self.district)")
            let refusals: [(String, String, Int, String)] = [
                ("dispatcher:\(Self.district)", Self.community, 422, "not_below"),  // two levels down
                ("dispatcher:\(Self.district)", Self.district, 422, "not_below"),  // itself
                ("dispatcher:\(Self.district)", "daiyue.tianping", 422, "not_below"),  // another district's street
                ("dispatcher:\(Self.district)", "nowhere", 422, "unknown_unit"),
                ("dispatcher", Self.street, 403, "not_sub_center"),  // the center dispatches, it does not pass down
                ("handler:\(Self.district)", Self.street, 403, "not_sub_center"),
                ("dispatcher:\(Self.street)", Self.community, 404, "not_found"),  // its unit is not on the case
            ]
            for (who, unit, status, code) in refusals {
                let response = try await hotline.request(.post, "/api/v1/cases/\(number)/pass-down", as: who, body: json(["lead_unit": unit]))
                #expect(response.status.code == status, "\(who) → \(unit): \(response.text)")
                #expect(response.problemCode == code, "\(who) → \(unit)")
            }
            #expect(try await hotline.view(number).assignments.count == 1, "nothing was made by a refusal")
            // Two at once: one passes the case down, the other is told it has been.
            async let first = hotline.request(.post, "/api/v1/cases/\(number)/pass-down", as: "dispatcher:\(Self.district)",
                                              body: json(["lead_unit": Self.street]))
            async let second = hotline.request(.post, "/api/v1/cases/\(number)/pass-down", as: "dispatcher:\(Self.district)",
                                               body: json(["lead_unit": "taishan.caiyuan"]))
            let results = [try await first, try await second]
            #expect(results.map(\.status.code).sorted() == [200, 409])
            #expect(results.compactMap(\.problemCode) == ["passed_down"])
            #expect(try await hotline.view(number).assignments.count == 2)
            // The sub-center reads the case as its unit does: the citizen masked.
            let seen = try await hotline.view(number, as: "dispatcher:\(Self.district)")
            #expect((seen["citizen"] as? [String: Any])?["phone"] as? String == "138****5678")
            // And takes none of the center's steps.
            let visit = try await hotline.request(.post, "/api/v1/cases/\(number)/exempt", as: "dispatcher:\(Self.district)",
                                                  body: #"{"reason": "x"}"#)
            #expect(visit.status == .forbidden)
        }
    }

    @Test func theCenterReassignsWithoutAReturn() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number, lead: "housing", assists: ["environment"])
            let same = try await hotline.request(.post, "/api/v1/cases/\(number)/reassign", as: "dispatcher",
                                                 body: #"{"lead_unit": "housing", "reason": "改派"}"#)
            #expect(same.problemCode == "same_unit")
            let noReason = try await hotline.request(.post, "/api/v1/cases/\(number)/reassign", as: "dispatcher",
                                                     body: #"{"lead_unit": "water"}"#)
            #expect(noReason.status == .badRequest)
            let byHandler = try await hotline.request(.post, "/api/v1/cases/\(number)/reassign", as: "handler:housing",
                                                      body: #"{"lead_unit": "water", "reason": "改派"}"#)
            #expect(byHandler.status == .forbidden)
            // A week later, housing never having signed: reassigned, its late sign does not count.
            try await hotline.sweep(at: "2026-03-10T09:00:00+08:00")
            let view = try await hotline.step(number, "reassign", as: "dispatcher", body: #"{"lead_unit": "water", "reason": "属供水企业职责"}"#)
            #expect(view["status"] as? String == "dispatched")
            #expect(view.assignment("housing")?["status"] as? String == "reassigned")
            #expect(view.assignment("environment")?["status"] as? String == "reassigned")
            #expect(view.assignment("water")?["status"] as? String == "dispatched")
            let housing = try await LifecycleRulesTests.reportLine(hotline, "housing")
            #expect(LifecycleRulesTests.indicator(housing, "on_time_sign") == "0/0")
            #expect(housing["overdue"] as? Int == 0)
        }
    }

    /// Every child deadline falls one working day before its parent's reply (two hours on an
    /// urgent case), on the official calendar: here across the Spring Festival, onto its make-up
    /// Saturday.
    @Test func childDeadlinesAreCappedInsideTheParentsReply() async throws {
        try await withHotline(start: Timestamp.parse("2026-02-12T09:00:00+08:00")!) { hotline in
            // The district's reply limit is 3 working days: Thursday the 12th → Tuesday the 24th.
            let limits = try await hotline.request(.put, "/api/v1/time-limits", as: "manager", body: json(["items": [
                ["type": "complaint", "urgency": "normal", "step": "reply", "amount": 3, "unit": "working_days"],
            ]]))
            #expect(limits.status == .ok, "\(limits.text)")
            let number = try await Self.passedDown(hotline, depth: 1)
            let view = try await hotline.view(number)
            #expect(view.due("reply", of: view.assignment(Self.district)) == "2026-02-24T23:59:59+08:00")
            let street = view.assignment(Self.street)
            // Its own limit (5 working days, to the 26th) capped at the end of the make-up
            // Saturday, the last working day before the 24th.
            #expect(view.due("reply", of: street) == "2026-02-14T23:59:59+08:00")
            #expect(view.due("sign", of: street) == "2026-02-13T23:59:59+08:00")
            #expect(view.due("return", of: street) == "2026-02-14T23:59:59+08:00")

            let urgent = try await Self.passedDown(hotline, depth: 1, body: json(CaseBodies.make(urgency: "urgent")))
            let fast = try await hotline.view(urgent)
            // 24 hours for the district; the street's 24 hours capped two hours before.
            #expect(fast.due("reply", of: fast.assignment(Self.district)) == "2026-02-13T09:00:00+08:00")
            #expect(fast.due("reply", of: fast.assignment(Self.street)) == "2026-02-13T07:00:00+08:00")
            #expect(fast.due("sign", of: fast.assignment(Self.street)) == "2026-02-12T09:30:00+08:00")
        }
    }

    /// The cap itself, on the calendar alone: a make-up Saturday counts as a working day, a
    /// holiday does not.
    @Test func theCapIsOneWorkingDayBefore() {
        let calendar = WorkingCalendar(exceptions: [
            LocalDate(year: 2026, month: 2, day: 14)!: true,
            LocalDate(year: 2026, month: 2, day: 16)!: false, LocalDate(year: 2026, month: 2, day: 23)!: false,
        ], coveredYears: [2026])
        let cases: [(String, String)] = [
            ("2026-03-04T23:59:59+08:00", "2026-03-03T23:59:59+08:00"),  // Wednesday → Tuesday
            ("2026-03-02T23:59:59+08:00", "2026-02-27T23:59:59+08:00"),  // Monday → Friday
            ("2026-02-24T23:59:59+08:00", "2026-02-20T23:59:59+08:00"),  // over the holiday of the 23rd
            ("2026-02-17T23:59:59+08:00", "2026-02-14T23:59:59+08:00"),  // over the 16th onto the make-up Saturday
            ("2026-03-02T12:00:00+08:00", "2026-02-27T23:59:59+08:00"),  // a deadline within its day
        ]
        for (due, cap) in cases {
            #expect(Timestamp.format(calendar.tierCap(beforeParentDue: Timestamp.parse(due)!, urgent: false)) == cap, "\(due)")
        }
        #expect(Timestamp.format(calendar.tierCap(beforeParentDue: Timestamp.parse("2026-02-14T08:00:00+08:00")!, urgent: true))
                == "2026-02-14T06:00:00+08:00")
    }

    /// DOMAIN §5a, §7: each child deadline has its own ladder; its urgings go to the child and
    /// are seen by the parent; a late review is urged to the reviewer.
    @Test func supervisionReachesEveryLevel() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number, lead: Self.district)
            try await hotline.step(number, "sign", as: "handler:\(Self.district)")
            let passed = try await hotline.step(number, "pass-down", as: "dispatcher:\(Self.district)", body: json(["lead_unit": Self.street]))
            #expect(passed.due("sign", of: passed.assignment(Self.street)) == "2026-03-03T23:59:59+08:00")
            // The street does not sign: urged once its sign deadline passes.
            let swept = try await hotline.sweep(at: "2026-03-04T00:00:01+08:00")
            #expect(swept["urgings"] as? Int == 1)
            let urged = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
                .filter { $0["kind"] as? String == "urged" }.map { "\($0["unit"] as? String ?? "?")/\(($0["details"] as? [String: Any])?["step"] as? String ?? "?")" }
            #expect(urged == ["\(Self.street)/sign"])
            // The district sees its street's red card; another district sees nothing of it.
            for who in ["handler:\(Self.district)", "dispatcher:\(Self.district)", "handler:\(Self.street)"] {
                let cards = try await hotline.request(.get, "/api/v1/supervision/warnings", as: who).items()
                    .map { "\($0["unit"] as? String ?? "?")/\($0["step"] as? String ?? "?")/\($0["card"] as? String ?? "?")" }
                #expect(cards.contains("\(Self.street)/sign/red"), "\(who): \(cards)")
            }
            let elsewhere = try await hotline.request(.get, "/api/v1/supervision/warnings", as: "handler:taishan.caiyuan").items()
            #expect(elsewhere.isEmpty)
            // The district's sub-center urges and escalates its street, never itself.
            let view = try await hotline.view(number)
            let street = try #require(view.assignment(Self.street)?["id"] as? Int)
            let own = try #require(view.assignment(Self.district)?["id"] as? Int)
            try await hotline.step(number, "urge", as: "dispatcher:\(Self.district)",
                                   body: json(["assignment": street, "step": "sign", "note": "请尽快签收"]), expect: 201)
            let itself = try await hotline.request(.post, "/api/v1/cases/\(number)/urge", as: "dispatcher:\(Self.district)",
                                                   body: json(["assignment": own, "step": "reply"]))
            #expect(itself.status == .forbidden, "\(itself.text)")
            let upward = try await hotline.request(.post, "/api/v1/cases/\(number)/urge", as: "dispatcher:\(Self.street)",
                                                   body: json(["assignment": own, "step": "reply"]))
            #expect(upward.status == .forbidden, "\(upward.text)")
            try await hotline.step(number, "escalate", as: "dispatcher:\(Self.district)",
                                   body: json(["assignment": street, "step": "sign", "reason": "逾期未签收"]), expect: 201)
            let escalated = try await hotline.request(.get, "/api/v1/supervision/escalations", as: "manager").items()
                .map { $0["unit"] as? String }
            #expect(escalated == [Self.street])

            // The street signs and replies on Wednesday; the district's review is due Thursday night.
            try await hotline.step(number, "sign", as: "handler:\(Self.street)")
            let replied = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            #expect(replied.due("review", of: replied.assignment(Self.district)) == "2026-03-05T23:59:59+08:00")
            let late = try await hotline.sweep(at: "2026-03-06T00:00:01+08:00")
            #expect(late["urgings"] as? Int == 1)
            let reviewUrged = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
                .filter { $0["kind"] as? String == "urged" }.map { "\($0["unit"] as? String ?? "?")/\(($0["details"] as? [String: Any])?["step"] as? String ?? "?")" }
            #expect(reviewUrged.last == "\(Self.district)/review")
        }
    }

    /// DOMAIN §10 at every level: a report's citizen reaches no unit, two tiers down.
    @Test func noLevelSeesAReportsCitizen() async throws {
        try await withHotline(centerReviews: true) { hotline in
            let name = "赵六", phone = "13987654321"
            let body = json(CaseBodies.make(type: "report", description: "举报人赵六，电话13987654321，反映楼道违规经营。",
                                            name: name, phone: phone, consent: true))
            let number = try await Self.passedDown(hotline, depth: 2, body: body)
            try await hotline.step(number, "notes", as: "handler:\(Self.community)", body: #"{"text": "已联系13987654321核实"}"#, expect: 201)
            let replied = try await hotline.step(number, "reply", as: "handler:\(Self.community)", body: Self.replyBody)
            let id = try Self.replyId(replied)
            var texts = [replied.description]
            for (unit, dispatcher) in [(Self.community, nil), (Self.street, "dispatcher:\(Self.street)"), (Self.district, "dispatcher:\(Self.district)")] {
                for who in ["handler:\(unit)"] + (dispatcher.map { [$0] } ?? []) {
                    for path in ["/api/v1/cases/\(number)", "/api/v1/cases/\(number)/timeline", "/api/v1/inbox",
                                 "/api/v1/supervision/warnings", "/api/v1/cases?q=\(phone)", "/api/v1/cases"] {
                        texts.append(try await hotline.request(.get, path, as: who).text)
                    }
                    let reveal = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: who)
                    #expect(reveal.status == .forbidden, "\(who)")
                    texts.append(reveal.text)
                }
                if let dispatcher, unit != Self.community {
                    texts.append(try await hotline.step(number, "replies/\(id)/approve", as: dispatcher).description)
                }
            }
            #expect(texts.count > 20)
            for text in texts {
                for trace in [name, phone, "赵", "4321"] {
                    #expect(!text.contains(trace), "\(trace) reached a unit: \(text.prefix(300))")
                }
            }
            // The center reads it as written.
            let center = try await hotline.view(number)
            #expect((center["description"] as? String)?.contains(phone) == true)
        }
    }

    /// The authorisation of a sub-center, step by step (DOMAIN §2): its own unit's case (the
    /// district that passed it down), the unit below (the street that handles it), a unit above
    /// it (the district, seen from the street) and a sibling (another district's sub-center).
    @Test func aSubCenterTakesOnlyItsStepsOnItsUnitsCases() async throws {
        try await withHotline { hotline in
            let number = try await Self.passedDown(hotline, depth: 1)
            let view = try await hotline.view(number)
            let street = try #require(view.assignment(Self.street)?["id"] as? Int)
            let district = try #require(view.assignment(Self.district)?["id"] as? Int)
            // Every step a case can take, with a body it would accept.
            let steps: [(String, String)] = [
                ("dispatch", json(["lead_unit": "housing"])), ("sign", "{}"), ("return-requests", #"{"reason": "不属本单位"}"#),
                ("extension-requests", #"{"working_days": 2, "reason": "需协调"}"#), ("opinions", #"{"text": "意见"}"#),
                ("notes", #"{"text": "进展"}"#), ("reply", Self.replyBody), ("contacts", #"{"method": "phone"}"#),
                ("visits", #"{"reached": true, "satisfaction": "satisfied", "resolved": true}"#), ("reopen", #"{"reason": "重办"}"#),
                ("close", #"{"reason": "已尽力"}"#), ("exempt", #"{"reason": "免考核"}"#), ("withdraw", #"{"reason": "撤诉"}"#),
                ("transfer", #"{"service": "110"}"#), ("disclose", #"{"summary": "公开"}"#), ("contact-reveal", ""),
                ("reassign", #"{"lead_unit": "housing", "reason": "改派"}"#),
                ("pass-down", json(["lead_unit": "taishan.caiyuan"])),
                ("urge", json(["assignment": district, "step": "reply"])),
                ("escalate", json(["assignment": district, "step": "reply", "reason": "逾期"])),
            ]
            let callers = ["dispatcher:\(Self.district)", "dispatcher:\(Self.street)", "dispatcher:daiyue"]
            let before = try await hotline.kinds(number).count
            var taken: [String] = []
            for (path, body) in steps {
                for who in callers {
                    let response = try await hotline.request(.post, "/api/v1/cases/\(number)/\(path)", as: who, body: body)
                    if response.status.code < 300 { taken.append("\(who) \(path)") }
                    // The sibling learns nothing of the case: a step of a dispatcher is 404, another role's 403.
                    if who == "dispatcher:daiyue" { #expect([403, 404].contains(response.status.code), "\(path): \(response.text)") }
                }
            }
            // The district's sub-center passes down (the street, which handles, has no child yet:
            // the district may not pass again) and urges nothing of its own; the street's urges
            // nothing above it. Nothing of the center's is taken by any of them.
            #expect(taken.isEmpty, "\(taken)")
            #expect(try await hotline.kinds(number).count == before, "no refusal wrote an event")
            // What each may do, done: the street's sub-center passes down to its community, the
            // district's urges its street and takes the case back.
            try await hotline.step(number, "sign", as: "handler:\(Self.street)", expect: 409)
            try await hotline.step(number, "pass-down", as: "dispatcher:\(Self.street)", body: json(["lead_unit": Self.community]))
            try await hotline.step(number, "urge", as: "dispatcher:\(Self.district)", body: json(["assignment": street, "step": "reply"]), expect: 201)
            try await hotline.step(number, "take-back", as: "dispatcher:\(Self.district)", body: #"{"reason": "收回"}"#)
        }
    }

    /// A reopen goes back to the unit that wrote the reply, each lead above it with a reopen
    /// deadline of its own and the child's inside its parent's (DOMAIN §5a).
    @Test func aReopenGoesBackToTheUnitThatWroteTheReply() async throws {
        try await withHotline { hotline in
            let number = try await Self.passedDown(hotline, depth: 1)
            var view = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            view = try await hotline.step(number, "replies/\(try Self.replyId(view))/approve", as: "dispatcher:\(Self.district)")
            #expect(view["status"] as? String == "replied")
            try await hotline.visit(number, satisfaction: "unsatisfied", resolved: false)
            hotline.clock.set(Timestamp.parse("2026-03-03T10:00:00+08:00")!)
            view = try await hotline.step(number, "reopen", as: "dispatcher", body: #"{"reason": "市民不满意"}"#)
            #expect(view["status"] as? String == "in_progress")
            // Five working days from Tuesday for the district (the 10th); the street's capped a
            // working day before, on the 9th.
            #expect(view.due("reply", of: view.assignment(Self.district)) == "2026-03-10T23:59:59+08:00")
            #expect(view.due("reply", of: view.assignment(Self.street)) == "2026-03-09T23:59:59+08:00")
            #expect(view.assignment(Self.street)?["status"] as? String == "signed")
            let parent = try await hotline.request(.post, "/api/v1/cases/\(number)/reply", as: "handler:\(Self.district)", body: Self.replyBody)
            #expect(parent.problemCode == "not_lead_unit")
            view = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            view = try await hotline.step(number, "replies/\(try Self.replyId(view))/approve", as: "dispatcher:\(Self.district)")
            #expect(view["status"] as? String == "replied")
            #expect((view["reply"] as? [String: Any])?["unit"] as? String == Self.street)
        }
    }

    /// Each pass-down opens a round of its own: a community's approved return leaves its street
    /// handling, and a lead the center reassigns to after a pass-down is appraised.
    @Test func eachPassDownIsARoundOfItsOwn() async throws {
        try await withHotline { hotline in
            let number = try await Self.passedDown(hotline, depth: 2)
            var view = try await hotline.view(number)
            let rounds = [Self.district, Self.street, Self.community].map { view.assignment($0)?["round"] as? Int ?? 0 }
            #expect(rounds == [1, 2, 3])
            view = try await hotline.step(number, "return-requests", as: "handler:\(Self.community)",
                                          body: #"{"reason": "不属本社区"}"#, expect: 201)
            let id = try #require((view["return_requests"] as? [[String: Any]])?.last?["id"] as? Int)
            view = try await hotline.step(number, "return-requests/\(id)/approve", as: "dispatcher:\(Self.street)")
            #expect(view.assignment(Self.community)?["status"] as? String == "returned")
            #expect(view.assignment(Self.street)?["status"] as? String == "signed", "the street handles again")

            // Passed down, then reassigned by the center: the new lead's signing counts.
            let other = try await Self.passedDown(hotline, depth: 1)
            try await hotline.step(other, "reassign", as: "dispatcher", body: #"{"lead_unit": "housing", "reason": "属住建部门职责"}"#)
            try await hotline.step(other, "sign", as: "handler:housing")
            let housing = try await LifecycleRulesTests.reportLine(hotline, "housing")
            #expect(LifecycleRulesTests.indicator(housing, "on_time_sign") == "1/1")
        }
    }

    /// Two first contacts at once, and two approvals of one reply at once: one lands, the other
    /// is a 409, and the record holds one of each.
    @Test func twoAtOnceGiveOneSuccessAndOneConflict() async throws {
        try await withHotline(centerReviews: true) { hotline in
            let number = try await Self.passedDown(hotline, depth: 1, body: CaseBodies.consenting())
            let contact = #"{"method": "phone"}"#
            async let firstContact = hotline.request(.post, "/api/v1/cases/\(number)/contacts", as: "handler:\(Self.street)", body: contact)
            async let secondContact = hotline.request(.post, "/api/v1/cases/\(number)/contacts", as: "handler:\(Self.district)", body: contact)
            let contacts = [try await firstContact, try await secondContact]
            #expect(contacts.map(\.status.code).sorted() == [201, 409], "\(contacts.map(\.text))")
            #expect(contacts.compactMap(\.problemCode) == ["already_contacted"])
            #expect(try await hotline.count("contacts") == 1)

            let view = try await hotline.step(number, "reply", as: "handler:\(Self.street)", body: Self.replyBody)
            let id = try Self.replyId(view)
            let path = "/api/v1/cases/\(number)/replies/\(id)/approve"
            async let firstApproval = hotline.request(.post, path, as: "dispatcher:\(Self.district)")
            async let secondApproval = hotline.request(.post, path, as: "dispatcher:\(Self.district)")
            let approvals = [try await firstApproval, try await secondApproval]
            #expect(approvals.map(\.status.code).sorted() == [200, 409], "\(approvals.map(\.text))")
            #expect(try await hotline.count("reply_reviews") == 1)
            let after = try await hotline.view(number)
            #expect(Self.underReview(after)?["reviewer"] as? String == "center")
        }
    }

    /// A calendar loaded later computes every open deadline again, caps and all: a passed-down
    /// unit's stay one working day before its parent's reply, an assisting unit's opinion inside
    /// its own round's lead reply.
    @Test func aCalendarLoadKeepsTheTierCaps() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number, lead: Self.district)
            try await hotline.step(number, "sign", as: "handler:\(Self.district)")
            hotline.clock.set(Timestamp.parse("2026-03-04T10:00:00+08:00")!)
            var view = try await hotline.step(number, "pass-down", as: "dispatcher:\(Self.district)",
                                              body: json(["lead_unit": Self.street, "assist_units": ["taishan.caiyuan"]]))
            func dues(_ view: [String: Any]) -> [String] {
                [view.due("reply", of: view.assignment(Self.district)), view.due("reply", of: view.assignment(Self.street)),
                 view.due("sign", of: view.assignment(Self.street)), view.due("opinion", of: view.assignment("taishan.caiyuan"))]
                    .map { $0 ?? "none" }
            }
            // The district's reply is due Monday the 9th; the street's is capped on Friday the 6th
            // (five working days would be the 11th), and so is the opinion.
            let capped = ["2026-03-09T23:59:59+08:00", "2026-03-06T23:59:59+08:00", "2026-03-05T23:59:59+08:00",
                          "2026-03-06T23:59:59+08:00"]
            #expect(dues(view) == capped)
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager", body: """
                {"source": "test notice", "off_days": [{"date": "2027-01-01", "name": "元旦"}], "make_up_working_days": []}
                """)
            #expect(put.status == .ok, "\(put.text)")
            view = try await hotline.view(number)
            #expect(dues(view) == capped)
            let recomputed = try await hotline.kinds(number).filter { $0 == "deadline_recomputed" }
            #expect(recomputed.isEmpty, "nothing moved")
        }
    }

    /// The center's own review has a card on the center's list (no unit's); a withdrawal while a
    /// reply is under review ends the review.
    @Test func theCentersReviewIsOnItsListUntilTheCaseIsWithdrawn() async throws {
        try await withHotline(centerReviews: true) { hotline in
            let number = try await Self.passedDown(hotline, depth: 0)
            var view = try await hotline.step(number, "reply", as: "handler:\(Self.district)", body: Self.replyBody)
            #expect(Self.underReview(view)?["reviewer"] as? String == "center")
            func reviewCards(_ who: String) async throws -> [String] {
                try await hotline.request(.get, "/api/v1/supervision/warnings", as: who).items()
                    .filter { $0["number"] as? String == number && $0["step"] as? String == "review" }
                    .map { "\($0["unit"] is NSNull ? "center" : "\($0["unit"] ?? "?")")/\($0["card"] as? String ?? "?")" }
            }
            hotline.clock.set(Timestamp.parse("2026-03-04T10:00:00+08:00")!)  // one working day was Tuesday
            #expect(try await reviewCards("dispatcher") == ["center/red"])
            #expect(try await reviewCards("supervisor") == ["center/red"])
            #expect(try await reviewCards("handler:\(Self.district)").isEmpty)
            #expect(try await reviewCards("dispatcher:\(Self.district)").isEmpty)

            view = try await hotline.step(number, "withdraw", as: "operator", body: #"{"reason": "市民撤回"}"#)
            let statuses = (view["replies"] as? [[String: Any]])?.map { $0["status"] as? String }
            #expect(statuses == ["cancelled"])
            #expect(try await reviewCards("dispatcher").isEmpty)
            let waiting = try await hotline.sql { connection in
                try await connection.query("SELECT count(*) FROM replies WHERE status = 'under_review'", logger: TestDatabase.logger)
                    .collect().first!.decode(Int.self)
            }
            #expect(waiting == 0)
        }
    }

    /// A unit assisting a case is not passed it as lead; a first contact made before a
    /// reassignment is the case's one; what a child missed stays missed when it is taken back.
    @Test func aTiersEdgesHold() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(CaseBodies.consenting())
            try await hotline.dispatch(number, lead: Self.district, assists: [Self.street])
            try await hotline.step(number, "sign", as: "handler:\(Self.district)")
            let twice = try await hotline.request(.post, "/api/v1/cases/\(number)/pass-down", as: "dispatcher:\(Self.district)",
                                                  body: json(["lead_unit": Self.street]))
            #expect(twice.status.code == 422, "\(twice.text)")
            #expect(twice.problemCode == "same_unit")
            try await hotline.step(number, "contacts", as: "handler:\(Self.district)", body: #"{"method": "visit"}"#, expect: 201)
            let view = try await hotline.step(number, "reassign", as: "dispatcher", body: #"{"lead_unit": "housing", "reason": "改派"}"#)
            #expect(view.deadline("contact", of: view.assignment("housing")) == nil, "the case's first contact was made")

            // The street misses its sign deadline; taking the case back after it does not excuse it.
            let late = try await hotline.fileCase()
            try await hotline.dispatch(late, lead: Self.district)
            try await hotline.step(late, "sign", as: "handler:\(Self.district)")
            try await hotline.step(late, "pass-down", as: "dispatcher:\(Self.district)", body: json(["lead_unit": Self.street]))
            hotline.clock.set(Timestamp.parse("2026-03-04T10:00:00+08:00")!)
            try await hotline.step(late, "take-back", as: "dispatcher:\(Self.district)", body: #"{"reason": "逾期未签收，收回"}"#)
            let street = try await LifecycleRulesTests.reportLine(hotline, Self.street)
            #expect(LifecycleRulesTests.indicator(street, "on_time_sign") == "0/1")
            #expect(street["overdue"] as? Int == 1)
        }
    }
}
