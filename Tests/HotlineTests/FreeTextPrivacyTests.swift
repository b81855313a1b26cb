import Foundation
import HotlineCore
import Testing

/// DOMAIN §10, "free text is identity too": a citizen's identity written into any free text of a
/// case reaches no unit, in any response, while the center reads what was written.
@Suite("Free-text privacy") struct FreeTextPrivacyTests {
    static let name = "欧阳娜娜"
    static let phone = "13987654321"
    static let otherPhone = "158 6666 7777"
    static let idCard = "370902199001011235"
    static let bankCard = "6222 0212 3456 7890 123"
    /// Everything of the citizen the text holds, whole and as it could be rewritten.
    static let whole = [name, phone, otherPhone, "15866667777", idCard, bankCard, "6222021234567890123"]
    /// On a report or confidential case not even the masked forms reach a unit.
    static let masked = ["欧**", "139****4321", "158****7777", "370****1235", "622****0123"]
    /// What stands where identity was removed.
    static let removed = "（已隐去）"

    /// Text that repeats the citizen, as citizens and operators write it.
    static func said(_ what: String) -> String {
        "\(what)：我叫\(name)，电话\(phone)，另一个号码\(otherPhone)，身份证\(idCard)，银行卡\(bankCard)。"
    }

    static func post(_ hotline: TestHotline, _ number: String, _ path: String, as who: String, _ body: [String: Any],
                     expect status: Int = 200) async throws {
        try await hotline.step(number, path, as: who, body: json(body), expect: status)
    }

    /// Everything a unit reads of a case and of the lists that hold it.
    static func unitReads(_ hotline: TestHotline, _ number: String, as who: String) async throws -> [String] {
        var texts: [String] = []
        for path in [
            "/api/v1/cases/\(number)", "/api/v1/cases/\(number)/timeline", "/api/v1/cases", "/api/v1/cases?q=\(number)",
            "/api/v1/cases?q=\(phone)", "/api/v1/cases?q=\(name)", "/api/v1/cases?q=\(idCard)", "/api/v1/inbox",
            "/api/v1/supervision/warnings", "/api/v1/appraisals/2026-03", "/api/v1/appraisals/2026-03?format=csv",
            "/api/v1/appraisals/2026-03?format=html", "/open311/v2/requests.json",
        ] {
            let path = path.replacingOccurrences(of: name, with: name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!)
            texts.append(try await hotline.request(.get, path, as: who).text)
        }
        return texts
    }

    @Test(arguments: ["report", "confidential", "ordinary"])
    func noIdentityInFreeTextReachesAUnit(kind: String) async throws {
        try await withHotline { hotline in
            // setup: a case whose every free text repeats the citizen
            let protected = kind != "ordinary"
            let filed = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(CaseBodies.make(
                type: kind == "report" ? "report" : "complaint", subject: "\(Self.name)反映电梯停运，电话\(Self.phone)",
                description: Self.said("电梯停运一周"), name: Self.name, phone: Self.phone, confidential: kind == "confidential"
            )))
            #expect(filed.status == .created)
            let intake = try filed.object()
            let number = try #require(intake["number"] as? String)
            let warnings = (intake["warnings"] as? [[String: Any]] ?? []).map { "\($0["field"]!):\($0["code"]!)" }
            #expect(Set(warnings).isSuperset(of: ["description:citizen_name_in_text", "description:citizen_phone_in_text",
                                                  "description:id_card_in_text", "subject:citizen_name_in_text"]), "\(warnings)")

            // act: every step that takes free text, with the citizen in it
            var texts: [String] = []
            try await Self.post(hotline, number, "dispatch", as: "dispatcher", [
                "lead_unit": "housing", "assist_units": ["environment"], "note": Self.said("派单"),
            ])
            try await hotline.step(number, "sign", as: "handler:housing")
            try await hotline.step(number, "sign", as: "handler:environment")
            try await hotline.step(number, "urge", as: "dispatcher",
                                   body: try await hotline.supervising(number, step: "reply", ["note": Self.said("催办")]), expect: 201)
            let returned = try await hotline.step(number, "return-requests", as: "handler:housing",
                                                  body: json(["reason": Self.said("退单")]), expect: 201)
            let returnId = try #require((returned["return_requests"] as? [[String: Any]])?.last?["id"] as? Int)
            try await Self.post(hotline, number, "return-requests/\(returnId)/reject", as: "dispatcher", ["reason": Self.said("驳回")])
            let extended = try await hotline.step(number, "extension-requests", as: "handler:housing",
                                                  body: json(["working_days": 2, "reason": Self.said("延期")]), expect: 201)
            let extensionId = try #require((extended["extension_requests"] as? [[String: Any]])?.last?["id"] as? Int)
            try await Self.post(hotline, number, "extension-requests/\(extensionId)/approve", as: "dispatcher", [:])
            try await Self.post(hotline, number, "opinions", as: "handler:environment", ["text": Self.said("意见")], expect: 201)
            try await Self.post(hotline, number, "notes", as: "handler:housing", ["text": Self.said("进展")], expect: 201)
            texts += try await Self.unitReads(hotline, number, as: "handler:housing")
            try await Self.post(hotline, number, "reply", as: "handler:housing", [
                "outcome": "resolved", "text": Self.said("答复"), "contacted_citizen": true,
                "handler_name": "李明", "handler_phone": "0538-8221234",
            ])
            try await Self.post(hotline, number, "visits", as: "operator", [
                "reached": true, "satisfaction": "unsatisfied", "resolved": false, "note": Self.said("回访"),
            ], expect: 201)
            try await Self.post(hotline, number, "exempt", as: "dispatcher", ["reason": Self.said("免考核")])
            try await Self.post(hotline, number, "reopen", as: "operator", ["reason": Self.said("重办")])

            // verify: no unit, and no supervisor, reads the citizen in any of it, a week on, when
            // the case's deadlines are on the warning lists too
            hotline.clock.set(Timestamp.parse("2026-03-10T10:00:00+08:00")!)
            // the reopen's reply deadline has passed: escalated by hand, with the citizen in the reason
            try await hotline.step(number, "escalate", as: "dispatcher",
                                   body: try await hotline.supervising(number, step: "reply", ["reason": Self.said("升级")]), expect: 201)
            for unit in ["housing", "environment"] {
                texts += try await Self.unitReads(hotline, number, as: "handler:\(unit)")
            }
            // The lists read really hold the case: the masking is seen, not the list's absence.
            for path in ["/api/v1/inbox", "/api/v1/supervision/warnings", "/api/v1/cases?q=电梯停运"] {
                let listed = try await hotline.request(.get, path, as: "handler:housing").text
                #expect(listed.contains(number), "\(path) does not list the case: \(listed.prefix(200))")
            }
            let escalations = try await hotline.request(.get, "/api/v1/supervision/escalations", as: "supervisor").text
            #expect(escalations.contains(number))
            let supervisor = try await Self.unitReads(hotline, number, as: "supervisor")
                + [escalations, try await hotline.request(.get, "/api/v1/supervision/accountability?period=2026-03", as: "supervisor").text]
            // On a report or confidential case a unit reads no trace of the citizen at all; the
            // supervisors, who are no unit, read them masked like a unit of an ordinary case.
            for text in texts {
                for trace in protected ? Self.whole + Self.masked : Self.whole {
                    #expect(!text.contains(trace), "\(kind): \(trace) reached a unit: \(text.prefix(300))")
                }
            }
            for text in supervisor {
                for trace in Self.whole {
                    #expect(!text.contains(trace), "\(kind): \(trace) reached a supervisor: \(text.prefix(300))")
                }
            }
            // The lead unit does read the case, masked or with the identity removed.
            let lead = try await hotline.view(number, as: "handler:housing")
            let description = try #require(lead["description"] as? String)
            #expect(description.contains(protected ? Self.removed : "139****4321"), "\(description)")
            #expect(description.contains("电梯停运一周"))
            let found = try await hotline.request(.get, "/api/v1/cases?q=电梯停运", as: "handler:housing").items()
            let foundNumbers = found.compactMap { $0["number"] as? String }
            #expect(foundNumbers == [number])

            // The center reads every text as it was written.
            let center = try await hotline.view(number, as: "dispatcher")
            #expect(center["description"] as? String == Self.said("电梯停运一周"))
            #expect((center["reply"] as? [String: Any])?["text"] as? String == Self.said("答复"))
            let timeline = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline?limit=500", as: "dispatcher").text
            for what in ["派单", "催办", "升级", "退单", "驳回", "延期", "进展", "免考核", "重办"] {
                #expect(timeline.contains(Self.said(what)), "the center's timeline lacks \(what)")
            }
            let byPhone = try await hotline.request(.get, "/api/v1/cases?q=\(Self.phone)", as: "dispatcher").items()
            let byPhoneNumbers = byPhone.compactMap { $0["number"] as? String }
            #expect(byPhoneNumbers == [number])
        }
    }

    /// Cases of before the search vectors (or cut by an older detector) get them from `hotline
    /// reindex`, cut as intake cuts them.
    @Test func reindexGivesOlderCasesTheirVectors() async throws {
        try await withHotline { hotline in
            // setup: a case as it was stored before
            let number = try await hotline.fileCase(json(CaseBodies.make(description: "电梯停运，回电\(Self.phone)", phone: Self.phone)))
            try await hotline.dispatch(number)
            try await hotline.sql { connection in
                _ = try await connection.query("UPDATE cases SET search_units = NULL, search_center = NULL, search_version = NULL",
                                               logger: TestDatabase.logger)
            }
            func found(_ q: String, as who: String) async throws -> [String] {
                try await hotline.request(.get, "/api/v1/cases?q=\(q)", as: who).items().compactMap { $0["number"] as? String }
            }
            #expect(try await found("停运", as: "handler:housing").isEmpty)
            // act
            let done = try await CaseSearch.reindex(database: hotline.database, logger: TestDatabase.logger)
            // verify
            #expect(done == 1)
            #expect(try await found("停运", as: "handler:housing") == [number])
            #expect(try await found(Self.phone, as: "handler:housing").isEmpty)
            #expect(try await found(Self.phone, as: "dispatcher") == [number])
            #expect(try await CaseSearch.reindex(database: hotline.database, logger: TestDatabase.logger) == 0)
        }
    }

    /// What the public sees of a case, a disclosure and a citizen's own lookup, holds no one.
    @Test func thePublicReadsNoIdentity() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(json(CaseBodies.make(description: Self.said("电梯停运"), name: Self.name,
                                                                            phone: Self.phone)))
            try await hotline.dispatch(number)
            try await hotline.step(number, "sign", as: "handler:housing")
            try await Self.post(hotline, number, "reply", as: "handler:housing", [
                "outcome": "resolved", "text": Self.said("答复"), "contacted_citizen": true,
                "handler_name": "李明", "handler_phone": "0538-8221234",
            ])
            try await hotline.visit(number)
            try await Self.post(hotline, number, "disclose", as: "dispatcher", ["summary": Self.said("公开")], expect: 201)
            let progress = try await hotline.request(.get, "/public/cases/\(number)?phone_last4=4321")
            #expect(progress.status == .ok)
            let disclosures = try await hotline.request(.get, "/public/disclosures")
            for text in [progress.text, disclosures.text] {
                for trace in Self.whole + Self.masked {
                    #expect(!text.contains(trace), "\(trace) reached the public: \(text)")
                }
            }
            #expect(progress.text.contains(Self.removed))
            #expect(disclosures.text.contains(Self.removed))
        }
    }
}
