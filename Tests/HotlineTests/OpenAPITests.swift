import Foundation
import HotlineCore
import HotlineHTTP
import Testing
import Yams

/// The OpenAPI document is kept by hand; these tests hold it to the router.
@Suite("OpenAPI document") struct OpenAPITests {
    static func document() throws -> [String: Any] {
        let text = String(decoding: try OpenAPIDocument.bytes(), as: UTF8.self)
        guard let document = try Yams.load(yaml: text) as? [String: Any] else {
            throw TestFailure("openapi.yaml is not a mapping")
        }
        return document
    }

    static let methods = ["get", "put", "post", "delete", "patch"]

    static func documentedOperations() throws -> Set<String> {
        let paths = try #require(try document()["paths"] as? [String: Any])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in methods where (item as? [String: Any])?[method] != nil {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    static func registered() throws -> Set<String> {
        // With the test clock: its routes are documented too (and answer 404 without it).
        let configuration = HotlineConfiguration(
            database: try TestDatabase.configuration(database: "postgres"), migrations: TestDatabase.migrator,
            testClock: SettableClock(Date())
        )
        return Set(try registeredRoutes(configuration).map { "\($0.method) \($0.path)" })
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() throws {
        let documented = try Self.documentedOperations()
        let registered = try Self.registered()
        #expect(registered.subtracting(documented).isEmpty, "undocumented: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not served: \(documented.subtracting(registered).sorted())")
        #expect(registered.count > 20)
    }

    @Test func everyReferenceResolves() throws {
        let document = try Self.document()
        let text = String(decoding: try OpenAPIDocument.bytes(), as: UTF8.self)
        let references = text.matches(of: /\$ref: "#\/components\/(\w+)\/(\w+)"/).map { (String($0.1), String($0.2)) }
        let components = try #require(document["components"] as? [String: Any])
        #expect(references.count > 50)
        for (kind, name) in references {
            #expect((components[kind] as? [String: Any])?[name] != nil, "\(kind)/\(name) is missing")
        }
    }

    /// Every operation carries the problems it can answer: 401 behind the bearer token, and a
    /// 400 wherever a body, a query or an Idempotency-Key is read.
    @Test func everyOperationDocumentsItsErrors() throws {
        let document = try Self.document()
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let shared = (document["components"] as? [String: Any])?["parameters"] as? [String: [String: Any]] ?? [:]
        for (path, item) in paths where path.hasPrefix("/api/v1") {
            for method in Self.methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                let responses = try #require(operation["responses"] as? [String: Any])
                #expect(responses["401"] != nil, "\(method) \(path) lacks 401")
                #expect(responses["500"] != nil, "\(method) \(path) lacks 500")
                if operation["requestBody"] != nil {
                    #expect(responses["400"] != nil && responses["413"] != nil && responses["415"] != nil,
                            "\(method) \(path) reads a body but does not document 400, 413 and 415")
                }
                // An Idempotency-Key or a query parameter can be malformed too (a key over 200
                // characters is a 400 whatever the body).
                let parameters = (operation["parameters"] as? [[String: Any]] ?? []) + (item["parameters"] as? [[String: Any]] ?? [])
                let readsInput = parameters.contains { parameter in
                    let resolved = (parameter["$ref"] as? String).flatMap { shared[String($0.split(separator: "/").last ?? "")] } ?? parameter
                    return resolved["in"] as? String == "query" || resolved["name"] as? String == "Idempotency-Key"
                }
                if readsInput {
                    #expect(responses["400"] != nil, "\(method) \(path) reads a header or query but does not document 400")
                }
            }
        }
    }

    /// Called with real identifiers, no documented operation falls through to the router's 404.
    @Test func everyDocumentedOperationAnswers() async throws {
        let operations = try Self.documentedOperations()
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            let user = try await hotline.request(.post, "/api/v1/users", as: "admin", body: #"{"name": "甲", "role": "operator"}"#)
            let userId = try #require(try user.object()["id"] as? Int)
            let token = try await hotline.request(.post, "/api/v1/users/\(userId)/tokens", as: "admin")
            let tokenId = try #require(try token.object()["id"] as? Int)
            let values = ["{number}": number, "{code}": "taishan", "{year}": "2026", "{id}": "\(userId)"]
            for operation in operations.sorted() {
                let parts = operation.split(separator: " ")
                var path = String(parts[1])
                if path.hasPrefix("/api/v1/tokens/") { path = "/api/v1/tokens/\(tokenId)" }
                if path.hasPrefix("/api/v1/categories/") { path = "/api/v1/categories/utilities.water" }
                for (placeholder, value) in values { path = path.replacingOccurrences(of: placeholder, with: value) }
                let who = path.contains("users") || path.contains("tokens") || path.contains("units") || path.contains("categories")
                    ? "admin" : (path.contains("time-limits") || path.contains("calendar/") ? "manager" : "operator")
                let response = try await hotline.request(.init(rawValue: String(parts[0]))!, path, as: who, body: "{}")
                let routerMiss = response.status == .notFound && (try? response.object()["detail"] as? String) == "no such resource"
                #expect(!routerMiss, "\(operation) → \(path) is not served")
                #expect(response.status.code < 500, "\(operation): \(response.text)")
            }
        }
    }
}
