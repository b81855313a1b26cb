import Foundation
import HotlineCore
import Testing

@Suite("Organisation") struct OrganisationTests {
    @Test func adminsKeepTheUnitTreeAndEveryoneReadsIt() async throws {
        try await withHotline { hotline in
            let created = try await hotline.request(.post, "/api/v1/units", as: "admin", body: """
                {"code": "taishan.xujialou", "name": "徐家楼街道", "group": "town", "parent": "taishan"}
                """)
            #expect(created.status == .created, "\(created.text)")
            #expect(try created.object()["active"] as? Bool == true)
            let read = try await hotline.request(.get, "/api/v1/units/taishan.xujialou", as: "handler:water").object()
            #expect(read["name"] as? String == "徐家楼街道")
            #expect(read["parent"] as? String == "taishan")

            let again = try await hotline.request(.post, "/api/v1/units", as: "admin", body: """
                {"code": "taishan.xujialou", "name": "重复", "group": "town"}
                """)
            #expect(again.status == .conflict)
            let badCode = try await hotline.request(.post, "/api/v1/units", as: "admin", body: #"{"code": "泰山", "name": "x", "group": "town"}"#)
            #expect(badCode.status == .badRequest)
            let badGroup = try await hotline.request(.post, "/api/v1/units", as: "admin", body: #"{"code": "x", "name": "x", "group": "village"}"#)
            #expect(badGroup.status == .badRequest)
            let orphan = try await hotline.request(.post, "/api/v1/units", as: "admin", body: #"{"code": "x", "name": "x", "group": "town", "parent": "nowhere"}"#)
            #expect(orphan.status == .unprocessableContent)
            let byDispatcher = try await hotline.request(.post, "/api/v1/units", as: "dispatcher", body: #"{"code": "x", "name": "x", "group": "town"}"#)
            #expect(byDispatcher.status == .forbidden)

            // The district may not move under its own street.
            let cycle = try await hotline.request(.patch, "/api/v1/units/taishan", as: "admin", body: #"{"parent": "taishan.xujialou"}"#)
            #expect(cycle.status == .unprocessableContent)
            #expect(cycle.problemCode == "unit_cycle")
            let renamed = try await hotline.request(.patch, "/api/v1/units/taishan.xujialou", as: "admin", body: #"{"name": "徐家楼街道办事处", "parent": null}"#)
            #expect(try renamed.object()["name"] as? String == "徐家楼街道办事处")
            #expect(try renamed.object()["parent"] is NSNull)
            let all = try await hotline.request(.get, "/api/v1/units", as: "operator").items()
            #expect(all.count == DemoOrganisation.units.count + 1)
        }
    }

    @Test func tokensAreShownOnceStoredHashedAndRevocable() async throws {
        try await withHotline { hotline in
            let user = try await hotline.request(.post, "/api/v1/users", as: "admin",
                                                 body: #"{"name": "供水承办人", "role": "handler", "unit": "water"}"#).object()
            let id = try #require(user["id"] as? Int)
            let issued = try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin")
            #expect(issued.status == .created)
            let token = try #require(try issued.object()["token"] as? String)
            let tokenId = try #require(try issued.object()["id"] as? Int)
            #expect(token.hasPrefix("hl_") && token.count > 40)

            let me = try await hotline.request(.get, "/api/v1/me", headers: [.authorization: "Bearer \(token)"])
            #expect(try me.object()["unit"] as? String == "water")
            #expect(try me.object()["role"] as? String == "handler")
            // Only a hash is kept.
            let stored = try await hotline.sql { connection in
                try await connection.query("SELECT count(*) FROM tokens WHERE encode(token_hash, 'escape') LIKE '%' || \(token) || '%'",
                                           logger: TestDatabase.logger).collect().first!.decode(Int.self)
            }
            #expect(stored == 0)
            let list = try await hotline.request(.get, "/api/v1/users", as: "admin")
            #expect(!list.text.contains(token))

            let revoked = try await hotline.request(.delete, "/api/v1/tokens/\(tokenId)", as: "admin")
            #expect(revoked.status == .noContent)
            let after = try await hotline.request(.get, "/api/v1/me", headers: [.authorization: "Bearer \(token)"])
            #expect(after.status == .unauthorized)
        }
    }

    @Test func usersHaveExactlyOneRoleAndOnlyHandlersAUnit() async throws {
        try await withHotline { hotline in
            let cases: [(String, Int, String?)] = [
                (#"{"name": "甲", "role": "handler"}"#, 400, "validation_failed"),
                (#"{"name": "甲", "role": "operator", "unit": "water"}"#, 400, "validation_failed"),
                (#"{"name": "甲", "role": "handler", "unit": "nowhere"}"#, 422, "unknown_unit"),
                (#"{"name": "甲", "role": "mayor"}"#, 400, "validation_failed"),
                (#"{"name": "", "role": "operator"}"#, 400, "validation_failed"),
            ]
            for (body, status, code) in cases {
                let response = try await hotline.request(.post, "/api/v1/users", as: "admin", body: body)
                #expect(response.status.code == status, "\(body): \(response.text)")
                #expect(response.problemCode == code)
            }
            let byManager = try await hotline.request(.get, "/api/v1/users", as: "manager")
            #expect(byManager.status == .forbidden)
        }
    }

    @Test func categoriesCarryTheirRoutingAndLimitOverrides() async throws {
        try await withHotline { hotline in
            let created = try await hotline.request(.post, "/api/v1/categories", as: "admin", body: """
                {"code": "utilities.water.quality", "name": "水质问题", "parent": "utilities.water",
                 "default_lead_unit": "water", "default_assist_units": ["environment"],
                 "routes": [{"region": "daiyue", "lead_unit": "daiyue", "assist_units": ["water"]}],
                 "time_limits": [{"urgency": "urgent", "step": "sign", "amount": 10, "unit": "minutes"}]}
                """)
            #expect(created.status == .created, "\(created.text)")
            let read = try await hotline.request(.get, "/api/v1/categories/utilities.water.quality", as: "operator").object()
            #expect(read["default_assist_units"] as? [String] == ["environment"])
            #expect((read["routes"] as? [[String: Any]])?.first?["lead_unit"] as? String == "daiyue")
            #expect((read["time_limits"] as? [[String: Any]])?.first?["amount"] as? Int == 10)

            let bad: [(String, Int)] = [
                (#"{"code": "a", "name": "x", "default_lead_unit": "water", "default_assist_units": ["water"]}"#, 400),
                (#"{"code": "a", "name": "x", "routes": [{"region": "housing", "lead_unit": "water"}]}"#, 422),
                (#"{"code": "a", "name": "x", "default_lead_unit": "nobody"}"#, 422),
                (#"{"code": "a", "name": "x", "time_limits": [{"urgency": "normal", "step": "extension", "amount": 2, "unit": "hours"}]}"#, 400),
                (#"{"code": "a", "name": "x", "parent": "nothing"}"#, 422),
            ]
            for (body, status) in bad {
                let response = try await hotline.request(.post, "/api/v1/categories", as: "admin", body: body)
                #expect(response.status.code == status, "\(body): \(response.text)")
            }
            let patched = try await hotline.request(.patch, "/api/v1/categories/utilities.water.quality", as: "admin",
                                                    body: #"{"routes": [], "active": false}"#).object()
            #expect((patched["routes"] as? [Any])?.isEmpty == true)
            #expect(patched["active"] as? Bool == false)
            // An inactive category takes no new cases.
            let refused = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                    body: json(CaseBodies.make(category: "utilities.water.quality")))
            #expect(refused.problemCode == "unknown_category")
            let cycle = try await hotline.request(.patch, "/api/v1/categories/utilities", as: "admin",
                                                  body: #"{"parent": "utilities.water.quality"}"#)
            #expect(cycle.status == .unprocessableContent)
        }
    }

    @Test func managersEditTheTimeLimitTable() async throws {
        try await withHotline { hotline in
            let table = try await hotline.request(.get, "/api/v1/time-limits", as: "manager").items()
            #expect(table.count == 5 * 2 * LimitStep.allCases.count)
            let urgentSign = table.first { $0["type"] as? String == "complaint" && $0["urgency"] as? String == "urgent" && $0["step"] as? String == "sign" }
            #expect(urgentSign?["amount"] as? Int == 30)
            #expect(urgentSign?["unit"] as? String == "minutes")
            let put = try await hotline.request(.put, "/api/v1/time-limits", as: "manager", body: """
                {"items": [{"type": "complaint", "urgency": "normal", "step": "reply", "amount": 4, "unit": "working_days"}]}
                """)
            #expect(put.status == .ok, "\(put.text)")
            let reply = try put.items().first { $0["type"] as? String == "complaint" && $0["urgency"] as? String == "normal" && $0["step"] as? String == "reply" }
            #expect(reply?["amount"] as? Int == 4)
            for bad in [
                #"{"items": [{"type": "complaint", "urgency": "normal", "step": "reply", "amount": 0, "unit": "working_days"}]}"#,
                #"{"items": [{"type": "complaint", "urgency": "urgent", "step": "extension", "amount": 5, "unit": "hours"}]}"#,
                #"{"items": []}"#,
            ] {
                let response = try await hotline.request(.put, "/api/v1/time-limits", as: "manager", body: bad)
                #expect(response.status == .badRequest, "\(bad)")
            }
            let byDispatcher = try await hotline.request(.put, "/api/v1/time-limits", as: "dispatcher", body: #"{"items": []}"#)
            #expect(byDispatcher.status == .forbidden)
        }
    }
}
