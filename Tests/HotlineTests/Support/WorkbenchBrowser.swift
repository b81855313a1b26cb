import Foundation
import HTTPTypes
import HotlineCore
import HummingbirdTesting
import Testing

/// A browser's part: the cookies it was given, sent back on the paths they are for.
final class WorkbenchBrowser: @unchecked Sendable {
    let hotline: TestHotline
    var cookies: [String: (value: String, path: String)] = [:]
    var lastSetCookies: [String] = []

    init(_ hotline: TestHotline) { self.hotline = hotline }

    @discardableResult
    func get(_ path: String) async throws -> TestResponse {
        try await send(.get, path, form: nil)
    }

    @discardableResult
    func post(_ path: String, _ form: [(String, String)]) async throws -> TestResponse {
        try await send(.post, path, form: form)
    }

    func send(_ method: HTTPRequest.Method, _ path: String, form: [(String, String)]?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        let sent = cookies.filter { path.hasPrefix($0.value.path) }.map { "\($0.key)=\($0.value.value)" }
        if !sent.isEmpty { headers[.cookie] = sent.joined(separator: "; ") }
        var body: String?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        let response = try await hotline.request(method, path, body: body, headers: headers)
        lastSetCookies = response.headers[values: .setCookie]
        for header in lastSetCookies {
            let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let pair = parts[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            let path = parts.first { $0.lowercased().hasPrefix("path=") }.map { String($0.dropFirst(5)) } ?? "/"
            if value.isEmpty || parts.contains(where: { $0.lowercased() == "max-age=0" }) {
                cookies[name] = nil
            } else {
                cookies[name] = (value, path)
            }
        }
        return response
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed)!
    }

    /// The value of the hidden field `csrf` of the page.
    static func csrf(_ page: TestResponse) -> String? {
        hidden("csrf", in: page)
    }

    /// The value of a hidden field of the page (the first of that name).
    static func hidden(_ name: String, in page: TestResponse) -> String? {
        let marker = "name=\"\(name)\" value=\""
        guard let start = page.text.range(of: marker) else { return nil }
        return String(page.text[start.upperBound...].prefix { $0 != "\"" })
    }

    /// The case number a redirect leads to (`/workbench/cases/NUMBER?…`).
    static func caseNumber(_ location: String?) -> String? {
        location?.firstMatch(of: /cases\/([0-9]{14})/).map { String($0.1) }
    }

    /// Signs in through the form, as a person does.
    @discardableResult
    func signIn(_ login: String, _ password: String) async throws -> TestResponse {
        let form = try await get("/workbench/login")
        let token = try #require(Self.csrf(form))
        return try await post("/workbench/login", [("csrf", token), ("login", login), ("password", password)])
    }
}

enum WorkbenchTestNames {
    static let session = "hotline_session"
}

extension TestHotline {
    /// The user behind a test token (`operator`, `handler:housing`, …) given a login and a
    /// password by the admin, and signed in to the workbench in a browser of its own.
    func workbench(as who: String) async throws -> WorkbenchBrowser {
        let me = try await request(.get, "/api/v1/me", as: who).object()
        let id = try #require(me["id"] as? Int)
        let login = "u\(id)-" + who.replacingOccurrences(of: ":", with: ".")
        let password = "Workbench-\(id)-岱宗夫如何"
        let set = try await request(.patch, "/api/v1/users/\(id)", as: "admin", body: json(["login": login, "password": password]))
        #expect(set.status == .ok, "\(set.text)")
        let browser = WorkbenchBrowser(self)
        let signedIn = try await browser.signIn(login, password)
        #expect(signedIn.status == .seeOther, "\(who) could not sign in: \(signedIn.text)")
        return browser
    }
}
