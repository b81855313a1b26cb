import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import HotlineHTTP

@Suite("Problem documents") struct ProblemTests {
    struct Secret: Error, CustomStringConvertible {
        var description: String { "SELECT * FROM case_contacts -- internals" }
    }

    /// An unexpected error is logged at error level with the request id, and the client gets a
    /// bare 500 problem that names the request id and nothing of the internals.
    @Test func anUnknownErrorIsLoggedAndAnsweredWithABare500() async throws {
        let capture = LogCapture()
        let router = Router(context: HotlineRequestContext.self)
        router.add(middleware: RequestLogger())
        router.add(middleware: ProblemMiddleware())
        router.get("boom") { _, _ -> Response in throw Secret() }
        let app = Application(router: router, logger: capture.logger(level: .info))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/boom", method: .get)
            #expect(response.status == .internalServerError)
            #expect(response.headers[.contentType] == "application/problem+json")
            let body = String(buffer: response.body)
            #expect(!body.contains("SELECT") && !body.contains("case_contacts"))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect(object["code"] as? String == "internal_error")
            let requestId = try #require(object["request_id"] as? String)
            #expect(response.headers[.init("X-Request-Id")!] == requestId)
            let logged = capture.all.filter { $0.hasPrefix("error") && $0.contains(requestId) }
            #expect(logged.count == 1)
            #expect(logged.first?.contains("case_contacts") == true)
        }
    }
}
