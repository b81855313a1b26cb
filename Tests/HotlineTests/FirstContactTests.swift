import Foundation
import HotlineCore
import HummingbirdTesting
import Testing

/// 先行联系 (DOMAIN §5b): one first contact, owed by the lead the center dispatched to, met by a
/// contact from any active lead below it, where the citizen consented; none otherwise.
@Suite("First contact") struct FirstContactTests {
    static func contact(_ hotline: TestHotline, _ number: String, as who: String, at: String? = nil) async throws -> TestResponse {
        var body: [String: Any] = ["method": "phone", "note": "已电话联系市民，约定上门查看"]
        if let at { body["at"] = at }
        return try await hotline.request(.post, "/api/v1/cases/\(number)/contacts", as: who, body: json(body))
    }

    @Test func aContactBelowMeetsTheDistrictsDeadlineOnce() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(CaseBodies.consenting())
            let dispatched = try await hotline.dispatch(number, lead: "taishan", assists: ["environment"])
            // 24 hours from the dispatch, owed by the district.
            #expect(dispatched.due("contact", of: dispatched.assignment("taishan")) == "2026-03-03T09:00:00+08:00")
            try await hotline.step(number, "sign", as: "handler:taishan")
            try await hotline.step(number, "pass-down", as: "dispatcher:taishan", body: json(["lead_unit": "taishan.daimiao"]))
            try await hotline.step(number, "sign", as: "handler:taishan.daimiao")
            try await hotline.step(number, "sign", as: "handler:environment")
            let assisting = try await Self.contact(hotline, number, as: "handler:environment")
            #expect(assisting.status == .forbidden)
            #expect(assisting.problemCode == "not_lead_unit")
            let future = try await Self.contact(hotline, number, as: "handler:taishan.daimiao", at: "2026-03-02T12:00:00+08:00")
            #expect(future.status == .badRequest, "a contact cannot be recorded ahead of time: \(future.text)")

            hotline.clock.set(Timestamp.parse("2026-03-02T15:00:00+08:00")!)
            let recorded = try await Self.contact(hotline, number, as: "handler:taishan.daimiao", at: "2026-03-02T14:30:00+08:00")
            #expect(recorded.status == .created, "\(recorded.text)")
            let view = try recorded.object()
            #expect(view.deadline("contact", of: view.assignment("taishan"))?["met_at"] as? String == "2026-03-02T14:30:00+08:00")
            #expect((view["first_contact"] as? [String: Any])?["unit"] as? String == "taishan.daimiao")
            let twice = try await Self.contact(hotline, number, as: "handler:taishan")
            #expect(twice.status == .conflict)
            #expect(twice.problemCode == "already_contacted")
            #expect(try await hotline.count("contacts") == 1)
        }
    }

    @Test func aLateContactIsUrgedAndMetLate() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(CaseBodies.consenting(), assists: [])
            let swept = try await hotline.sweep(at: "2026-03-03T09:00:01+08:00")
            #expect(swept["urgings"] as? Int == 1, "the first contact is late by a second: urging no. 1")
            let urged = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
                .filter { $0["kind"] as? String == "urged" }.map { ($0["details"] as? [String: Any])?["step"] as? String }
            #expect(urged == ["contact"])
            let late = try await Self.contact(hotline, number, as: "handler:housing")
            #expect(late.status == .created)
            let kinds = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
            let event = kinds.last { $0["kind"] as? String == "contacted" }
            #expect((event?["details"] as? [String: Any])?["on_time"] as? Bool == false)
        }
    }

    @Test func anonymousReportConfidentialAndUnconsentedCasesOweNone() async throws {
        try await withHotline { hotline in
            let bodies = [
                CaseBodies.anonymousReport(),
                json(CaseBodies.make(type: "report", consent: true)),
                json(CaseBodies.make(confidential: true, consent: true)),
                CaseBodies.complaint(),  // no consent
            ]
            for body in bodies {
                let number = try await hotline.fileCase(body)
                let view = try await hotline.dispatch(number)
                #expect(view.deadline("contact", of: view.assignment("housing")) == nil, "\(body)")
                try await hotline.step(number, "sign", as: "handler:housing")
                let refused = try await Self.contact(hotline, number, as: "handler:housing")
                #expect(refused.status.code == 422, "\(refused.text)")
                #expect(refused.problemCode == "no_first_contact")
            }
        }
    }
}
