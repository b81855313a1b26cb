import Foundation
import HotlineCore
import Testing

/// DOMAIN §15: the operator sees the same matter while the citizen is on the line; a phone that
/// called before makes a repeat call; a call about an open case is a supplement to it.
@Suite("Repeats") struct RepeatsTests {
    struct Fixture: Decodable {
        struct Request: Decodable {
            let subject: String
            let description: String
            var text: String { subject + "\n" + description }
        }
        struct Group: Decodable {
            let category: String
            let region: String
            let filed: Request
            let same: Request
            let other: Request
        }
        let groups: [Group]

        static func load() throws -> Fixture {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/similar-requests.json")
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        }
    }

    /// A case of the fixture: its own phone, its region and no address, so that it matches by
    /// its text alone.
    static func body(_ request: Fixture.Request, category: String, region: String?, phone: String?,
                     latitude: Double? = nil, longitude: Double? = nil) -> String {
        var body = CaseBodies.make(category: category, subject: request.subject, description: request.description,
                                   region: region, phone: phone)
        var location: [String: Any] = [:]
        if let region { location["region"] = region }
        if let latitude, let longitude { location["latitude"] = latitude; location["longitude"] = longitude }
        body["location"] = location.isEmpty ? nil : location
        return json(body)
    }

    static func similarPath(_ parameters: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let query = parameters.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
            .joined(separator: "&")
        return "/api/v1/cases/similar?" + query
    }

    func similar(_ hotline: TestHotline, _ parameters: [String: String], as who: String = "operator") async throws -> [[String: Any]] {
        let response = try await hotline.request(.get, Self.similarPath(parameters), as: who)
        guard response.status == .ok else { throw TestFailure("similar: \(response.status) \(response.text)") }
        return try response.items()
    }

    @Test func theFixtureFindsEachSameMatterFirstAndNoOtherMatterAboveTheThreshold() async throws {
        let fixture = try Fixture.load()
        try await withHotline { hotline in
            var filed: [String] = [], others: [String] = []
            var sameScores: [Double] = [], otherScores: [Double] = []
            for (index, group) in fixture.groups.enumerated() {
                filed.append(try await hotline.fileCase(Self.body(group.filed, category: group.category, region: group.region,
                                                                  phone: "1390000\(String(format: "%04d", index * 2))")))
                others.append(try await hotline.fileCase(Self.body(group.other, category: group.category, region: group.region,
                                                                   phone: "1390000\(String(format: "%04d", index * 2 + 1))")))
            }
            for (index, group) in fixture.groups.enumerated() {
                // The same matter in other words: its case first, found by the text.
                let found = try await similar(hotline, ["category": group.category, "region": group.region, "text": group.same.text])
                #expect(found.first?["number"] as? String == filed[index], "\(group.category): \(found)")
                let reasons = (found.first?["reasons"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
                #expect(reasons == ["similar_text"], "\(group.category): \(found)")
                #expect((found.first?["score"] as? Double ?? 0) >= SimilarCases.threshold)
                // Another matter that shares words: neither lists the other.
                let fromOther = try await similar(hotline, ["category": group.category, "region": group.region, "text": group.other.text])
                    .compactMap { $0["number"] as? String }
                #expect(!fromOther.contains(filed[index]), "\(group.category): \(fromOther)")
                let fromFiled = try await similar(hotline, ["category": group.category, "region": group.region, "text": group.filed.text])
                    .compactMap { $0["number"] as? String }
                #expect(!fromFiled.contains(others[index]), "\(group.category): \(fromFiled)")
                // The other matter's own case finds the text of its own kind only.
                #expect(fromOther.first == others[index], "\(group.category): \(fromOther)")
                // The scorer agrees with itself on the texts.
                let sameScore = SimilarCases.similarity(group.same.text, group.filed.text)
                let otherScore = SimilarCases.similarity(group.other.text, group.filed.text)
                #expect(sameScore >= SimilarCases.threshold && otherScore < SimilarCases.threshold,
                        "\(group.category): same \(sameScore), other \(otherScore)")
                sameScores.append(sameScore)
                otherScores.append(otherScore)
            }
            // The margins, for the README.
            print("similar-requests.json: same matter \(sameScores.min()!)–\(sameScores.max()!), other \(otherScores.min()!)–\(otherScores.max()!)")
            // A text route is the category's and region's: another region finds none of them.
            let group = fixture.groups[0]
            let elsewhere = try await similar(hotline, ["category": group.category, "region": "daiyue", "text": group.same.text])
            #expect(elsewhere.isEmpty, "\(elsewhere)")
            // Without a region, the category's cases of every region.
            let anyRegion = try await similar(hotline, ["category": group.category, "text": group.same.text])
            #expect(anyRegion.first?["number"] as? String == filed[0])
            // A text is compared within 7 days: 8 days on, the same words find nothing.
            hotline.clock.advance(by: 8 * 86_400)
            let later = try await similar(hotline, ["category": group.category, "region": group.region, "text": group.same.text])
            #expect(later.isEmpty, "\(later)")
        }
    }

    @Test func aPhoneThatCalledInThe30DaysBeforeMakesARepeatCallListedForTheCenterOnly() async throws {
        try await withHotline { hotline in
            let phone = "13912340001"
            // No address: the cases are alike by their phone only.
            func body(category: String = "housing.property", subject: String = "小区电梯停运一周无人维修",
                      description: String = "3号楼电梯停运一周，物业不予维修。", phone: String) -> String {
                var body = CaseBodies.make(category: category, subject: subject, description: description, phone: phone)
                body["location"] = ["region": "taishan"]
                return json(body)
            }
            let first = try await hotline.fileCase(body(phone: phone))
            try await hotline.dispatch(first)
            hotline.clock.advance(by: 3 * 86_400)
            let created = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                body: body(category: "utilities.water", subject: "停水", description: "家中停水两天。", phone: phone))
            #expect(created.status == .created, "\(created.text)")
            let intake = try created.object()
            let second = try #require(intake["number"] as? String)
            #expect(intake["repeat_of"] as? [String] == [first])
            // The answer to the intake lists the earlier case, and why: the phone, not the text.
            let listed = try #require(intake["similar"] as? [[String: Any]])
            let listedNumbers = listed.map { $0["number"] as? String }
            let listedReasons = (listed.first?["reasons"] as? [[String: Any]])?.map { $0["kind"] as? String }
            #expect(listedNumbers == [first], "\(listed)")
            #expect(listedReasons == ["same_phone"])
            #expect(try await hotline.view(second)["repeat_of"] as? [String] == [first])
            // Which cases a phone made is the center's: not a supervisor's, not an exchange client's.
            #expect(try await hotline.view(second, as: "supervisor")["repeat_of"] == nil)
            #expect(try await hotline.request(.get, Self.similarPath(["phone": phone]), as: "supervisor").status == .forbidden)
            var sent = CaseBodies.make(phone: phone, channel: "upper_platform")
            sent["source"] = ["system": "province", "id": "SD-REPEAT-1"]
            let fromProvince = try await hotline.request(.post, "/api/v1/cases", as: "exchange", body: json(sent))
            #expect(fromProvince.status == .created, "\(fromProvince.text)")
            let provinceAnswer = try fromProvince.object()
            #expect(provinceAnswer["repeat_of"] == nil && provinceAnswer["similar"] == nil, "\(provinceAnswer)")
            let provinceCase = try #require(provinceAnswer["number"] as? String)
            try await hotline.step(provinceCase, "withdraw", as: "operator", body: json(["reason": "省平台撤回"]))
            // A unit reads neither which cases a phone made nor a list of others.
            try await hotline.dispatch(second, lead: "water")
            let unitView = try await hotline.view(second, as: "handler:water")
            #expect(unitView["repeat_of"] == nil && unitView["similar"] == nil, "\(unitView)")
            let refused = try await hotline.request(.get, Self.similarPath(["phone": phone]), as: "handler:water")
            #expect(refused.status == .forbidden)
            #expect(try await hotline.request(.get, Self.similarPath(["phone": phone]), as: "dispatcher:taishan").status == .forbidden)
            // Another phone makes no repeat call.
            let other = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                  body: body(phone: "13912340002")).object()
            #expect(other["repeat_of"] as? [String] == [])
            // 40 days on, the first case is past the 30 days of a repeat call, but still open: the
            // operator still sees it by the phone; the province's, closed, is gone from the list.
            hotline.clock.advance(by: 40 * 86_400)
            let late = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                 body: body(subject: "物业费", description: "物业乱收费。", phone: phone)).object()
            #expect(late["repeat_of"] as? [String] == [], "\(late)")
            let still = try await similar(hotline, ["phone": phone]).compactMap { $0["number"] as? String }
            #expect(Set(still) == [first, second, try #require(late["number"] as? String)], "\(still)")
            // The center's figures count the repeat calls of March: the second case and the province's.
            let overview = try await hotline.request(.get, "/api/v1/stats/overview?period=2026-03", as: "manager").object()
            #expect(overview["repeat_calls"] as? Int == 2, "\(overview)")
        }
    }

    @Test func aCaseWithin200MetresIsListedWithItsDistanceAndOneFartherIsNot() async throws {
        try await withHotline { hotline in
            let request = Fixture.Request(subject: "路灯不亮", description: "东岳大街人行道路灯不亮。")
            let near = try await hotline.fileCase(Self.body(request, category: "urban.street-vendors", region: "taishan",
                                                            phone: "13912340003", latitude: 36.1950, longitude: 117.1200))
            // About 100 m north, then about 300 m north.
            let found = try await similar(hotline, ["latitude": "36.1959", "longitude": "117.12"])
            let foundNumbers = found.map { $0["number"] as? String }
            #expect(foundNumbers == [near], "\(found)")
            let reason = try #require((found.first?["reasons"] as? [[String: Any]])?.first)
            #expect(reason["kind"] as? String == "nearby")
            let metres = try #require(reason["distance_m"] as? Int)
            #expect((95...105).contains(metres), "\(metres)")
            #expect(try await similar(hotline, ["latitude": "36.1977", "longitude": "117.12"]).isEmpty)
            // About 150 m south and 150 m east (212 m): inside the index's box, outside the radius.
            _ = try await hotline.fileCase(Self.body(request, category: "urban.street-vendors", region: "taishan",
                                                     phone: "13912340004", latitude: 36.1950 - 0.001348, longitude: 117.1200 + 0.001670))
            let fromNear = try await similar(hotline, ["latitude": "36.1950", "longitude": "117.12"]).map { $0["number"] as? String }
            #expect(fromNear == [near], "\(fromNear)")
        }
    }

    @Test func aSupplementIsAddedToTheOpenCaseMaskedForItsUnitsAndCountedAsARepeatCall() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            let text = "市民张三再次来电催办，电梯仍未修好，回电13812345678。"
            let added = try await hotline.step(number, "supplements", as: "operator", body: json(["text": text]), expect: 201)
            #expect((added["supplements"] as? [[String: Any]])?.first?["text"] as? String == text)
            // The unit reads it, without the citizen.
            let unit = try await hotline.view(number, as: "handler:housing")
            let shown = try #require((unit["supplements"] as? [[String: Any]])?.first?["text"] as? String)
            #expect(shown.contains("电梯仍未修好") && !shown.contains("13812345678") && !shown.contains("张三"), "\(shown)")
            #expect(try await hotline.kinds(number).last == "supplemented")
            // Only an operator adds one; not to a closed case; a duplicate's goes to its master.
            try await hotline.step(number, "supplements", as: "handler:housing", body: json(["text": "催办"]), expect: 403)
            try await hotline.step(number, "supplements", as: "operator", body: json(["text": ""]), expect: 400)
            let duplicate = try await hotline.fileCase()
            try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": number]))
            let refused = try await hotline.request(.post, "/api/v1/cases/\(duplicate)/supplements", as: "operator",
                                                    body: json(["text": "催办"]))
            #expect(refused.status == .conflict && refused.text.contains(number), "\(refused.text)")
            let closed = try await hotline.fileCase()
            try await hotline.step(closed, "withdraw", as: "operator", body: json(["reason": "市民撤诉"]))
            try await hotline.step(closed, "supplements", as: "operator", body: json(["text": "催办"]), expect: 409)
            // One supplement, and the two cases filed after the first from the same phone: three repeat calls.
            let overview = try await hotline.request(.get, "/api/v1/stats/overview?period=2026-03", as: "manager").object()
            #expect(overview["repeat_calls"] as? Int == 3, "\(overview)")
        }
    }

    @Test func aCaseOfTheSamePhoneAndCategoryWithin30DaysOfAUnitsReplyIsItsRepeatComplaintShownNotScored() async throws {
        try await withHotline { hotline in
            let phone = "13912340009"
            func file(_ category: String = "housing.property") async throws -> String {
                try await hotline.fileCase(json(CaseBodies.make(category: category, phone: phone)))
            }
            let first = try await file()
            try await hotline.dispatch(first)
            try await hotline.step(first, "sign", as: "handler:housing")
            try await hotline.reply(first)
            let before = AppraisalTests.line(try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object(), "housing")
            #expect(before["repeat_complaints"] as? Int == 0)
            hotline.clock.advance(by: 5 * 86_400)
            _ = try await file()                          // the same matter again: a repeat complaint of housing's
            _ = try await file("utilities.water")         // another category: none
            hotline.clock.advance(by: 30 * 86_400)
            _ = try await file()                          // 35 days after the reply: none
            let march = AppraisalTests.line(try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object(), "housing")
            #expect(march["repeat_complaints"] as? Int == 1, "\(march)")
            // Shown, not scored: the score is what it was.
            #expect(march["score"] as? Double == before["score"] as? Double)
            let own = AppraisalTests.line(try await hotline.request(.get, "/api/v1/appraisals/2026", as: "handler:housing").object(), "housing")
            #expect(own["repeat_complaints"] as? Int == 1, "\(own)")
            let csv = try await hotline.request(.get, "/api/v1/appraisals/2026-03?format=csv", as: "manager").text
            #expect(csv.contains("重复诉求"))
        }
    }

    @Test func aSimilarQueryWithNothingToMatchOrOutOfRangeIsRefused() async throws {
        try await withHotline { hotline in
            for parameters in [
                [:], ["region": "taishan"], ["category": "utilities.water"], ["category": "utilities.water", "text": "，。！"],
                ["text": "停水"], ["latitude": "36.2"], ["latitude": "91", "longitude": "117"],
                ["latitude": "36", "longitude": "181"], ["latitude": "北纬", "longitude": "117"], ["phone": "12"],
                ["category": "utilities.water", "text": String(repeating: "停", count: 4001)],
            ] {
                let response = try await hotline.request(.get, Self.similarPath(parameters), as: "operator")
                #expect(response.status == .badRequest, "\(parameters): \(response.status) \(response.text)")
            }
        }
    }
}
