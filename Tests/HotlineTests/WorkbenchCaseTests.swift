import Foundation
import HTTPTypes
import HotlineCore
import HummingbirdTesting
import Testing

/// The workbench's case pages (issue 17): the forms are the lifecycle table's steps for the
/// reader, they run the REST surface's domain operations, and a unit's pages show only what
/// the API would show that unit.
@Suite("Workbench case pages") struct WorkbenchCaseTests {
    /// The `<form …id="step-…">` blocks of a page, by their anchor.
    static func forms(_ page: TestResponse) -> Set<String> {
        Set(page.text.matches(of: /id="(step-[a-z:-]+)" aria-labelledby/).map { String($0.1) })
    }

    @Test func eachReaderIsOfferedTheStepsTheTableAllowsAndAFormRunsTheStep() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            let dispatcher = try await hotline.workbench(as: "dispatcher")
            let queue = try await dispatcher.get("/workbench/queue")
            #expect(queue.status == .ok && queue.text.contains(number))
            let page = try await dispatcher.get("/workbench/cases/\(number)")
            #expect(page.status == .ok && page.text.contains("已受理"), "\(page.text)")
            // The center's dispatcher on an accepted case: dispatch (and nothing a unit does).
            #expect(Self.forms(page).contains("step-dispatch") && !Self.forms(page).contains("step-sign"), "\(Self.forms(page))")
            let operatorPage = try await hotline.workbench(as: "operator").get("/workbench/cases/\(number)")
            #expect(Self.forms(operatorPage).contains("step-supplements") && !Self.forms(operatorPage).contains("step-dispatch"))

            // Without the form's token: refused, and the case is where it was.
            let token = try #require(WorkbenchBrowser.csrf(page))
            let forged = try await dispatcher.post("/workbench/cases/\(number)/steps", [("_step", "dispatch"), ("lead_unit", "housing")])
            #expect(forged.status == .forbidden)
            #expect(try await hotline.request(.get, "/api/v1/cases/\(number)", as: "dispatcher").object()["status"] as? String == "accepted")

            // The contact, masked on the page, is revealed on asking, and the asking is on the record.
            #expect(page.text.contains("138****5678") && !page.text.contains("13812345678"))
            #expect(try await dispatcher.post("/workbench/cases/\(number)/reveal", []).status == .forbidden)
            let revealed = try await dispatcher.post("/workbench/cases/\(number)/reveal", [("csrf", token)])
            #expect(revealed.status == .ok && revealed.text.contains("13812345678") && revealed.text.contains("查看联系方式"), "\(revealed.status)")
            let kinds = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items().compactMap { $0["kind"] as? String }
            #expect(kinds.contains("contact_revealed"))

            let dispatched = try await dispatcher.post("/workbench/cases/\(number)/steps",
                                                       [("csrf", token), ("_step", "dispatch"), ("lead_unit", "housing")])
            #expect(dispatched.status == .seeOther && dispatched.headers[.location] == "/workbench/cases/\(number)?done=dispatch")
            #expect(try await hotline.request(.get, "/api/v1/cases/\(number)", as: "dispatcher").object()["status"] as? String == "dispatched")
            let after = try await dispatcher.get("/workbench/cases/\(number)?done=dispatch")
            #expect(after.text.contains("已完成：派单") && !Self.forms(after).contains("step-dispatch"))
            // The rarer steps are folded, and work the same way: an urging of the lead's signature.
            #expect(Self.forms(after).isSuperset(of: ["step-urge", "step-escalate", "step-withdraw", "step-reassign"]), "\(Self.forms(after))")
            #expect(after.text.contains("<details class=\"card step\"><summary>催办</summary>"))
            let assignments = try #require(try await hotline.request(.get, "/api/v1/cases/\(number)", as: "dispatcher").object()["assignments"] as? [[String: Any]])
            let lead = try #require(assignments.first?["id"] as? Int)
            let urged = try await dispatcher.post("/workbench/cases/\(number)/steps", [
                ("csrf", token), ("_step", "urge"), ("assignment", "\(lead)"), ("step", "sign"), ("note", "请尽快签收"),
            ])
            #expect(urged.status == .seeOther, "\(urged.status) \(urged.text)")
            let kindsAfterUrging = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items().compactMap { $0["kind"] as? String }
            #expect(kindsAfterUrging.contains("urged"))

            // The lead unit's handler: it signs, then may reply; a refused reply keeps what was typed.
            let handler = try await hotline.workbench(as: "handler:housing")
            let inbox = try await handler.get("/workbench/inbox")
            #expect(inbox.status == .ok && inbox.text.contains(number))
            let signing = try await handler.get("/workbench/cases/\(number)")
            #expect(Self.forms(signing).contains("step-sign") && !Self.forms(signing).contains("step-reply"), "\(Self.forms(signing))")
            let handlerToken = try #require(WorkbenchBrowser.csrf(signing))
            #expect(try await handler.post("/workbench/cases/\(number)/steps", [("csrf", handlerToken), ("_step", "sign")]).status == .seeOther)
            let replying = try await handler.get("/workbench/cases/\(number)")
            #expect(Self.forms(replying).contains("step-reply"))
            let refused = try await handler.post("/workbench/cases/\(number)/steps", [
                ("csrf", handlerToken), ("_step", "reply"), ("outcome", "resolved"), ("text", "已督促物业修复电梯。"),
                ("handler_name", "李明"), ("handler_phone", "not a phone"),
            ])
            #expect(refused.status == .badRequest, "\(refused.status)")
            #expect(refused.text.contains("aria-invalid=\"true\" aria-describedby=\"reply-handler_phone-problem\""), "\(refused.text)")
            #expect(refused.text.contains("已督促物业修复电梯。") && refused.text.contains("value=\"李明\""))
            // Said in Chinese beside the field, and above the form with the field's label.
            #expect(refused.text.contains("<span class=\"field-problem\" id=\"reply-handler_phone-problem\">请填写电话号码")
                    && refused.text.contains("承办人电话：请填写电话号码"), "\(refused.text)")
            #expect(try await hotline.request(.get, "/api/v1/cases/\(number)", as: "dispatcher").object()["status"] as? String == "in_progress")
        }
    }

    @Test func aHandlerNeverSeesAnotherUnitsCaseNorAReportsIdentity() async throws {
        try await withHotline { hotline in
            // A report whose text names the citizen: the lead unit sees neither name nor number.
            let report = try await hotline.fileCase(json(CaseBodies.make(
                type: "report", description: "我是赵敏，电话13987654321，举报小区违建。", name: "赵敏", phone: "13987654321")))
            try await hotline.request(.post, "/api/v1/cases/\(report)/dispatch", as: "dispatcher", body: #"{"lead_unit": "housing"}"#)
            let other = try await hotline.fileCase()
            try await hotline.request(.post, "/api/v1/cases/\(other)/dispatch", as: "dispatcher", body: #"{"lead_unit": "water"}"#)

            let handler = try await hotline.workbench(as: "handler:housing")
            let inbox = try await handler.get("/workbench/inbox")
            #expect(inbox.text.contains(report) && !inbox.text.contains(other))
            let page = try await handler.get("/workbench/cases/\(report)")
            #expect(page.status == .ok)
            for secret in ["赵敏", "13987654321", "987654321"] {
                #expect(!page.text.contains(secret), "\(secret) is on the handler's page")
            }
            let refused = try await handler.get("/workbench/cases/\(other)")
            #expect(refused.status == .notFound && !refused.text.contains("违建"))
            // The unit's ledger: its cases only, nobody's identity, a CSV a spreadsheet reads as UTF-8.
            let ledger = try await handler.get("/workbench/ledger.csv")
            #expect(ledger.status == .ok && ledger.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(Array(ledger.body.readableBytesView.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(ledger.text.contains(report) && !ledger.text.contains(other), "\(ledger.text)")
            #expect(!ledger.text.contains("赵敏") && !ledger.text.contains("987654321"))
            // A handler has no dispatcher's queue.
            #expect(try await handler.get("/workbench/queue").status == .forbidden)
        }
    }

    @Test func theIntakeFormFilesOnceWhenPostedTwiceAndKeepsWhatWasTypedWhenRefused() async throws {
        try await withHotline { hotline in
            let operatorBrowser = try await hotline.workbench(as: "operator")
            let page = try await operatorBrowser.get("/workbench/intake")
            #expect(page.status == .ok && page.text.contains("<label for=\"intake-citizen-phone\">联系电话</label>"))
            let token = try #require(WorkbenchBrowser.csrf(page))
            let once = try #require(WorkbenchBrowser.hidden("once", in: page))
            var fields: [(String, String)] = [
                ("csrf", token), ("once", once), ("channel", "phone"), ("type", "complaint"), ("urgency", "normal"),
                ("category", "housing.property"), ("subject", "楼道堆放杂物"), ("description", "红门路1号楼道长期堆放杂物。"),
                ("location.region", "taishan"), ("citizen.name", "李四"), ("citizen.phone", "1391"),
            ]
            let cases = try await hotline.count("cases")
            let refused = try await operatorBrowser.post("/workbench/intake", fields)
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains("aria-describedby=\"intake-citizen-phone-problem\"") && refused.text.contains("value=\"楼道堆放杂物\"")
                    && refused.text.contains("红门路1号楼道长期堆放杂物。") && refused.text.contains("value=\"\(once)\""), "\(refused.text)")
            #expect(try await hotline.count("cases") == cases)

            fields[fields.count - 1] = ("citizen.phone", "13912345678")
            let filed = try await operatorBrowser.post("/workbench/intake", fields)
            let again = try await operatorBrowser.post("/workbench/intake", fields)
            #expect(filed.status == .seeOther && again.status == .seeOther)
            #expect(filed.headers[.location] == again.headers[.location])
            #expect(try await hotline.count("cases") == cases + 1)
            let number = try #require(WorkbenchBrowser.caseNumber(filed.headers[.location]))
            // The intake's warnings, said on the case page it leads to: here none.
            let shown = try await operatorBrowser.get(try #require(filed.headers[.location]))
            #expect(shown.text.contains("已受理") && !shown.text.contains("class=\"warning\""))
            let stored = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "operator").object()
            #expect(stored["subject"] as? String == "楼道堆放杂物" && (stored["location"] as? [String: Any])?["region"] as? String == "taishan")

            // A description that repeats the citizen's phone: filed, and the operator is told.
            let secondForm = try await operatorBrowser.get("/workbench/intake")
            let once2 = try #require(WorkbenchBrowser.hidden("once", in: secondForm))
            var repeating = fields
            repeating[1] = ("once", once2)
            repeating[7] = ("description", "市民李四（电话13912345678）反映楼道堆放杂物。")
            let warned = try await operatorBrowser.post("/workbench/intake", repeating)
            let warnedPage = try await operatorBrowser.get(try #require(warned.headers[.location]))
            #expect(warnedPage.text.contains("诉求内容中写有市民的电话") && warnedPage.text.contains("诉求内容中写有市民的姓名"), "\(warnedPage.text)")

            // As they type: the similar cases of the phone just filed, as a piece of the page.
            let similar = try await operatorBrowser.get("/workbench/intake/similar?phone=13912345678")
            #expect(similar.status == .ok && similar.text.contains(number) && similar.text.contains("同一来电号码"), "\(similar.text)")
        }
    }

    @Test func aManagerPublishesTheMonthFromItsPageAndASupervisorOnlyReads() async throws {
        try await withHotline { hotline in
            let manager = try await hotline.workbench(as: "manager")
            let page = try await manager.get("/workbench/appraisal?period=2026-02")
            #expect(page.status == .ok && page.text.contains("本期尚未发布") && page.text.contains("发布本期考评"), "\(page.text)")
            let token = try #require(WorkbenchBrowser.csrf(page))
            let published = try await manager.post("/workbench/appraisal/publish", [("csrf", token), ("period", "2026-02")])
            #expect(published.status == .ok && published.text.contains("已发布第 1 版"), "\(published.text)")
            let revisions = try await hotline.request(.get, "/api/v1/appraisals/2026-02/revisions", as: "manager").items()
            #expect(revisions.count == 1)
            // Again without saying why: refused on the page, nothing published.
            let again = try await manager.post("/workbench/appraisal/publish", [("csrf", token), ("period", "2026-02")])
            #expect(again.text.contains("未能发布"), "\(again.text)")
            #expect(try await hotline.request(.get, "/api/v1/appraisals/2026-02/revisions", as: "manager").items().count == 1)

            // The scheme and weights: Beijing's three rates, then a set that does not add up, refused.
            let weightsPage = try await manager.get("/workbench/appraisal?period=2026-02")
            #expect(weightsPage.text.contains("<label for=\"weights-three_rates-response\">三率：响应率权重</label>"), "\(weightsPage.text)")
            let threeRates = try await manager.post("/workbench/appraisal/weights", [
                ("csrf", token), ("scheme", "three_rates"), ("on_time_sign", "25"), ("on_time_reply", "25"), ("resolution", "25"),
                ("satisfaction", "25"), ("unreasonable_return", "1"), ("escalation", "2"),
                ("three_rates.response", "20"), ("three_rates.resolution", "40"), ("three_rates.satisfaction", "40"),
            ])
            #expect(threeRates.status == .ok && threeRates.text.contains("已保存考评方案与权重"), "\(threeRates.text)")
            let stored = try await hotline.request(.get, "/api/v1/appraisal-weights", as: "manager").object()
            #expect(stored["scheme"] as? String == "three_rates" && (stored["three_rates"] as? [String: Any])?["response"] as? Double == 20)
            let unbalanced = try await manager.post("/workbench/appraisal/weights", [
                ("csrf", token), ("scheme", "three_rates"), ("on_time_sign", "25"), ("on_time_reply", "25"), ("resolution", "25"),
                ("satisfaction", "25"), ("unreasonable_return", "1"), ("escalation", "2"),
                ("three_rates.response", "20"), ("three_rates.resolution", "40"), ("three_rates.satisfaction", "30"),
            ])
            #expect(unbalanced.status == .unprocessableContent && unbalanced.text.contains("合计须为 100")
                    && unbalanced.text.contains("value=\"30\""), "\(unbalanced.text)")

            let supervisor = try await hotline.workbench(as: "supervisor")
            let read = try await supervisor.get("/workbench/appraisal?period=2026-02")
            #expect(read.status == .ok && read.text.contains("第 1 版") && !read.text.contains("发布本期考评"))
            #expect(try await supervisor.get("/workbench/escalations?period=2026-03").status == .ok)
            let handler = try await hotline.workbench(as: "handler:housing")
            #expect(try await handler.get("/workbench/appraisal").status == .forbidden)
            #expect(try await handler.get("/workbench/escalations").status == .forbidden)
        }
    }

    @Test func aUnitWritesAnArticlePublishesItAndTheOperatorFindsItAsTheyType() async throws {
        try await withHotline { hotline in
            let handler = try await hotline.workbench(as: "handler:housing")
            let list = try await handler.get("/workbench/knowledge")
            #expect(list.status == .ok && list.text.contains("新条目"))
            let token = try #require(WorkbenchBrowser.csrf(list))
            // No title: refused beside the field, in Chinese, the body kept.
            let refused = try await handler.post("/workbench/knowledge", [("csrf", token), ("body", "电梯困人请拨打96333。")])
            #expect(refused.status == .badRequest && refused.text.contains("电梯困人请拨打96333。")
                    && refused.text.contains("id=\"article-title-problem\">必填"), "\(refused.text)")
            let saved = try await handler.post("/workbench/knowledge", [
                ("csrf", token), ("title", "电梯故障报修"), ("body", "电梯困人请拨打96333，物业须30分钟内到场。"),
                ("category", "housing.property"), ("keywords", "电梯，困人, 维修"),
            ])
            #expect(saved.status == .seeOther, "\(saved.text)")
            let page = try #require(saved.headers[.location])
            let article = try await handler.get(page)
            #expect(article.text.contains("草稿") && article.text.contains("value=\"电梯，困人，维修\""), "\(article.text)")
            let id = try #require(page.split(separator: "/").last.map(String.init))
            let published = try await handler.post("/workbench/knowledge/\(id)/publish", [("csrf", token)])
            #expect(published.status == .ok && published.text.contains("已发布"))
            let stored = try await hotline.request(.get, "/api/v1/knowledge/\(id)", as: "operator").object()
            #expect(stored["status"] as? String == "published" && stored["keywords"] as? [String] == ["电梯", "困人", "维修"])

            let operatorBrowser = try await hotline.workbench(as: "operator")
            let found = try await operatorBrowser.get("/workbench/intake/knowledge?q=电梯故障")
            #expect(found.text.contains("[\(id)] 电梯故障报修"), "\(found.text)")
            // Another unit's handler cannot change it.
            let other = try await hotline.workbench(as: "handler:water")
            let otherToken = try #require(WorkbenchBrowser.csrf(try await other.get("/workbench/knowledge")))
            let taken = try await other.post("/workbench/knowledge/\(id)/withdraw", [("csrf", otherToken)])
            #expect(taken.status == .forbidden || taken.status == .notFound, "\(taken.status)")
            #expect(try await hotline.request(.get, "/api/v1/knowledge/\(id)", as: "operator").object()["status"] as? String == "published")
        }
    }
}
