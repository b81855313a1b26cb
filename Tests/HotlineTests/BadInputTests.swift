import Foundation
import HummingbirdTesting
typealias HummingbirdTestingResponse = TestResponse
import HotlineCore
import Testing

/// Bad input of every kind gets a 4xx problem document and changes nothing; never a 500.
@Suite("Bad input") struct BadInputTests {
    static func expectProblem(_ response: TestResponseLike, _ status: Int, _ code: String? = nil, _ note: String = "") {
        #expect(response.statusCode == status, "\(note): \(response.text)")
        #expect(response.contentType == "application/problem+json", "\(note)")
        if let code { #expect(response.code == code, "\(note): \(response.text)") }
    }

    @Test func malformedBodiesAreRefused() async throws {
        try await withHotline { hotline in
            let cases: [(String, [UInt8], Int, String)] = [
                ("truncated JSON", Array(#"{"channel": "phone", "type": "#.utf8), 400, "malformed_json"),
                ("invalid UTF-8", Array(#"{"channel": "phone", "subject": ""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8), 400, "malformed_json"),
                ("empty body", [], 400, "malformed_json"),
                ("an array", Array("[]".utf8), 400, "validation_failed"),
                ("a string", Array(#""case""#.utf8), 400, "validation_failed"),
                ("null", Array("null".utf8), 400, "validation_failed"),
            ]
            for (note, bytes, status, code) in cases {
                let response = try await hotline.request(.post, "/api/v1/cases", as: "operator", bytes: bytes)
                Self.expectProblem(TestResponseLike(response), status, code, note)
            }
            #expect(try await hotline.count("cases") == 0)
        }
    }

    @Test func wrongTypesUnknownValuesAndMissingFieldsNameTheField() async throws {
        try await withHotline { hotline in
            var body = CaseBodies.make()
            body["subject"] = 5
            var response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
            Self.expectProblem(TestResponseLike(response), 400, "validation_failed", "subject as number")
            #expect((try response.object()["errors"] as? [[String: Any]])?.first?["field"] as? String == "subject")

            body = CaseBodies.make(type: "praise")
            response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
            Self.expectProblem(TestResponseLike(response), 400, "validation_failed", "unknown type")
            #expect(try response.object()["detail"] as? String == "type: must be one of: consultation, help, complaint, report, suggestion")

            body = CaseBodies.make()
            body.removeValue(forKey: "category")
            response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
            #expect(try response.object()["detail"] as? String == "category: is required")

            body = CaseBodies.make()
            body["citizen"] = ["anonymous": "no"]
            response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
            #expect(try response.object()["detail"] as? String == "citizen.anonymous: must be true or false")
            #expect(try await hotline.count("cases") == 0)
        }
    }

    @Test func lengthsAndCharactersAreChecked() async throws {
        try await withHotline { hotline in
            let exactly4000 = String(repeating: "噪", count: 4000)
            let ok = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                               body: json(CaseBodies.make(description: exactly4000)))
            #expect(ok.status == .created)
            let bad: [(String, [String: Any])] = [
                ("4001 characters", CaseBodies.make(description: exactly4000 + "声")),
                ("201-character subject", CaseBodies.make(subject: String(repeating: "a", count: 201))),
                ("blank subject", CaseBodies.make(subject: "   ")),
                ("NUL in the subject", CaseBodies.make(subject: "电梯\u{0}停运")),
                ("control character in the name", CaseBodies.make(name: "张\u{7}三")),
                ("phone with letters", CaseBodies.make(phone: "138-call-me")),
                ("phone too short", CaseBodies.make(phone: "1234")),
                ("anonymous with a phone", CaseBodies.make(phone: "13812345678", anonymous: true, consent: false)),
                ("latitude without longitude", { var b = CaseBodies.make(); b["location"] = ["latitude": 36.2]; return b }()),
                ("latitude out of range", { var b = CaseBodies.make(); b["location"] = ["latitude": 136.2, "longitude": 117.1]; return b }()),
            ]
            for (note, body) in bad {
                let response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
                Self.expectProblem(TestResponseLike(response), 400, "validation_failed", note)
            }
            let huge = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                 bytes: Array(repeating: UInt8(ascii: " "), count: 2 << 20))
            Self.expectProblem(TestResponseLike(huge), 413, "payload_too_large", "2 MiB body")
            let notJSON = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint(),
                                                    headers: [.contentType: "text/plain"])
            Self.expectProblem(TestResponseLike(notJSON), 415, "unsupported_media_type", "text/plain")
            #expect(try await hotline.count("cases") == 1)
        }
    }

    /// DOMAIN §4: a named citizen may give no phone; a direct answer cites a published article.
    @Test func aPhoneIsOptionalAndADirectAnswerCitesAnArticle() async throws {
        try await withHotline { hotline in
            let named = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(CaseBodies.make(phone: nil)))
            #expect(named.status == .created, "\(named.text)")
            let uncited = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(CaseBodies.make(
                type: "consultation", category: "social-security.pension", directAnswer: ["text": "已解答", "article_ids": []])))
            Self.expectProblem(TestResponseLike(uncited), 400, "validation_failed", "a direct answer citing nothing")
            #expect(try await hotline.count("cases") == 1)
        }
    }

    /// Characters that hide what a text says: C1 controls, bidirectional overrides and
    /// zero-width characters are refused with the field named; line breaks from a browser's
    /// form (CRLF) and the joiner inside an emoji are kept.
    @Test func invisibleAndReorderingCharactersAreRefused() async throws {
        try await withHotline { hotline in
            let bad: [(String, [String: Any], String)] = [
                ("C1 control in the description", CaseBodies.make(description: "电梯\u{85}停运"), "description"),
                ("bidi override in the subject", CaseBodies.make(subject: "电梯\u{202E}停运"), "subject"),
                ("bidi isolate in the description", CaseBodies.make(description: "电梯\u{2067}停运"), "description"),
                ("zero-width space in the name", CaseBodies.make(name: "张\u{200B}三"), "citizen.name"),
                ("byte-order mark in the subject", CaseBodies.make(subject: "\u{FEFF}电梯停运"), "subject"),
                ("a lone zero-width joiner", CaseBodies.make(description: "电梯\u{200D}停运"), "description"),
            ]
            for (note, body, field) in bad {
                let response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
                Self.expectProblem(TestResponseLike(response), 400, "validation_failed", note)
                #expect((try response.object()["errors"] as? [[String: Any]])?.first?["field"] as? String == field, "\(note)")
            }
            #expect(try await hotline.count("cases") == 0)
            let kept = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                 body: json(CaseBodies.make(description: "第一行\r\n第二行👨‍👩‍👧")))
            #expect(kept.status == .created, "\(kept.text)")
            #expect(try kept.object()["description"] as? String == "第一行\n第二行👨‍👩‍👧")
        }
    }

    /// A word too long for the text index is refused as bad input, not answered with a 500.
    @Test func anArticleWithAWordTooLongToIndexIs400() async throws {
        try await withHotline { hotline in
            let response = try await hotline.request(.post, "/api/v1/knowledge", as: "handler:housing",
                                                     body: json(["title": "电梯", "body": String(repeating: "a", count: 2100)]))
            Self.expectProblem(TestResponseLike(response), 400, "validation_failed", "a 2,100-letter word")
            #expect((try response.object()["errors"] as? [[String: Any]])?.first?["field"] as? String == "body")
            #expect(try await hotline.count("knowledge_articles") == 0)
            // A case's description with such a word is still taken: the word is left out of its index.
            let filed = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                  body: json(CaseBodies.make(description: String(repeating: "a", count: 2100))))
            #expect(filed.status == .created, "\(filed.text)")
        }
    }

    @Test func referencesToUnknownThingsAre422() async throws {
        try await withHotline { hotline in
            let unknownCategory = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                            body: json(CaseBodies.make(category: "no.such")))
            Self.expectProblem(TestResponseLike(unknownCategory), 422, "unknown_category")
            let notARegion = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                       body: json(CaseBodies.make(region: "housing")))
            Self.expectProblem(TestResponseLike(notARegion), 422, "unknown_region")
            #expect(try await hotline.count("cases") == 0)
        }
    }

    /// Every field of a valid case replaced by every wrong kind of value: always a 4xx or a
    /// 201, never a 5xx.
    @Test func noMutationOfACaseBodyGivesA500() async throws {
        try await withHotline { hotline in
            let wrongValues: [Any] = [NSNull(), 0, -1, 1e300, "", "x", "\u{0}", true, [Any](), [String: Any](),
                                      String(repeating: "长", count: 5000)]
            let paths: [[String]] = [
                ["channel"], ["type"], ["urgency"], ["category"], ["subject"], ["description"], ["location"],
                ["location", "address"], ["location", "region"], ["location", "latitude"], ["location", "longitude"],
                ["citizen"], ["citizen", "name"], ["citizen", "phone"], ["citizen", "anonymous"],
                ["citizen", "confidential"], ["citizen", "contact_consent"], ["direct_answer"],
            ]
            var served = 0
            for path in paths {
                for value in wrongValues {
                    var body = CaseBodies.make()
                    if path.count == 1 {
                        body[path[0]] = value
                    } else {
                        var inner = body[path[0]] as? [String: Any] ?? [:]
                        inner[path[1]] = value
                        body[path[0]] = inner
                    }
                    let response = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: json(body))
                    #expect(response.status.code < 500, "\(path) = \(value): \(response.text)")
                    if response.status.code >= 400 {
                        #expect(response.headers[.contentType] == "application/problem+json")
                    }
                    served += 1
                }
            }
            #expect(served == paths.count * wrongValues.count)
        }
    }

    @Test func credentialsAndRolesAreChecked() async throws {
        try await withHotline { hotline in
            let none = try await hotline.request(.get, "/api/v1/cases")
            Self.expectProblem(TestResponseLike(none), 401, "unauthorized", "no token")
            #expect(none.headers[.wwwAuthenticate] == "Bearer")
            let wrong = try await hotline.request(.get, "/api/v1/cases", headers: [.authorization: "Bearer hl_nope"])
            Self.expectProblem(TestResponseLike(wrong), 401, "unauthorized", "unknown token")
            let basic = try await hotline.request(.get, "/api/v1/cases", headers: [.authorization: "Basic YTpi"])
            Self.expectProblem(TestResponseLike(basic), 401, "unauthorized", "basic auth")
            let handler = try await hotline.request(.post, "/api/v1/cases", as: "handler:housing", body: CaseBodies.complaint())
            Self.expectProblem(TestResponseLike(handler), 403, "forbidden", "handler filing a case")
            let admin = try await hotline.request(.get, "/api/v1/cases", as: "admin")
            Self.expectProblem(TestResponseLike(admin), 403, "forbidden", "admin reading cases")
            #expect(try await hotline.count("cases") == 0)
        }
    }

    @Test func unknownPathsAndBadQueriesAreProblemsToo() async throws {
        try await withHotline { hotline in
            Self.expectProblem(TestResponseLike(try await hotline.request(.get, "/nowhere")), 404, "not_found")
            Self.expectProblem(TestResponseLike(try await hotline.request(.get, "/api/v1/cases/abc", as: "operator")), 404, "not_found")
            Self.expectProblem(TestResponseLike(try await hotline.request(.get, "/api/v1/cases/20260302999999", as: "operator")), 404, "not_found")
            for query in ["status=open", "limit=0", "limit=501", "limit=ten", "cursor=%%%", "cursor=bm9wZQ",
                          "accepted_from=yesterday", "type=praise", "q=" + String(repeating: "x", count: 101)] {
                let response = try await hotline.request(.get, "/api/v1/cases?" + query, as: "operator")
                Self.expectProblem(TestResponseLike(response), 400, "validation_failed", query)
            }
        }
    }
}

/// The parts of a response the checks above look at.
struct TestResponseLike {
    let statusCode: Int
    let contentType: String?
    let text: String
    let code: String?

    init(_ response: HummingbirdTestingResponse) {
        statusCode = response.status.code
        contentType = response.headers[.contentType]
        text = response.text
        code = response.problemCode
    }
}
