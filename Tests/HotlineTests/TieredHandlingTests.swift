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
}
