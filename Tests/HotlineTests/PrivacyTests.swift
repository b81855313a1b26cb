import Foundation
import HotlineCore
import Testing

/// DOMAIN §10: who sees the citizen, and how much.
@Suite("Privacy") struct PrivacyTests {
    static let name = "欧阳娜娜"
    static let phone = "13987654321"
    /// Every form in which the identity could leak: whole, masked, or the last digits.
    static let traces = [name, "欧阳", "欧**", phone, "139****4321", "4321", "87654321"]

    static func unitResponses(_ hotline: TestHotline, _ number: String, unit: String) async throws -> [String] {
        var texts: [String] = []
        texts.append(try await hotline.request(.get, "/api/v1/cases/\(number)", as: "handler:\(unit)").text)
        texts.append(try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "handler:\(unit)").text)
        texts.append(try await hotline.request(.get, "/api/v1/cases", as: "handler:\(unit)").text)
        texts.append(try await hotline.request(.get, "/api/v1/cases?q=\(number)", as: "handler:\(unit)").text)
        texts.append(try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "handler:\(unit)").text)
        return texts
    }

    @Test(arguments: ["report", "confidential"])
    func noByteOfAProtectedCitizenReachesAnyUnit(kind: String) async throws {
        let capture = LogCapture()
        try await withHotline(logger: capture.logger()) { hotline in
            // setup: a report, and a complaint marked confidential, with a known name and phone
            let body = json(CaseBodies.make(
                type: kind == "report" ? "report" : "complaint", name: Self.name, phone: Self.phone,
                confidential: kind == "confidential", consent: true
            ))
            let number = try await hotline.fileCase(body)
            try await hotline.dispatch(number, assists: ["environment"])
            // act: everything the lead unit and the assisting unit do and ask
            var texts: [String] = []
            for unit in ["housing", "environment"] {
                texts.append(try await hotline.request(.get, "/api/v1/inbox", as: "handler:\(unit)").text)
                texts.append(try await hotline.request(.post, "/api/v1/cases/\(number)/sign", as: "handler:\(unit)").text)
                texts.append(try await hotline.request(.post, "/api/v1/cases/\(number)/notes", as: "handler:\(unit)",
                                                       body: #"{"text": "处理中"}"#).text)
            }
            texts.append(try await hotline.request(.post, "/api/v1/cases/\(number)/opinions", as: "handler:environment",
                                                   body: #"{"text": "同意"}"#).text)
            texts += try await Self.unitResponses(hotline, number, unit: "housing")
            texts += try await Self.unitResponses(hotline, number, unit: "environment")
            texts.append(try await hotline.reply(number).description)
            texts += try await Self.unitResponses(hotline, number, unit: "housing")
            #expect(texts.count == 23)
            // verify
            for text in texts {
                for trace in Self.traces {
                    #expect(!text.contains(trace), "\(trace) leaked: \(text)")
                }
            }
            let lead = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "handler:housing").object()
            #expect(lead["citizen"] == nil)
            let reveal = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "handler:housing")
            #expect(reveal.status == .forbidden)
            #expect(reveal.problemCode == "identity_protected")
            // The capture is live: the intake's own line, with the case number, is in it.
            let intakeLogged = capture.all.contains { $0.contains("case accepted") && $0.contains(number) }
            #expect(intakeLogged)
            for line in capture.all {
                for trace in [Self.name, Self.phone] {
                    #expect(!line.contains(trace), "\(trace) reached the log: \(line)")
                }
            }
        }
    }

    @Test func theLeadUnitSeesAMaskedCitizenAndAssistingUnitsNone() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(json(CaseBodies.make(name: Self.name, phone: Self.phone)))
            try await hotline.assign(number, unit: "housing", role: "lead")
            try await hotline.assign(number, unit: "environment", role: "assist")
            let lead = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "handler:housing").object()
            let citizen = try #require(lead["citizen"] as? [String: Any])
            #expect(citizen["name"] as? String == "欧**")
            #expect(citizen["phone"] as? String == "139****4321")
            let assisting = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "handler:environment")
            #expect(assisting.status == .ok)
            #expect(try assisting.object()["citizen"] == nil)
            #expect(!assisting.text.contains("4321"))
            let assistReveal = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "handler:environment")
            #expect(assistReveal.status == .forbidden)
            #expect(assistReveal.problemCode == "not_lead_unit")
        }
    }

    @Test func aUnitNeverLearnsOfAnotherUnitsCase() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.assign(number, unit: "housing", role: "lead")
            let other = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "handler:water")
            #expect(other.status == .notFound)
            let list = try await hotline.request(.get, "/api/v1/cases", as: "handler:water").items()
            #expect(list.isEmpty)
            let timeline = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "handler:water")
            #expect(timeline.status == .notFound)
            let own = try await hotline.request(.get, "/api/v1/cases", as: "handler:housing").items()
            let ownNumbers = own.map { $0["number"] as? String }
            #expect(ownNumbers == [number])
        }
    }

    @Test func revealingAContactIsAuditedAndNeedsConsentForAUnit() async throws {
        try await withHotline { hotline in
            let consented = try await hotline.fileCase(json(CaseBodies.make(name: Self.name, phone: Self.phone, consent: true)))
            let refused = try await hotline.fileCase(json(CaseBodies.make(name: Self.name, phone: Self.phone, consent: false)))
            for number in [consented, refused] { try await hotline.assign(number, unit: "housing", role: "lead") }

            let byOperator = try await hotline.request(.post, "/api/v1/cases/\(refused)/contact-reveal", as: "operator")
            #expect(byOperator.status == .ok)
            #expect(try byOperator.object()["name"] as? String == Self.name)
            #expect(try byOperator.object()["phone"] as? String == Self.phone)

            let byLead = try await hotline.request(.post, "/api/v1/cases/\(consented)/contact-reveal", as: "handler:housing")
            #expect(byLead.status == .ok)
            #expect(try byLead.object()["phone"] as? String == Self.phone)
            #expect(try byLead.object()["name"] == nil)

            let withoutConsent = try await hotline.request(.post, "/api/v1/cases/\(refused)/contact-reveal", as: "handler:housing")
            #expect(withoutConsent.status == .forbidden)
            #expect(withoutConsent.problemCode == "no_contact_consent")

            let bySupervisor = try await hotline.request(.post, "/api/v1/cases/\(refused)/contact-reveal", as: "supervisor")
            #expect(bySupervisor.status == .forbidden)

            let timeline = try await hotline.request(.get, "/api/v1/cases/\(consented)/timeline", as: "operator").items()
            let revealEvent = timeline.first { $0["kind"] as? String == "contact_revealed" }
            let reveal = try #require(revealEvent)
            #expect((reveal["actor"] as? [String: Any])?["role"] as? String == "handler")
            #expect(reveal["unit"] as? String == "housing")
            #expect((reveal["details"] as? [String: Any])?["fields"] as? [String] == ["phone"])
            let refusedTimeline = try await hotline.request(.get, "/api/v1/cases/\(refused)/timeline", as: "operator").items()
            let reveals = refusedTimeline.filter { $0["kind"] as? String == "contact_revealed" }
            #expect(reveals.count == 1)
        }
    }

    @Test func anAnonymousCaseHasNothingToReveal() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(CaseBodies.anonymousReport())
            let view = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "operator").object()
            let citizen = try #require(view["citizen"] as? [String: Any])
            #expect(citizen["anonymous"] as? Bool == true)
            #expect(citizen["name"] == nil && citizen["phone"] == nil)
            let reveal = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "operator")
            #expect(reveal.status == .unprocessableContent)
            #expect(reveal.problemCode == "anonymous_case")
        }
    }

    @Test func masking() {
        #expect(Contact.maskPhone("13812345678") == "138****5678")
        #expect(Contact.maskPhone("05388221234") == "053****1234")
        #expect(Contact.maskPhone("95598") == "***98")
        #expect(Contact.maskName("张三") == "张**")
        #expect(Contact.maskName("欧阳娜娜") == "欧**")
        #expect(Contact.normalisePhone(" 138-1234 5678 ") == "13812345678")
        #expect(Contact.normalisePhone("+86 138 1234 5678") == "+8613812345678")
        #expect(Contact.normalisePhone("138x") == nil)
    }
}
