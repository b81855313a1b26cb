import Foundation
import HotlineCore
import HTTPTypes
import HummingbirdTesting
import Testing

/// Open311 GeoReport v2 (DOMAIN §12).
@Suite("Open311") struct Open311Tests {
    static func key(_ hotline: TestHotline) async throws -> (id: Int, key: String) {
        let created = try await hotline.request(.post, "/api/v1/open311/keys", as: "admin", body: #"{"name": "泰安通APP"}"#).object()
        return (created["id"] as! Int, created["api_key"] as! String)
    }

    static func file(_ hotline: TestHotline, _ form: String) async throws -> HummingbirdTestingResponse {
        try await hotline.request(.post, "/open311/v2/requests.json", as: nil, bytes: Array(form.utf8),
                                  headers: [.contentType: "application/x-www-form-urlencoded"])
    }

    static func array(_ response: HummingbirdTestingResponse) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[String: Any]] ?? []
    }

    @Test func servicesAreTheCategoriesWithTheirAttributes() async throws {
        try await withHotline { hotline in
            let discovery = try await hotline.request(.get, "/open311/v2/discovery.json").object()
            #expect((discovery["endpoints"] as? [[String: Any]])?.first?["specification"] as? String == "http://wiki.open311.org/GeoReport_v2")
            let services = try Self.array(try await hotline.request(.get, "/open311/v2/services.json"))
            let codes = services.map { $0["service_code"] as? String }
            #expect(codes.contains("utilities.water") && codes.contains("housing.property"))
            #expect(!codes.contains("utilities"))  // a group, not a service
            let water = try await hotline.request(.get, "/open311/v2/services/utilities.water.json").object()
            let attributes = (water["attributes"] as? [[String: Any]] ?? []).map { $0["code"] as? String }
            #expect(attributes == ["request_type", "supply_cut_off"])
            let unknown = try await hotline.request(.get, "/open311/v2/services/nothing.json")
            #expect(unknown.status == .notFound)
            #expect(try Self.array(unknown).first?["code"] as? Int == 404)
        }
    }

    @Test func aRequestIsFiledWithAKeyAndFollowedToItsReply() async throws {
        try await withHotline { hotline in
            let (keyId, key) = try await Self.key(hotline)
            let filed = try await Self.file(hotline, "api_key=\(key)&service_code=utilities.water&lat=36.19&long=117.12"
                + "&address_string=%E6%B3%B0%E5%B1%B1%E5%8C%BA%E7%BA%A2%E9%97%A8%E8%B7%AF&first_name=%E4%B8%89&last_name=%E5%BC%A0"
                + "&phone=13811112222&description=%E5%B0%8F%E5%8C%BA%E5%81%9C%E6%B0%B4%E4%B8%A4%E5%A4%A9&attribute[supply_cut_off]=true")
            #expect(filed.status == .created, "\(filed.text)")
            let number = try #require(try Self.array(filed).first?["service_request_id"] as? String)
            let view = try await hotline.view(number, as: "operator")
            #expect(view["channel"] as? String == "open311")
            #expect(view["urgency"] as? String == "urgent")
            #expect(view["type"] as? String == "help")
            #expect((view["citizen"] as? [String: Any])?["phone"] as? String == "138****2222")

            var read = try Self.array(try await hotline.request(.get, "/open311/v2/requests/\(number).json")).first ?? [:]
            #expect(read["status"] as? String == "open")
            #expect(read["agency_responsible"] is NSNull)
            try await hotline.dispatch(number, lead: "water")
            try await hotline.step(number, "sign", as: "handler:water")
            read = try Self.array(try await hotline.request(.get, "/open311/v2/requests/\(number).json")).first ?? [:]
            #expect(read["agency_responsible"] as? String == "泰安市水务集团")
            #expect(read["expected_datetime"] as? String == "2026-03-03T09:00:00+08:00")  // urgent: 24 hours
            try await hotline.reply(number, as: "handler:water")
            try await hotline.visit(number)
            read = try Self.array(try await hotline.request(.get, "/open311/v2/requests.json?service_request_id=\(number)")).first ?? [:]
            #expect(read["status"] as? String == "closed")
            #expect(read["status_notes"] as? String == "经现场核实，已督促物业于3月5日修复电梯并恢复运行。")
            #expect(!String(describing: read).contains("13811112222") && !String(describing: read).contains("张三"))
            // Lists: only what came in through Open311, and by status.
            _ = try await hotline.fileCase()
            let all = try Self.array(try await hotline.request(.get, "/open311/v2/requests.json"))
            #expect(all.count == 1)
            #expect(try Self.array(try await hotline.request(.get, "/open311/v2/requests.json?status=open")).isEmpty)
            // A revoked key files nothing more.
            #expect(try await hotline.request(.delete, "/api/v1/open311/keys/\(keyId)", as: "admin").status == .noContent)
            let revoked = try await Self.file(hotline, "api_key=\(key)&service_code=utilities.water&address_string=x")
            #expect(revoked.status == .forbidden)
        }
    }

    /// GET needs no key, so it shows what a public page may: a description (identity removed)
    /// and a place only for a category whose descriptions may be public, and never a reply
    /// written for another case.
    @Test func theListShowsOnlyWhatAPublicPageMay() async throws {
        try await withHotline { hotline in
            let (_, key) = try await Self.key(hotline)
            func filed(_ form: String) async throws -> String {
                let response = try await Self.file(hotline, "api_key=\(key)&" + form)
                #expect(response.status == .created, "\(response.text)")
                return try #require(try Self.array(response).first?["service_request_id"] as? String)
            }
            let said = "%E6%88%91%E5%8F%AB%E5%BC%A0%E4%B8%89%EF%BC%8C%E7%94%B5%E8%AF%9D13811112222"  // 我叫张三，电话13811112222
            let water = try await filed("service_code=utilities.water&address_string=x&phone=13811112222&last_name=%E5%BC%A0&first_name=%E4%B8%89&description=%E5%81%9C%E6%B0%B4" + said)
            let noise = try await filed("service_code=environment.noise&address_string=%E7%BA%A2%E9%97%A8%E8%B7%AF1%E5%8F%B7&lat=36.19&long=117.12&phone=13822223333&description=%E9%82%BB%E5%B1%85%E5%99%AA%E9%9F%B3")
            let duplicate = try await filed("service_code=utilities.water&address_string=y&phone=13833334444&description=%E5%81%9C%E6%B0%B4")
            // The master answered, the duplicate merged into it and given that reply.
            try await hotline.dispatch(water, lead: "water")
            try await hotline.step(water, "sign", as: "handler:water")
            try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": water]))
            try await hotline.step(water, "reply", as: "handler:water", body: json([
                "outcome": "resolved", "text": "张三您好，已抢修。", "contacted_citizen": true,
                "handler_name": "李明", "handler_phone": "0538-8221234",
            ]))
            let all = try Self.array(try await hotline.request(.get, "/open311/v2/requests.json"))
            let byId = Dictionary(uniqueKeysWithValues: all.map { ($0["service_request_id"] as! String, $0) })
            // A public category: the description and place, identity removed.
            #expect(byId[water]?["description"] as? String == "停水我叫（已隐去），电话（已隐去）")
            #expect(byId[water]?["status_notes"] as? String == "（已隐去）您好，已抢修。")
            // Any other: nothing of what the citizen said or where.
            #expect(byId[noise]?["description"] is NSNull)
            #expect(byId[noise]?["address"] is NSNull && byId[noise]?["lat"] is NSNull)
            // The duplicate was answered with its master's reply, which was written to someone else.
            let notes = byId[duplicate]?["status_notes"] as? String
            #expect(notes == "已与同一事项的诉求合并办理。", "\(String(describing: notes))")
            let text = String(describing: all)
            for trace in ["13811112222", "13822223333", "13833334444", "张三", "红门路", "邻居"] {
                #expect(!text.contains(trace), "\(trace) is public: \(text)")
            }
        }
    }

    @Test func filingHonoursTheIdempotencyKeyAndEachKeyHasALimit() async throws {
        try await withHotline { hotline in
            let (_, key) = try await Self.key(hotline)
            let form = "api_key=\(key)&service_code=utilities.water&address_string=x&phone=13811112222"
            func post(_ form: String, retry: String? = nil) async throws -> HummingbirdTestingResponse {
                var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                if let retry { headers[HTTPField.Name("Idempotency-Key")!] = retry }
                return try await hotline.request(.post, "/open311/v2/requests.json", as: nil, bytes: Array(form.utf8), headers: headers)
            }
            // Two posts with one key: one case, one answer.
            let first = try await post(form, retry: "app-4711")
            let again = try await post(form, retry: "app-4711")
            #expect(first.status == .created && again.status == .created)
            #expect(try Self.array(first).first?["service_request_id"] as? String == (try Self.array(again).first?["service_request_id"] as? String))
            #expect(try await hotline.count("cases") == 1)
            let reused = try await post(form + "&description=other", retry: "app-4711")
            #expect(reused.status == .unprocessableContent)
            // 30 a minute per key (two above), then 429 in GeoReport's form; the next minute, again.
            var statuses: [Int] = []
            for _ in 0..<30 { statuses.append(Int(try await post(form).status.code)) }
            #expect(statuses == Array(repeating: 201, count: 28) + [429, 429])
            #expect(try Self.array(try await post(form)).first?["code"] as? Int == 429)
            hotline.clock.advance(by: 61)
            #expect(try await post(form).status == .created)
        }
    }

    @Test func errorsComeInGeoReportsForm() async throws {
        try await withHotline { hotline in
            let (_, key) = try await Self.key(hotline)
            let cases: [(String, Int)] = [
                ("service_code=utilities.water&address_string=x", 403),
                ("api_key=wrong&service_code=utilities.water&address_string=x", 403),
                ("api_key=\(key)&address_string=x", 400),
                ("api_key=\(key)&service_code=nothing&address_string=x", 404),
                ("api_key=\(key)&service_code=utilities.water", 400),
                ("api_key=\(key)&service_code=utilities.water&lat=north&long=1&address_string=x", 400),
                ("api_key=\(key)&service_code=utilities.water&address_string=x&attribute[request_type]=report", 400),
                ("api_key=\(key)&service_code=utilities.water&address_string=x&phone=abc", 400),
            ]
            for (form, status) in cases {
                let response = try await Self.file(hotline, form)
                #expect(response.status.code == status, "\(form): \(response.text)")
                let first = try Self.array(response).first
                #expect(first?["code"] as? Int == status, "\(form): \(response.text)")
                #expect((first?["description"] as? String)?.isEmpty == false)
            }
            let badDate = try await hotline.request(.get, "/open311/v2/requests.json?start_date=yesterday")
            #expect(badDate.status == .badRequest)
            #expect(try await hotline.count("cases") == 0)
            // An anonymous request (no phone) is taken, and drops any name it was sent with.
            let anonymous = try await Self.file(hotline, "api_key=\(key)&service_code=environment.noise&address_string=x&first_name=Li")
            #expect(anonymous.status == .created)
            #expect(try await hotline.request(.get, "/api/v1/open311/keys", as: "operator").status == .forbidden)
        }
    }
}
