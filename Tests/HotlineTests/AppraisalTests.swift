import Foundation
import HotlineCore
import Testing

/// Appraisal (DOMAIN §9): every indicator and attribution rule on hand-computed fixtures.
@Suite("Appraisal") struct AppraisalTests {
    static func at(_ hotline: TestHotline, _ time: String) {
        hotline.clock.set(Timestamp.parse(time)!)
    }

    static func line(_ report: [String: Any], _ unit: String) -> [String: Any] {
        (report["units"] as? [[String: Any]] ?? []).first { $0["unit"] as? String == unit } ?? [:]
    }

    static func fraction(_ line: [String: Any], _ indicator: String) -> String {
        let value = (line["indicators"] as? [String: Any])?[indicator] as? [String: Any] ?? [:]
        return "\(value["numerator"] as? Int ?? -1)/\(value["denominator"] as? Int ?? -1)"
    }

    static let reply = #"{"outcome": "resolved", "text": "已处理", "contacted_citizen": true, "handler_name": "李明", "handler_phone": "13900000000"}"#

    /// Seven cases of the housing bureau in March 2026 and two of the water group (see each).
    static func march(_ hotline: TestHotline) async throws {
        // 1: on time all the way; satisfied.
        at(hotline, "2026-03-02T09:00:00+08:00")
        let c1 = try await hotline.fileCase(); try await hotline.dispatch(c1)
        let c2 = try await hotline.fileCase(); try await hotline.dispatch(c2)
        let c3 = try await hotline.fileCase(); try await hotline.dispatch(c3, lead: "water")
        let c5 = try await hotline.fileCase(); try await hotline.dispatch(c5)
        let c6 = try await hotline.fileCase(); try await hotline.dispatch(c6)
        let c7 = try await hotline.fileCase(); try await hotline.dispatch(c7)
        at(hotline, "2026-03-02T10:00:00+08:00")
        try await hotline.step(c1, "sign", as: "handler:housing")
        try await hotline.step(c6, "sign", as: "handler:housing")
        // 7: the return is rejected: an unreasonable return.
        let r7 = try await hotline.step(c7, "return-requests", as: "handler:housing", body: #"{"reason": "非本单位"}"#, expect: 201)
        at(hotline, "2026-03-02T11:00:00+08:00")
        let r7id = (r7["return_requests"] as! [[String: Any]]).last!["id"] as! Int
        try await hotline.step(c7, "return-requests/\(r7id)/reject", as: "dispatcher", body: #"{"reason": "属本单位"}"#)
        // 3: water returns it, approved: re-dispatched to housing (water's part does not count).
        let r3 = try await hotline.step(c3, "return-requests", as: "handler:water", body: #"{"reason": "非本单位"}"#, expect: 201)
        at(hotline, "2026-03-02T12:00:00+08:00")
        try await hotline.step(c7, "sign", as: "handler:housing")
        at(hotline, "2026-03-03T09:00:00+08:00")
        let r3id = (r3["return_requests"] as! [[String: Any]]).last!["id"] as! Int
        try await hotline.step(c3, "return-requests/\(r3id)/approve", as: "dispatcher", body: #"{"lead_unit": "housing"}"#)
        at(hotline, "2026-03-03T10:00:00+08:00")
        try await hotline.step(c3, "sign", as: "handler:housing")
        try await hotline.step(c6, "reply", as: "handler:housing", body: reply)
        // 2: signed late (due the 3rd), never replied.
        at(hotline, "2026-03-04T10:00:00+08:00")
        try await hotline.step(c2, "sign", as: "handler:housing")
        try await hotline.visit(c6, satisfaction: "unsatisfied", resolved: false)
        try await hotline.step(c6, "exempt", as: "dispatcher", body: #"{"reason": "诉求超出政策"}"#)  // 6: exempt
        // 5: signed late, then withdrawn: left out of everything.
        at(hotline, "2026-03-05T10:00:00+08:00")
        try await hotline.step(c5, "sign", as: "handler:housing")
        try await hotline.step(c1, "reply", as: "handler:housing", body: reply)
        at(hotline, "2026-03-06T10:00:00+08:00")
        try await hotline.step(c5, "withdraw", as: "operator", body: #"{"reason": "撤回"}"#)
        try await hotline.visit(c1, satisfaction: "satisfied")
        try await hotline.step(c3, "reply", as: "handler:housing", body: reply)
        try await hotline.step(c7, "reply", as: "handler:housing", body: reply)
        // 3: rated unsatisfied, reopened, replied again, rated basically satisfied: the latest counts.
        at(hotline, "2026-03-09T10:00:00+08:00")
        try await hotline.visit(c3, satisfaction: "unsatisfied", resolved: false)
        at(hotline, "2026-03-09T11:00:00+08:00")
        try await hotline.step(c3, "reopen", as: "dispatcher", body: #"{"reason": "未解决"}"#)
        at(hotline, "2026-03-10T10:00:00+08:00")
        try await hotline.visit(c7, satisfaction: "satisfied")
        at(hotline, "2026-03-12T10:00:00+08:00")
        try await hotline.step(c3, "reply", as: "handler:housing", body: reply)
        at(hotline, "2026-03-13T10:00:00+08:00")
        try await hotline.visit(c3, satisfaction: "basically_satisfied")
        // 2's reply (due the 9th) escalates.
        try await hotline.sweep(at: "2026-03-14T00:00:01+08:00")
        // 4: reply due 27 March, extended by 5 working days into April.
        at(hotline, "2026-03-20T09:00:00+08:00")
        let c4 = try await hotline.fileCase(); try await hotline.dispatch(c4)
        at(hotline, "2026-03-20T10:00:00+08:00")
        try await hotline.step(c4, "sign", as: "handler:housing")
        let e4 = try await hotline.step(c4, "extension-requests", as: "handler:housing", body: #"{"working_days": 5, "reason": "需协调"}"#, expect: 201)
        let e4id = (e4["extension_requests"] as! [[String: Any]]).last!["id"] as! Int
        try await hotline.step(c4, "extension-requests/\(e4id)/approve", as: "dispatcher")
        // Water: 9 replied at the very second of its deadline (31 March); 8 visited the first second of April.
        at(hotline, "2026-03-24T09:00:00+08:00")
        let c9 = try await hotline.fileCase(); try await hotline.dispatch(c9, lead: "water")
        let c8 = try await hotline.fileCase(); try await hotline.dispatch(c8, lead: "water")
        try await hotline.step(c9, "sign", as: "handler:water")
        try await hotline.step(c8, "sign", as: "handler:water")
        try await hotline.step(c8, "reply", as: "handler:water", body: reply)
        at(hotline, "2026-03-31T23:59:59+08:00")
        try await hotline.step(c9, "reply", as: "handler:water", body: reply)
        at(hotline, "2026-04-01T00:00:00+08:00")
        try await hotline.visit(c8, satisfaction: "satisfied")
    }

    @Test func everyIndicatorAndAttributionRuleOnAHandComputedMonth() async throws {
        try await withHotline { hotline in
            try await Self.march(hotline)
            Self.at(hotline, "2026-04-10T12:00:00+08:00")
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            let housing = Self.line(report, "housing")
            #expect(Self.fraction(housing, "on_time_sign") == "5/6")     // 1, 3 (round 2), 4, 6, 7 of 1, 2, 3, 4, 6, 7
            #expect(Self.fraction(housing, "on_time_reply") == "5/6")    // 2's missed; 3's reopened one counts; 4's moved to April
            #expect(Self.fraction(housing, "satisfaction") == "3/3")     // 1, 3 (latest), 7; 6 exempt
            #expect(Self.fraction(housing, "resolution") == "3/3")
            #expect(Self.fraction(housing, "reopen") == "1/5")           // 3 reopened; replies 1, 3, 3, 6, 7
            #expect(housing["unreasonable_returns"] as? Int == 1)
            #expect(housing["escalations"] as? Int == 1)
            #expect(housing["overdue"] as? Int == 1)                     // 2 (5 withdrawn)
            // 15 × 5/6 + 25 × 5/6 + 30 + 30 − 1 − 2
            #expect(housing["score"] as? Double == 90.33)
            let water = Self.line(report, "water")
            #expect(Self.fraction(water, "on_time_sign") == "2/2")       // 8, 9; 3's returned assignment left out
            #expect(Self.fraction(water, "on_time_reply") == "2/2")      // 8; 9 met at 23:59:59 on the 31st, its deadline
            #expect(Self.fraction(water, "satisfaction") == "0/0")       // 8 was visited in April
            #expect((((water["indicators"] as? [String: Any])?["satisfaction"]) as? [String: Any])?["rate"] is NSNull)
            #expect(water["overdue"] as? Int == 0)

            let april = try await hotline.request(.get, "/api/v1/appraisals/2026-04", as: "supervisor").object()
            #expect(Self.fraction(Self.line(april, "housing"), "on_time_reply") == "0/1")  // 4, due 3 April, not met
            #expect(Self.fraction(Self.line(april, "water"), "satisfaction") == "1/1")
            let year = try await hotline.request(.get, "/api/v1/appraisals/2026", as: "manager").object()
            #expect(Self.fraction(Self.line(year, "housing"), "on_time_reply") == "5/7")
            #expect(Self.fraction(Self.line(year, "housing"), "on_time_sign") == "5/6")
            #expect(Self.fraction(Self.line(year, "water"), "satisfaction") == "1/1")
            #expect(Self.line(year, "housing")["escalations"] as? Int == 1)
            #expect(Self.line(year, "housing")["overdue"] as? Int == 2)                    // 2 in March, 4 in April
            #expect(Self.fraction(Self.line(year, "housing"), "satisfaction") == "3/3")  // April: none for housing
        }
    }

    @Test func ranksWithinGroupsWithTheTieRulesAndFullMarksForNoData() async throws {
        try await withHotline { hotline in
            let tokens = try await ConcurrencyTests.tokens(hotline, 1, role: .handler, unit: "xintai")
            // taishan: perfect, with a rating; xintai: perfect, no rating, one signing; the rest: no data.
            let t = try await hotline.fileCase(); try await hotline.dispatch(t, lead: "taishan")
            try await hotline.step(t, "sign", as: "handler:taishan")
            try await hotline.step(t, "reply", as: "handler:taishan", body: Self.reply)
            try await hotline.visit(t, satisfaction: "satisfied")
            let x = try await hotline.fileCase(); try await hotline.dispatch(x, lead: "xintai")
            _ = try await hotline.request(.post, "/api/v1/cases/\(x)/sign", headers: [.authorization: "Bearer \(tokens[0])"])
            Self.at(hotline, "2026-03-04T12:00:00+08:00")
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            let districts = (report["units"] as! [[String: Any]]).filter { $0["group"] as? String == "district" }
            let ranks = Dictionary(uniqueKeysWithValues: districts.map { ($0["unit"] as! String, $0["rank"] as! Int) })
            #expect(ranks == ["taishan": 1, "xintai": 2, "daiyue": 3, "feicheng": 3, "ningyang": 3, "dongping": 3])
            let perfect = districts.allSatisfy { $0["score"] as? Double == 100 }
            #expect(perfect)
            let noData = Self.line(report, "daiyue")
            #expect(Self.fraction(noData, "on_time_sign") == "0/0")
            // A handler sees its own unit's line only.
            let own = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "handler:taishan").object()
            let ownUnits = (own["units"] as? [[String: Any]])?.map { $0["unit"] as? String }
            #expect(ownUnits == ["taishan"])
            #expect(try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "operator").status == .forbidden)
        }
    }

    @Test func weightsAreEditableAndAddUpTo100() async throws {
        try await withHotline { hotline in
            let current = try await hotline.request(.get, "/api/v1/appraisal-weights", as: "manager").object()
            #expect(current["on_time_reply"] as? Double == 25)
            let bad = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: """
                {"on_time_sign": 20, "on_time_reply": 25, "resolution": 30, "satisfaction": 30, "unreasonable_return": 1, "escalation": 2}
                """)
            #expect(bad.status == .badRequest)
            let good = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: """
                {"on_time_sign": 10, "on_time_reply": 30, "resolution": 30, "satisfaction": 30, "unreasonable_return": 0.5, "escalation": 3}
                """)
            #expect(good.status == .ok)
            #expect(try good.object()["escalation"] as? Double == 3)
            let late = try await hotline.fileCase(); try await hotline.dispatch(late, lead: "taishan")
            Self.at(hotline, "2026-03-05T12:00:00+08:00")   // sign due the 3rd, missed: 10 × 0 + 90
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            #expect(Self.line(report, "taishan")["score"] as? Double == 90)
            #expect(try await hotline.request(.put, "/api/v1/appraisal-weights", as: "dispatcher", body: "{}").status == .forbidden)
        }
    }

    @Test func publishingFreezesTheReportAndRevisionsNeedAReason() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(number)
            Self.at(hotline, "2026-03-31T12:00:00+08:00")
            let first = try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "manager", body: "{}")
            #expect(first.status == .created, "\(first.text)")
            #expect(try first.object()["revision"] as? Int == 1)
            let frozen = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "manager")
            // New events after publication: the live report changes, the revision does not.
            try await hotline.visit(number, satisfaction: "unsatisfied", resolved: false)
            let live = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            #expect(Self.fraction(Self.line(live, "housing"), "satisfaction") == "0/1")
            let again = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "supervisor")
            #expect(Array(again.body.readableBytesView) == Array(frozen.body.readableBytesView))
            #expect(Self.fraction(Self.line(try again.object(), "housing"), "satisfaction") == "0/0")
            let noReason = try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "manager", body: "{}")
            #expect(noReason.status == .badRequest)
            let second = try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "manager",
                                                   body: #"{"reason": "补录回访结果"}"#)
            #expect(try second.object()["revision"] as? Int == 2)
            let revisions = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions", as: "manager").items()
            let listed = revisions.map { "\($0["revision"] as? Int ?? 0):\($0["reason"] as? String ?? "-")" }
            #expect(listed == ["1:-", "2:补录回访结果"])
            let r2 = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/2", as: "manager").object()
            #expect(Self.fraction(Self.line(r2, "housing"), "satisfaction") == "0/1")
            #expect(try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "manager").text == frozen.text)
            #expect(try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "supervisor", body: "{}").status == .forbidden)
            // The database itself keeps a revision as it was.
            await #expect(throws: (any Error).self) {
                try await hotline.sql { try await $0.query("UPDATE appraisal_revisions SET reason = 'x'", logger: TestDatabase.logger) }
            }
        }
    }

    @Test func theSpreadsheetParsesBackWithItsChineseAndThePageIsSelfContained() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(number)
            Self.at(hotline, "2026-03-31T12:00:00+08:00")
            let csv = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager", headers: [.accept: "text/csv"])
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            let bytes = Array(csv.body.readableBytesView)
            #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
            let text = try #require(String(validating: bytes.dropFirst(3), as: UTF8.self))
            let rows = text.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(rows.first?.first == "单位代码")
            #expect(rows.first?.count == 28)
            let unitCount = try await hotline.request(.get, "/api/v1/units", as: "manager").items().count
            #expect(rows.count == unitCount + 1)
            let housingRow = rows.first { $0.first == "housing" }
            let housing = try #require(housingRow)
            #expect(housing[1] == "市住房和城乡建设局")
            #expect(housing[2] == "市直部门")
            #expect(housing[8] == "1" && housing[9] == "1" && housing[10] == "100.00")   // on-time replies
            #expect(housing[13] == "无数据")                                            // satisfaction
            let html = try await hotline.request(.get, "/api/v1/appraisals/2026-03?format=html", as: "manager")
            #expect(html.headers[.contentType] == "text/html; charset=utf-8")
            let page = html.text
            #expect(page.contains("<svg") && page.contains("<table>") && page.contains("@page { size: A4"))
            #expect(page.contains("市住房和城乡建设局"))
            #expect(!page.contains("http://") || !page.contains("src="), "no outside assets")
            #expect(!page.contains("<script") && !page.contains("<link"))
        }
    }

    /// A cell a spreadsheet would take for a formula stays text; numbers stay numbers.
    @Test func theSpreadsheetHoldsNoFormula() async throws {
        try await withHotline { hotline in
            for (code, name) in [("x1", "=HYPERLINK(\"http://example.com\",\"点我\")"), ("x2", "+1+2"), ("x3", "-3"), ("x4", "@SUM(A1:A9)")] {
                let created = try await hotline.request(.post, "/api/v1/units", as: "admin",
                                                        body: json(["code": code, "name": name, "group": "city_department"]))
                #expect(created.status == .created, "\(created.text)")
            }
            Self.at(hotline, "2026-03-31T12:00:00+08:00")
            let csv = try await hotline.request(.get, "/api/v1/appraisals/2026-03?format=csv", as: "manager").text
            let lines = csv.split(separator: "\r\n").map(String.init)
            let row = Dictionary(lines.map { (String($0.prefix(2)), $0) }, uniquingKeysWith: { first, _ in first })
            #expect(row["x1"]?.hasPrefix("x1,\"'=HYPERLINK(\"\"http://example.com\"\",\"\"点我\"\")\",") == true, "\(csv)")
            #expect(row["x2"]?.hasPrefix("x2,'+1+2,") == true)
            #expect(row["x3"]?.hasPrefix("x3,-3,") == true, "a number stays a number")
            #expect(row["x4"]?.hasPrefix("x4,'@SUM(A1:A9),") == true)
            #expect(!csv.contains(",=") && !csv.contains(",+") && !csv.contains(",@"))
        }
    }

    @Test func theCentersOwnFigures() async throws {
        try await withHotline { hotline in
            let article = try await KnowledgeTests.publish(hotline, ["unit": "hrss", "title": "养老保险缴费基数", "body": "缴费基数在规定范围内自选。"])
            for answered in [true, true, false] {
                let body = CaseBodies.make(type: "consultation", category: "social-security.pension",
                                           directAnswer: answered ? ["text": "已解答", "article_ids": [article]] : nil, channel: "wechat")
                _ = try await hotline.fileCase(json(body))
            }
            let number = try await hotline.caseInProgress(assists: [])      // a complaint by phone
            try await hotline.reply(number)                                  // visit due in 3 working days
            Self.at(hotline, "2026-03-10T12:00:00+08:00")
            try await hotline.visit(number, satisfaction: "satisfied")       // late
            let overview = try await hotline.request(.get, "/api/v1/stats/overview?period=2026-03", as: "supervisor").object()
            #expect(overview["accepted"] as? Int == 4)
            let direct = overview["direct_answer"] as? [String: Any]
            #expect(direct?["numerator"] as? Int == 2 && direct?["denominator"] as? Int == 3)
            let visits = overview["visits_on_time"] as? [String: Any]
            #expect(visits?["numerator"] as? Int == 0 && visits?["denominator"] as? Int == 1)
            let types = (overview["by_type"] as? [[String: Any]] ?? []).map { "\($0["key"] as! String):\($0["count"] as! Int)" }
            #expect(types == ["consultation:3", "complaint:1"])
            let channels = (overview["by_channel"] as? [[String: Any]] ?? []).map { "\($0["key"] as! String):\($0["count"] as! Int)" }
            #expect(channels == ["wechat:3", "phone:1"])
            let categories = overview["by_category"] as? [[String: Any]] ?? []
            #expect(categories.first?["name"] as? String == "社保缴费与养老")
            #expect(try await hotline.request(.get, "/api/v1/stats/overview?period=2026-03", as: "handler:housing").status == .forbidden)
        }
    }
}
