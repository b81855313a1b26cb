import Foundation
import HotlineCore
import Testing

/// Every transition × every role × the lead unit, an assisting unit and another unit: who may,
/// and what everyone else is told.
@Suite("Authorization matrix") struct AuthorizationMatrixTests {
    static let actors = [
        "operator", "dispatcher", "manager", "supervisor", "admin",
        "handler:housing",      // the lead unit
        "handler:environment",  // an assisting unit
        "handler:water",        // another unit
    ]

    struct Transition: Sendable, CustomTestStringConvertible {
        let name: String
        /// Puts a fresh case in the state the transition starts from; returns the path to POST.
        let setup: @Sendable (TestHotline) async throws -> String
        let body: String
        /// Who succeeds, with the status of success.
        let allowed: [String: Int]
        /// What everyone else is told, unless `refused` says otherwise for them.
        var refusal: (Int, String) = (403, "forbidden")
        var refused: [String: (Int, String)] = [:]

        var testDescription: String { name }

        /// What an actor who may not is told. A unit never assigned to the case learns nothing of
        /// it, not even that it exists: 404, where a role that may not is refused before anyone
        /// looks at the case (403 forbidden).
        func refusal(of actor: String) -> (Int, String) {
            if let own = refused[actor] { return own }
            if actor == "handler:water", refusal.1 != "forbidden" { return (404, "not_found") }
            return refusal
        }
    }

    static func inProgress(_ hotline: TestHotline) async throws -> String {
        let number = try await hotline.caseInProgress()
        try await hotline.step(number, "sign", as: "handler:environment")
        return number
    }

    static func pendingReturn(_ hotline: TestHotline) async throws -> (String, Int) {
        let number = try await hotline.caseInProgress()
        let view = try await hotline.step(number, "return-requests", as: "handler:housing", body: #"{"reason": "非本单位职责"}"#, expect: 201)
        return (number, (view["return_requests"] as! [[String: Any]]).last!["id"] as! Int)
    }

    static func pendingExtension(_ hotline: TestHotline) async throws -> (String, Int) {
        let number = try await hotline.caseInProgress()
        let view = try await hotline.step(number, "extension-requests", as: "handler:housing",
                                          body: #"{"working_days": 2, "reason": "需协调"}"#, expect: 201)
        return (number, (view["extension_requests"] as! [[String: Any]]).last!["id"] as! Int)
    }

    static let transitions: [Transition] = [
        Transition(name: "dispatch", setup: { "\(try await $0.fileCase())/dispatch" },
                   body: #"{"lead_unit": "housing", "assist_units": ["environment"]}"#, allowed: ["dispatcher": 200]),
        Transition(name: "sign", setup: { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number, assists: ["environment"])
            return "\(number)/sign"
        }, body: "", allowed: ["handler:housing": 200, "handler:environment": 200], refusal: (403, "not_assigned")),
        Transition(name: "request return", setup: { "\(try await $0.caseInProgress())/return-requests" },
                   body: #"{"reason": "非本单位职责"}"#, allowed: ["handler:housing": 201], refusal: (403, "not_lead_unit")),
        Transition(name: "approve return", setup: { hotline in
            let (number, id) = try await pendingReturn(hotline)
            return "\(number)/return-requests/\(id)/approve"
        }, body: #"{"lead_unit": "water"}"#, allowed: ["dispatcher": 200]),
        Transition(name: "reject return", setup: { hotline in
            let (number, id) = try await pendingReturn(hotline)
            return "\(number)/return-requests/\(id)/reject"
        }, body: #"{"reason": "属本单位职责"}"#, allowed: ["dispatcher": 200]),
        Transition(name: "request extension", setup: { "\(try await $0.caseInProgress())/extension-requests" },
                   body: #"{"working_days": 2, "reason": "需协调"}"#, allowed: ["handler:housing": 201],
                   refusal: (403, "not_lead_unit")),
        Transition(name: "approve extension", setup: { hotline in
            let (number, id) = try await pendingExtension(hotline)
            return "\(number)/extension-requests/\(id)/approve"
        }, body: "{}", allowed: ["dispatcher": 200]),
        Transition(name: "reject extension", setup: { hotline in
            let (number, id) = try await pendingExtension(hotline)
            return "\(number)/extension-requests/\(id)/reject"
        }, body: #"{"reason": "可按期办结"}"#, allowed: ["dispatcher": 200]),
        Transition(name: "assisting opinion", setup: { "\(try await inProgress($0))/opinions" },
                   body: #"{"text": "建议约谈维保单位"}"#, allowed: ["handler:environment": 201],
                   refusal: (403, "not_assisting_unit")),
        Transition(name: "progress note", setup: { "\(try await inProgress($0))/notes" },
                   body: #"{"text": "正在处理"}"#, allowed: ["handler:housing": 201, "handler:environment": 201],
                   refusal: (403, "not_assigned")),
        Transition(name: "reply", setup: { "\(try await inProgress($0))/reply" }, body: """
            {"outcome": "resolved", "text": "已解决", "contacted_citizen": true, "handler_name": "李明", "handler_phone": "13900000000"}
            """, allowed: ["handler:housing": 200], refusal: (403, "not_lead_unit")),
        Transition(name: "return visit", setup: { hotline in
            let number = try await hotline.caseInProgress()
            try await hotline.reply(number)
            return "\(number)/visits"
        }, body: #"{"reached": true, "satisfaction": "satisfied", "resolved": true}"#, allowed: ["operator": 201, "dispatcher": 201]),
        Transition(name: "reopen", setup: { "\(try await $0.caseRatedUnsatisfied())/reopen" },
                   body: #"{"reason": "仍未解决"}"#, allowed: ["operator": 200, "dispatcher": 200]),
        Transition(name: "close after review", setup: { "\(try await $0.caseRatedUnsatisfied())/close" },
                   body: #"{"reason": "已尽力"}"#, allowed: ["dispatcher": 200]),
        Transition(name: "exempt", setup: { "\(try await $0.caseInProgress())/exempt" },
                   body: #"{"reason": "诉求不合理"}"#, allowed: ["dispatcher": 200]),
        Transition(name: "merge", setup: { hotline in
            let master = try await hotline.caseInProgress()
            return "\(try await hotline.fileCase())/merge?master=\(master)"
        }, body: "", allowed: ["dispatcher": 200]),
        Transition(name: "withdraw", setup: { "\(try await $0.caseInProgress())/withdraw" },
                   body: #"{"reason": "市民撤诉"}"#, allowed: ["operator": 200, "dispatcher": 200]),
        Transition(name: "transfer", setup: { "\(try await $0.fileCase())/transfer" },
                   body: #"{"service": "110"}"#, allowed: ["operator": 200, "dispatcher": 200]),
        Transition(name: "contact reveal", setup: { "\(try await $0.caseInProgress(CaseBodies.consenting()))/contact-reveal" },
                   body: "", allowed: ["operator": 200, "dispatcher": 200, "manager": 200, "handler:housing": 200],
                   refused: ["handler:water": (404, "not_found"), "handler:environment": (403, "not_lead_unit")]),
        Transition(name: "give opinion before signing", setup: { hotline in
            let number = try await hotline.caseInProgress()
            return "\(number)/opinions"
        }, body: #"{"text": "意见"}"#, allowed: [:], refusal: (403, "not_assisting_unit"),
           refused: ["handler:environment": (409, "invalid_transition")]),
    ]

    @Test(arguments: transitions)
    func whoMayDoWhat(_ transition: Transition) async throws {
        try await withHotline { hotline in
            var outcomes: [String] = []  // every way the matrix was not met
            for actor in Self.actors {
                // setup: a fresh case in the state the transition starts from
                var path = try await transition.setup(hotline)
                var body = transition.body
                if let query = path.firstIndex(of: "?") {  // merge: the master rides along in the setup's path
                    body = json(["master": String(path[path.index(query, offsetBy: 8)...])])
                    path = String(path[..<query])
                }
                // act
                let response = try await hotline.request(.post, "/api/v1/cases/\(path)", as: actor, body: body.isEmpty ? nil : body)
                // verify
                if let success = transition.allowed[actor] {
                    if response.status.code != success {
                        outcomes.append("\(actor): \(response.status.code) (expected \(success)) \(response.text)")
                    }
                } else {
                    let (status, code) = transition.refusal(of: actor)
                    if response.status.code != status || response.problemCode != code {
                        outcomes.append("\(actor): \(response.status.code) \(response.problemCode ?? "") (expected \(status) \(code))")
                    }
                }
            }
            #expect(outcomes.isEmpty, "\(transition.name): \(outcomes)")
        }
    }

    /// Someone who may not act is told so, whatever they sent: no field-by-field feedback first.
    @Test func refusalComesBeforeValidation() async throws {
        try await withHotline { hotline in
            let number = try await Self.inProgress(hotline)
            let attempts: [(String, String, String)] = [
                ("reply", "dispatcher", "not_lead_unit"), ("reply", "handler:environment", "not_lead_unit"),
                ("return-requests", "operator", "not_lead_unit"), ("extension-requests", "handler:environment", "not_lead_unit"),
                ("opinions", "handler:housing", "not_assisting_unit"), ("notes", "admin", "not_assigned"),
                ("dispatch", "handler:housing", "forbidden"), ("visits", "handler:housing", "forbidden"),
                ("merge", "operator", "forbidden"), ("withdraw", "manager", "forbidden"), ("exempt", "operator", "forbidden"),
            ]
            for (step, actor, code) in attempts {
                let response = try await hotline.request(.post, "/api/v1/cases/\(number)/\(step)", as: actor, body: #"{"bogus": "#)
                #expect(response.status == .forbidden, "\(step) as \(actor): \(response.text)")
                #expect(response.problemCode == code, "\(step) as \(actor): \(response.text)")
            }
            // A unit the case was never assigned to is told it does not exist, whatever it sent.
            for step in ["sign", "notes", "reply", "return-requests", "extension-requests", "opinions"] {
                let response = try await hotline.request(.post, "/api/v1/cases/\(number)/\(step)", as: "handler:water", body: #"{"bogus": "#)
                #expect(response.status == .notFound, "\(step) as another unit: \(response.text)")
            }
        }
    }

    @Test func whoMayReadACase() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress()
            let expected = ["operator": 200, "dispatcher": 200, "manager": 200, "supervisor": 200, "admin": 403,
                            "handler:housing": 200, "handler:environment": 200, "handler:water": 404]
            for (actor, status) in expected {
                let response = try await hotline.request(.get, "/api/v1/cases/\(number)", as: actor)
                #expect(response.status.code == status, "\(actor): \(response.text)")
            }
        }
    }
}
