import Foundation
import HotlineCore
import Testing

/// The closed set of problem codes: the Swift enum, the OpenAPI document and the tests agree.
@Suite("Error codes") struct ErrorCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `enum` of `Problem.code` in the OpenAPI document.
    static func documented() throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent("Sources/HotlineHTTP/openapi.yaml"), encoding: .utf8)
        let problem = try #require(text.range(of: "\n    Problem:\n"))
        let code = try #require(text.range(of: "        code:\n", range: problem.upperBound..<text.endIndex))
        let list = try #require(text.range(of: "enum: [", range: code.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "]", range: list.upperBound..<text.endIndex))
        return text[list.upperBound..<end.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test func theDocumentListsExactlyTheCodes() throws {
        let declared = ErrorCode.allCases.map(\.rawValue)
        #expect(try Self.documented() == declared)
        #expect(Set(declared).count == declared.count)
    }

    /// Each code is provoked by a test (which names it, as the problem document spells it), or is
    /// listed as unreachable with the reason; never both.
    @Test func everyCodeIsProvokedOrExplained() throws {
        let tests = Self.root.appendingPathComponent("Tests/HotlineTests")
        let files = try FileManager.default.subpathsOfDirectory(atPath: tests.path)
            .filter { $0.hasSuffix(".swift") }
        let text = try files.map { try String(contentsOf: tests.appendingPathComponent($0), encoding: .utf8) }.joined()
        var unprovoked: [String] = []
        var explainedYetProvoked: [String] = []
        for code in ErrorCode.allCases {
            let provoked = text.contains("\"\(code.rawValue)\"")
            let explained = ErrorCode.unreachableInTests[code] != nil
            if !provoked && !explained { unprovoked.append(code.rawValue) }
            if provoked && explained { explainedYetProvoked.append(code.rawValue) }
        }
        #expect(unprovoked.isEmpty, "no test provokes these, and none is listed as unreachable: \(unprovoked)")
        #expect(explainedYetProvoked.isEmpty, "listed as unreachable but a test provokes them: \(explainedYetProvoked)")
    }

    /// The refusals no other test meets, one by one, each with its code.
    @Test func refusalsCarryTheirCodes() async throws {
        try await withHotline { hotline in
            func expect(_ response: TestResponseLike, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.statusCode == status, "\(code): \(response.text)", sourceLocation: sourceLocation)
                #expect(response.code == code, "\(response.text)", sourceLocation: sourceLocation)
            }
            func post(_ path: String, as who: String = "dispatcher", _ body: String = "{}") async throws -> TestResponseLike {
                TestResponseLike(try await hotline.request(.post, path, as: who, body: body))
            }
            // Merging: into itself, into nothing, into a closed case, a master of others.
            let master = try await hotline.fileCase()
            let duplicate = try await hotline.fileCase()
            expect(try await post("/api/v1/cases/\(master)/merge", json(["master": master])), 422, "same_case")
            expect(try await post("/api/v1/cases/\(master)/merge", #"{"master": "20990101000001"}"#), 422, "unknown_master")
            try await hotline.step(duplicate, "merge", as: "dispatcher", body: json(["master": master]))
            let another = try await hotline.fileCase()
            expect(try await post("/api/v1/cases/\(master)/merge", json(["master": another])), 422, "has_duplicates")
            let closed = try await hotline.fileCase()
            try await hotline.step(closed, "withdraw", as: "operator", body: #"{"reason": "市民撤回"}"#)
            expect(try await post("/api/v1/cases/\(another)/merge", json(["master": closed])), 422, "master_not_open")

            // Exempt twice; urge a step not owed; publish a period not begun.
            try await hotline.step(another, "exempt", as: "dispatcher", body: #"{"reason": "诉求超出职权范围"}"#)
            expect(try await post("/api/v1/cases/\(another)/exempt", #"{"reason": "再次"}"#), 409, "already_exempt")
            let number = try await hotline.caseInProgress(assists: [])
            expect(try await post("/api/v1/cases/\(number)/urge",
                                  try await hotline.supervising(number, step: "sign", ["note": "已签收的不再催"])), 409, "nothing_owed")
            expect(try await post("/api/v1/appraisals/2026-04/publish", as: "manager"), 422, "period_not_started")

            // A return approved back to the unit that returned it.
            let returned = try await hotline.step(number, "return-requests", as: "handler:housing",
                                                  body: #"{"reason": "不属本单位职责"}"#, expect: 201)
            let returnId = try #require((returned["return_requests"] as? [[String: Any]])?.last?["id"] as? Int)
            expect(try await post("/api/v1/cases/\(number)/return-requests/\(returnId)/approve", #"{"lead_unit": "housing"}"#),
                   422, "same_unit")

            // An extension whose deadline passed before anyone reviewed it (before the sweep says so).
            let extended = try await hotline.caseInProgress(assists: [])
            let asked = try await hotline.step(extended, "extension-requests", as: "handler:housing",
                                               body: #"{"working_days": 2, "reason": "需协调"}"#, expect: 201)
            let extensionId = try #require((asked["extension_requests"] as? [[String: Any]])?.first?["id"] as? Int)
            hotline.clock.set(Timestamp.parse("2026-03-10T09:00:00+08:00")!)
            expect(try await post("/api/v1/cases/\(extended)/extension-requests/\(extensionId)/approve"), 409, "request_lapsed")

            // The organisation: a unit twice, a category under its own child, an inactive unit,
            // an admin deactivating themselves, a route to a unit that is no region, a calendar
            // day another year gives.
            expect(try await post("/api/v1/units", as: "admin", #"{"code": "housing", "name": "住建局", "group": "city_department"}"#),
                   409, "already_exists")
            let cycle = TestResponseLike(try await hotline.request(.patch, "/api/v1/categories/environment", as: "admin",
                                                                   body: #"{"parent": "environment.noise"}"#))
            expect(cycle, 422, "category_cycle")
            let deactivated = try await hotline.request(.patch, "/api/v1/units/gas", as: "admin", body: #"{"active": false}"#)
            #expect(deactivated.status == .ok, "\(deactivated.text)")
            let toGas = try await hotline.fileCase()
            expect(try await post("/api/v1/cases/\(toGas)/dispatch", #"{"lead_unit": "gas"}"#), 422, "inactive_unit")
            let me = try await hotline.request(.get, "/api/v1/me", as: "admin").object()
            let myId = try #require(me["id"] as? Int)
            expect(TestResponseLike(try await hotline.request(.patch, "/api/v1/users/\(myId)", as: "admin", body: #"{"active": false}"#)),
                   422, "cannot_deactivate_self")
            expect(try await post("/api/v1/categories", as: "admin", """
                {"code": "misc", "name": "其他", "routes": [{"region": "housing", "lead_unit": "housing", "assist_units": []}]}
                """), 422, "not_a_region")
            let eve = try await hotline.request(.put, "/api/v1/calendar/2028", as: "manager",
                                                body: #"{"off_days": ["2027-12-31"], "make_up_working_days": []}"#)
            #expect(eve.status == .ok, "\(eve.text)")
            let overlap = TestResponseLike(try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                                     body: #"{"off_days": ["2027-12-31"], "make_up_working_days": []}"#))
            expect(overlap, 422, "calendar_overlap")
        }
    }
}
