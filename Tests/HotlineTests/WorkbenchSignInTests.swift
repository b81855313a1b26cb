import Foundation
import HTTPTypes
import HotlineCore
import Hummingbird
import HummingbirdTesting
import Testing

/// Signing in to the workbench (DOMAIN §16, issue 17): a server-side session in an HttpOnly,
/// SameSite=Strict cookie, CSRF tokens on every form, sign-in attempts limited, sessions that end.
@Suite("Workbench sign-in") struct WorkbenchSignInTests {
    static let password = "岱宗-Workbench-2026"

    /// An operator with a login and a password, set as an admin does.
    static func operatorWithPassword(_ hotline: TestHotline, login: String = "wang.fang") async throws -> Int {
        let created = try await hotline.request(.post, "/api/v1/users", as: "admin",
                                                body: json(["name": "王芳", "role": "operator", "login": login]))
        let id = try #require(try created.object()["id"] as? Int)
        let set = try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: json(["password": password]))
        #expect(set.status == .ok, "\(set.text)")
        return id
    }

    @Test func signingInGivesAnHttpOnlyStrictSessionAndEveryFormNeedsItsToken() async throws {
        try await withHotline { hotline in
            _ = try await Self.operatorWithPassword(hotline)
            let browser = WorkbenchBrowser(hotline)
            // Not signed in: the pages send the browser to the sign-in form.
            let away = try await browser.get("/workbench/")
            #expect(away.status == .seeOther && away.headers[.location] == "/workbench/login")

            let form = try await browser.get("/workbench/login")
            #expect(form.status == .ok && form.text.contains("<label for=\"login\">登录名</label>"))
            let policy = try #require(form.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && !policy.contains("http"))
            #expect(form.headers[.xContentTypeOptions] == "nosniff" && form.headers[.cacheControl] == "no-store")

            // A wrong password: refused, the login kept in the form, no session.
            let wrong = try await browser.signIn("Wang.Fang", Self.password + "x")
            #expect(wrong.status == .unauthorized && wrong.text.contains("登录名或密码不正确") && wrong.text.contains("value=\"wang.fang\""))
            #expect(browser.cookies[WorkbenchTestNames.session] == nil)

            let signedIn = try await browser.signIn("wang.fang", Self.password)
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/workbench/")
            let sessionCookie = browser.lastSetCookies.first { $0.hasPrefix(WorkbenchTestNames.session + "=") }
            let cookie = try #require(sessionCookie)
            let attributes = Set(cookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            #expect(attributes.contains("httponly") && attributes.contains("samesite=strict") && attributes.contains("path=/workbench"), "\(cookie)")
            #expect(!attributes.contains("secure"))  // plain HTTP here; `--secure-cookies` behind TLS
            // Only the secret's SHA-256 is kept.
            let secret = try #require(browser.cookies[WorkbenchTestNames.session]?.value)
            let stored: Int = try await hotline.sql { connection in
                try await connection.query("SELECT count(*)::int FROM sessions WHERE secret_hash = sha256(convert_to(\(secret), 'UTF8'))",
                                           logger: TestDatabase.logger).collect().first!.decode(Int.self)
            }
            #expect(stored == 1)

            let home = try await browser.get("/workbench/")
            #expect(home.status == .ok && home.text.contains("王芳") && home.text.contains("话务员"), "\(home.text)")
            let token = try #require(WorkbenchBrowser.csrf(home))

            // Signing out without the session's token, or with another's: refused, still signed in.
            for bad in [nil, "forged", String(token.dropLast()) + (token.hasSuffix("A") ? "B" : "A")] {
                let refused = try await browser.post("/workbench/logout", bad.map { [("csrf", $0)] } ?? [])
                #expect(refused.status == .forbidden && refused.text.contains("校验码"), "\(refused.status)")
                #expect(try await browser.get("/workbench/").status == .ok)
            }
            // A sign-in form posted without its cookie (from another site): refused.
            let elsewhere = WorkbenchBrowser(hotline)
            let stray = try await elsewhere.post("/workbench/login", [("csrf", "made-up"), ("login", "wang.fang"), ("password", Self.password)])
            #expect(stray.status == .forbidden && elsewhere.cookies[WorkbenchTestNames.session] == nil)

            let out = try await browser.post("/workbench/logout", [("csrf", token)])
            #expect(out.status == .seeOther && out.headers[.location] == "/workbench/login")
            #expect(browser.cookies[WorkbenchTestNames.session] == nil)
            // The old cookie, kept by someone: the session has ended on the server.
            browser.cookies[WorkbenchTestNames.session] = (secret, "/workbench")
            #expect(try await browser.get("/workbench/").status == .seeOther)
        }
    }

    @Test func wrongPasswordsAreRateLimitedEvenWhenTheRightOneFollows() async throws {
        try await withHotline { hotline in
            _ = try await Self.operatorWithPassword(hotline)
            let browser = WorkbenchBrowser(hotline)
            for attempt in 1...5 {
                #expect(try await browser.signIn("wang.fang", "guess-\(attempt)-nope").status == .unauthorized)
            }
            let limited = try await browser.signIn("wang.fang", Self.password)
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] == "60" && limited.text.contains("过于频繁"))
            #expect(browser.cookies[WorkbenchTestNames.session] == nil)
            // A minute later the right password signs in.
            try await hotline.sweep(at: "2026-03-02T09:01:30+08:00")
            #expect(try await browser.signIn("wang.fang", Self.password).status == .seeOther)
        }
    }

    @Test func aSessionEndsWhenIdleWhenOldWhenThePasswordIsSetAndWhenTheUserIsDeactivated() async throws {
        try await withHotline { hotline in
            let id = try await Self.operatorWithPassword(hotline)
            let browser = WorkbenchBrowser(hotline)
            #expect(try await browser.signIn("wang.fang", Self.password).status == .seeOther)
            // Used every hour and a half: it lives on, but not past twelve hours from sign-in.
            for time in ["10:30", "12:00", "13:30", "15:00", "16:30", "18:00", "19:30", "20:30"] {
                try await hotline.sweep(at: "2026-03-02T\(time):00+08:00")
                #expect(try await browser.get("/workbench/").status == .ok, "\(time)")
            }
            try await hotline.sweep(at: "2026-03-02T21:00:30+08:00")
            #expect(try await browser.get("/workbench/").status == .seeOther)

            // Idle for over two hours: ended.
            #expect(try await browser.signIn("wang.fang", Self.password).status == .seeOther)
            try await hotline.sweep(at: "2026-03-02T23:01:00+08:00")
            #expect(try await browser.get("/workbench/").status == .seeOther)

            // A new password, or a deactivation, signs the user out everywhere.
            #expect(try await browser.signIn("wang.fang", Self.password).status == .seeOther)
            let other = WorkbenchBrowser(hotline)
            #expect(try await other.signIn("wang.fang", Self.password).status == .seeOther)
            let newPassword = "泰山-Another-Secret-9"
            #expect(try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: json(["password": newPassword])).status == .ok)
            #expect(try await browser.get("/workbench/").status == .seeOther)
            #expect(try await other.get("/workbench/").status == .seeOther)
            #expect(try await browser.signIn("wang.fang", Self.password).status == .unauthorized)
            #expect(try await browser.signIn("wang.fang", newPassword).status == .seeOther)
            #expect(try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: #"{"active": false}"#).status == .ok)
            #expect(try await browser.get("/workbench/").status == .seeOther)
            #expect(try await browser.signIn("wang.fang", newPassword).status == .unauthorized)
        }
    }

    @Test func aTemplateEscapesWhatItShows() async throws {
        try await withHotline { hotline in
            _ = try await Self.operatorWithPassword(hotline, login: "zhao.lei")
            // A name as an admin might type it, with markup in it.
            try await hotline.sql { connection in
                _ = try await connection.query("UPDATE users SET name = '<script>alert(1)</script>赵磊' WHERE login = 'zhao.lei'",
                                               logger: TestDatabase.logger).collect()
            }
            let browser = WorkbenchBrowser(hotline)
            #expect(try await browser.signIn("zhao.lei", Self.password).status == .seeOther)
            let home = try await browser.get("/workbench/")
            #expect(home.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;赵磊") && !home.text.contains("<script>alert"))
        }
    }
}

