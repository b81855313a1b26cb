import Foundation
import Hummingbird
import HotlineCore
import Testing

/// The appraisal of a month of tiered handling (DOMAIN §5a, §5b, §9), computed by hand: each
/// unit on its own assignments, a rating counted for the writer and each lead that approved the
/// reply, the response rate and replies sent back, the roll-up, and both schemes.
@Suite("Appraisal of tiers") struct TieredAppraisalTests {
    static let (district, street, community) = ("taishan", "taishan.daimiao", "taishan.daimiao.hongmen")

    static func at(_ hotline: TestHotline, _ time: String) { hotline.clock.set(Timestamp.parse(time)!) }

    static func reviewing(_ hotline: TestHotline, _ number: String) async throws -> Int {
        let view = try await hotline.view(number)
        return try TieredHandlingTests.replyId(view)
    }

    /// March 2026 (Monday the 2nd on): sign 1 working day, reply 5, a passed-down reply capped one
    /// working day before its parent's, a send-back 2 working days, first contact 24 hours.
    static func march(_ hotline: TestHotline) async throws {
        let reply = TieredHandlingTests.replyBody
        at(hotline, "2026-03-02T09:00:00+08:00")
        // A: consenting. District signs on time and passes down; the street contacts the citizen
        // in time (meeting the district's first contact), replies, is sent back once, replies
        // again and is approved; rated satisfied and resolved.
        let a = try await hotline.fileCase(CaseBodies.consenting()); try await hotline.dispatch(a, lead: district)
        // B: consenting. District signs on time, passes down; nobody contacts the citizen; the
        // street signs late and never replies.
        let b = try await hotline.fileCase(CaseBodies.consenting()); try await hotline.dispatch(b, lead: district)
        // C: no consent. District signs late; street and community sign on time; the community
        // replies, each level approves; rated unsatisfied and unresolved.
        let c = try await hotline.fileCase(); try await hotline.dispatch(c, lead: district)
        // D: consenting, to a city department: signed on time, contacted an hour late.
        let d = try await hotline.fileCase(CaseBodies.consenting()); try await hotline.dispatch(d, lead: "housing")
        // E: consenting, to the water group: signed and answered within hours, the citizen never
        // contacted. A reply is no first contact.
        let e = try await hotline.fileCase(CaseBodies.consenting()); try await hotline.dispatch(e, lead: "water")

        at(hotline, "2026-03-02T10:00:00+08:00")
        for number in [a, b] { try await hotline.step(number, "sign", as: "handler:\(district)") }
        try await hotline.step(d, "sign", as: "handler:housing")
        try await hotline.step(e, "sign", as: "handler:water")
        try await hotline.step(e, "reply", as: "handler:water", body: json([
            "outcome": "explained", "text": "已按政策解释。", "contacted_citizen": false, "handler_name": "赵敏", "handler_phone": "0538-8000000",
        ]))
        at(hotline, "2026-03-02T10:30:00+08:00")
        for number in [a, b] {
            try await hotline.step(number, "pass-down", as: "dispatcher:\(district)", body: json(["lead_unit": street]))
        }
        at(hotline, "2026-03-02T11:00:00+08:00")
        try await hotline.step(a, "sign", as: "handler:\(street)")
        at(hotline, "2026-03-02T12:00:00+08:00")
        try await hotline.step(a, "contacts", as: "handler:\(street)", body: #"{"method": "phone"}"#, expect: 201)

        at(hotline, "2026-03-03T10:00:00+08:00")
        try await hotline.step(a, "reply", as: "handler:\(street)", body: reply)
        try await hotline.step(d, "contacts", as: "handler:housing", body: #"{"method": "phone"}"#, expect: 201)
        at(hotline, "2026-03-03T11:00:00+08:00")
        let sentBack = try await reviewing(hotline, a)
        try await hotline.step(a, "replies/\(sentBack)/send-back", as: "dispatcher:\(district)", body: #"{"reason": "未写明整改时限"}"#)

        at(hotline, "2026-03-04T10:00:00+08:00")
        try await hotline.step(a, "reply", as: "handler:\(street)", body: reply)
        try await hotline.step(b, "sign", as: "handler:\(street)")
        try await hotline.step(c, "sign", as: "handler:\(district)")
        try await hotline.step(d, "reply", as: "handler:housing", body: reply)
        at(hotline, "2026-03-04T10:30:00+08:00")
        try await hotline.step(c, "pass-down", as: "dispatcher:\(district)", body: json(["lead_unit": street]))
        at(hotline, "2026-03-04T11:00:00+08:00")
        try await hotline.step(a, "replies/\(try await reviewing(hotline, a))/approve", as: "dispatcher:\(district)")
        try await hotline.step(c, "sign", as: "handler:\(street)")
        at(hotline, "2026-03-04T11:30:00+08:00")
        try await hotline.step(c, "pass-down", as: "dispatcher:\(street)", body: json(["lead_unit": community]))
        at(hotline, "2026-03-04T12:00:00+08:00")
        try await hotline.step(c, "sign", as: "handler:\(community)")

        at(hotline, "2026-03-05T10:00:00+08:00")
        try await hotline.visit(a)
        try await hotline.visit(d)
        try await hotline.step(c, "reply", as: "handler:\(community)", body: reply)
        at(hotline, "2026-03-05T11:00:00+08:00")
        try await hotline.step(c, "replies/\(try await reviewing(hotline, c))/approve", as: "dispatcher:\(street)")
        at(hotline, "2026-03-05T12:00:00+08:00")
        try await hotline.step(c, "replies/\(try await reviewing(hotline, c))/approve", as: "dispatcher:\(district)")
        at(hotline, "2026-03-06T10:00:00+08:00")
        try await hotline.visit(c, satisfaction: "unsatisfied", resolved: false)
    }

    /// A request that must answer `status`; its JSON object.
    @discardableResult
    static func send(_ hotline: TestHotline, _ method: HTTPRequest.Method, _ path: String, body: String, status: Int,
                     sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let response = try await hotline.request(method, path, as: "manager", body: body)
        #expect(response.status.code == status, "\(path): \(response.text)", sourceLocation: sourceLocation)
        return try response.object()
    }

    static func line(_ lines: Any?, _ unit: String) -> [String: Any] {
        (lines as? [[String: Any]] ?? []).first { $0["unit"] as? String == unit } ?? [:]
    }

    /// The figures of a line, in one string: sign, response, reply, satisfaction, resolution,
    /// reopen as fractions, then sent back and overdue.
    static func figures(_ line: [String: Any]) -> String {
        let fractions = ["on_time_sign", "response", "on_time_reply", "satisfaction", "resolution", "reopen"].map {
            AppraisalTests.fraction(line, $0)
        }
        return fractions.joined(separator: " ") + " sent_back \(line["sent_back"] as? Int ?? -1) overdue \(line["overdue"] as? Int ?? -1)"
    }

    @Test func aMonthOfTiersComputedByHand() async throws {
        try await withHotline { hotline in
            try await Self.march(hotline)
            Self.at(hotline, "2026-04-10T12:00:00+08:00")
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03?rollup=true", as: "manager").object()
            #expect(report["scheme"] as? String == "default")
            let units = report["units"]
            // 泰山区: signed A, B on time and C late; responded only on A (B's contact was missed,
            // C was signed late); its reply deadlines met by its approvals of A and C, B's missed;
            // rated on A (satisfied) and C (not), both replies it approved; it wrote no reply.
            // Overdue: B (reply) and C (sign).
            #expect(Self.figures(Self.line(units, Self.district)) == "2/3 1/3 2/3 1/2 1/2 0/0 sent_back 0 overdue 2")
            // 岱庙街道: signed A and C on time, B late; no first contact is owed by a passed-down
            // assignment, so response follows signing; reply deadlines: A's first (met by the reply
            // sent back) and its send-back's, C's (met by its approval), B's missed; rated on A (its
            // reply) and C (approved); one reply that reached the citizen (A's second), none
            // reopened; one reply sent back. Overdue: B.
            #expect(Self.figures(Self.line(units, Self.street)) == "2/3 2/3 3/4 1/2 1/2 0/1 sent_back 1 overdue 1")
            // 红门社区: C, on time, rated unsatisfied and unresolved.
            #expect(Self.figures(Self.line(units, Self.community)) == "1/1 1/1 1/1 0/1 0/1 0/1 sent_back 0 overdue 0")
            // 住建局: D signed on time but contacted late.
            #expect(Self.figures(Self.line(units, "housing")) == "1/1 0/1 1/1 1/1 1/1 0/1 sent_back 0 overdue 0")
            // 水务集团: E answered before its first contact was due, without one.
            #expect(Self.figures(Self.line(units, "water")) == "1/1 0/1 1/1 0/0 0/0 0/1 sent_back 0 overdue 0")
            // Default scheme: 15 × 2/3 + 25 × 2/3 + 30 × 1/2 + 30 × 1/2; 15 × 2/3 + 25 × 3/4 + 15 + 15; 15 + 25.
            #expect(Self.line(units, Self.district)["score"] as? Double == 56.67)
            #expect(Self.line(units, Self.street)["score"] as? Double == 58.75)
            #expect(Self.line(units, Self.community)["score"] as? Double == 40)
            #expect(Self.line(units, "housing")["score"] as? Double == 100)

            // The roll-up: each parent with every unit below it, numerators and denominators added.
            let rollup = report["rollup"] as? [[String: Any]] ?? []
            let parents = rollup.map { $0["unit"] as? String ?? "?" }
            #expect(parents == ["daiyue", Self.district, Self.street])
            let streetSum = Self.line(rollup, Self.street)
            #expect(Self.figures(streetSum) == "3/4 3/4 4/5 1/3 1/3 0/2 sent_back 1 overdue 1")
            #expect(streetSum["units_summed"] as? Int == 3)  // itself, 红门 and 岱宗
            let districtSum = Self.line(rollup, Self.district)
            #expect(Self.figures(districtSum) == "5/7 4/7 6/8 2/5 2/5 0/2 sent_back 1 overdue 3")
            #expect(districtSum["units_summed"] as? Int == 7)  // itself, four streets, two communities
            let unranked = rollup.allSatisfy { $0["rank"] is NSNull }
            #expect(unranked, "the roll-up is not ranked")
            // 15 × 5/7 + 25 × 6/8 + 30 × 2/5 + 30 × 2/5
            #expect(districtSum["score"] as? Double == 53.46)
            let plain = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            #expect(plain["rollup"] == nil)

            // Published under the default scheme; then a manager switches to the three rates.
            try await Self.send(hotline, .post, "/api/v1/appraisals/2026-03/publish", body: "{}", status: 201)
            var weights = try await hotline.request(.get, "/api/v1/appraisal-weights", as: "manager").object()
            #expect(weights["scheme"] as? String == "default")
            #expect(weights["three_rates"] as? [String: Double] == ["response": 20, "resolution": 40, "satisfaction": 40])
            weights["scheme"] = "three_rates"
            let switched = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: json(weights))
            #expect(switched.status == .ok, "\(switched.text)")
            let three = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            #expect(three["scheme"] as? String == "three_rates")
            // 20 × response + 40 × resolution + 40 × satisfaction
            #expect(Self.line(three["units"], Self.district)["score"] as? Double == 46.67)   // 20/3 + 20 + 20
            #expect(Self.line(three["units"], Self.street)["score"] as? Double == 53.33)     // 40/3 + 20 + 20
            #expect(Self.line(three["units"], Self.community)["score"] as? Double == 20)
            #expect(Self.line(three["units"], "housing")["score"] as? Double == 80)
            #expect(Self.line(three["units"], "water")["score"] as? Double == 80)
            #expect(Self.line(units, "water")["score"] as? Double == 100)
            // The revision keeps the scheme, scores and roll-up it was published with.
            let revision = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "manager").object()
            #expect(revision["scheme"] as? String == "default")
            #expect(Self.line(revision["units"], Self.district)["score"] as? Double == 56.67)
            #expect(Self.figures(Self.line(revision["rollup"], Self.district)) == Self.figures(districtSum))
            let republished = try await Self.send(hotline, .post, "/api/v1/appraisals/2026-03/publish",
                                                  body: #"{"reason": "改用三率考核"}"#, status: 201)
            #expect(republished["revision"] as? Int == 2)
            let second = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/2", as: "manager").object()
            #expect(second["scheme"] as? String == "three_rates")
            #expect((second["weights"] as? [String: Any])?["scheme"] as? String == "three_rates")

            // The spreadsheet and the page carry the new figures and the roll-up.
            let csv = try await hotline.request(.get, "/api/v1/appraisals/2026-03?rollup=true&format=csv", as: "manager").text
            let rows = csv.split(separator: "\r\n").map(String.init)
            #expect(rows.first?.contains("响应率(%)") == true && rows.first?.contains("审核退回") == true)
            let rollupHeader = rows.contains { $0.hasPrefix("汇总单位代码") }
            let streetRow = rows.contains { $0.hasPrefix("taishan.daimiao,岱庙街道,乡镇街道,3,") }
            #expect(rollupHeader && streetRow, "\(rows)")
            let page = try await hotline.request(.get, "/api/v1/appraisals/2026-03?rollup=true&format=html", as: "manager").text
            #expect(page.contains("分级汇总") && page.contains("“三率”方案") && page.contains("审核退回"))

            // A handler reads its own line, without anyone's sums.
            let own = try await hotline.request(.get, "/api/v1/appraisals/2026-03?rollup=true", as: "handler:\(Self.street)").object()
            #expect((own["units"] as? [[String: Any]])?.count == 1)
            #expect(own["rollup"] == nil)
            let bad = try await hotline.request(.get, "/api/v1/appraisals/2026-03?rollup=yes", as: "manager")
            #expect(bad.status == .badRequest)
        }
    }

    @Test func aSchemeChangeIsCheckedAndAnOldClientKeepsTheScheme() async throws {
        try await withHotline { hotline in
            let old = #"{"on_time_sign": 15, "on_time_reply": 25, "resolution": 30, "satisfaction": 30, "unreasonable_return": 1, "escalation": 2}"#
            var body = try await hotline.request(.get, "/api/v1/appraisal-weights", as: "manager").object()
            body["scheme"] = "three_rates"
            body["three_rates"] = ["response": 30, "resolution": 40, "satisfaction": 40]
            let over = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: json(body))
            #expect(over.status == .badRequest, "\(over.text)")
            #expect(over.text.contains("three_rates"))
            // Weights are kept to the hundredth: a sum that only adds up before rounding is refused
            // here, not by the database.
            body["three_rates"] = ["response": 33.335, "resolution": 33.335, "satisfaction": 33.33]
            let unrounded = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: json(body))
            #expect(unrounded.status == .badRequest, "\(unrounded.text)")
            body["three_rates"] = ["response": 30, "resolution": 40, "satisfaction": 40]
            body["scheme"] = "three_points"
            let unknown = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: json(body))
            #expect(unknown.status == .badRequest, "\(unknown.text)")
            body["scheme"] = "three_rates"
            body["three_rates"] = ["response": 30, "resolution": 35, "satisfaction": 35]
            try await Self.send(hotline, .put, "/api/v1/appraisal-weights", body: json(body), status: 200)
            // A client that knows nothing of schemes changes the default weights and no more.
            let kept = try await hotline.request(.put, "/api/v1/appraisal-weights", as: "manager", body: old).object()
            #expect(kept["scheme"] as? String == "three_rates")
            #expect(kept["three_rates"] as? [String: Double] == ["response": 30, "resolution": 35, "satisfaction": 35])
            let stored = try await hotline.sql { connection in
                try await connection.query("SELECT scheme, three_rates_response::float8 FROM appraisal_weights", logger: TestDatabase.logger)
                    .collect().first!.decode((String, Double).self)
            }
            #expect(stored.0 == "three_rates" && stored.1 == 30)
        }
    }
}
