import Foundation
import HTTPTypes
import HotlineCore
import Testing

/// Workbench passwords (DOMAIN §13, §16; issue 17): set by an admin, kept only as a slow salted
/// hash, never in an answer, a log line or a replay record.
@Suite("Passwords") struct PasswordTests {
    static let password = "泰山-Correct-horse-7"

    @Test func aHashIsSaltedSlowAndVerifiesOnlyItsPassword() throws {
        let first = try Passwords.hash(Self.password), second = try Passwords.hash(Self.password)
        #expect(first != second)
        #expect(first.hasPrefix("pbkdf2-sha512$210000$") && !first.contains(Self.password))
        #expect(Passwords.verify(Self.password, against: first) && Passwords.verify(Self.password, against: second))
        #expect(!Passwords.verify(Self.password + " ", against: first))
        #expect(!Passwords.verify("泰山-correct-horse-7", against: first))
        // Malformed, or fewer rounds than the floor: no match, no crash.
        for stored in ["", "pbkdf2-sha512$1000$AAAA$AAAA", "sha1$x", first.replacingOccurrences(of: "$210000$", with: "$1000$")] {
            #expect(!Passwords.verify(Self.password, against: stored), "\(stored)")
        }
        #expect(Passwords.problem("short1", login: nil) != nil)
        #expect(Passwords.problem("aaaaaaaaaaaa", login: nil) != nil)
        #expect(Passwords.problem("li.ming-2026!", login: "li.ming") != nil)
        #expect(Passwords.problem(Self.password, login: "li.ming") == nil)
    }

    @Test func anAdminSetsALoginAndAPasswordThatIsKeptOnlyAsItsHash() async throws {
        let capture = LogCapture()
        try await withHotline(logger: capture.logger()) { hotline in
            let created = try await hotline.request(.post, "/api/v1/users", as: "admin",
                                                    body: #"{"name": "李明", "role": "operator", "login": "  Li.Ming "}"#)
            #expect(created.status == .created, "\(created.text)")
            let user = try created.object()
            let id = try #require(user["id"] as? Int)
            #expect(user["login"] as? String == "li.ming" && user["has_password"] as? Bool == false)

            // Sent twice under one key: set twice, and no replay record keeps a hash of the body.
            let body = json(["password": Self.password])
            let keys = try await hotline.count("idempotency_keys")
            for _ in 0..<2 {
                let set = try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: body,
                                                    headers: [.init("Idempotency-Key")!: "password-\(id)"])
                #expect(set.status == .ok, "\(set.text)")
                #expect(try set.object()["has_password"] as? Bool == true && !set.text.contains(Self.password) && !set.text.contains("pbkdf2"))
            }
            #expect(try await hotline.count("idempotency_keys") == keys)
            let stored: String = try await hotline.sql { connection in
                try await connection.query("SELECT password_hash FROM users WHERE id = \(Int64(id))", logger: TestDatabase.logger)
                    .collect().first!.decode(String.self)
            }
            #expect(stored.hasPrefix("pbkdf2-sha512$") && !stored.contains(Self.password))
            #expect(Passwords.verify(Self.password, against: stored))

            // Signing in: the right pair, and nothing for a wrong password, an unknown login or a deactivated user.
            func signIn(_ login: String, _ password: String) async throws -> Int64? {
                try await Users.authenticate(login: login, password: password, database: hotline.database, logger: TestDatabase.logger)?.id
            }
            #expect(try await signIn("Li.Ming", Self.password) == Int64(id))
            #expect(try await signIn("li.ming", Self.password + "x") == nil)
            #expect(try await signIn("nobody", Self.password) == nil)
            #expect(try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: #"{"active": false}"#).status == .ok)
            #expect(try await signIn("li.ming", Self.password) == nil)

            // A weak password, or one holding the login: 400 on the field, and the stored hash stays.
            for weak in ["short", "li.ming2026-ok", "bbbbbbbbbbbbbbb"] {
                let refused = try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: json(["password": weak]))
                #expect(refused.status == .badRequest && refused.text.contains("password"), "\(weak): \(refused.text)")
            }
            let after: String = try await hotline.sql { connection in
                try await connection.query("SELECT password_hash FROM users WHERE id = \(Int64(id))", logger: TestDatabase.logger)
                    .collect().first!.decode(String.self)
            }
            #expect(after == stored)
            // A login is one user's: another user cannot take it; a bad one is refused.
            let other = try await hotline.request(.post, "/api/v1/users", as: "admin", body: #"{"name": "王芳", "role": "operator", "login": "li.ming"}"#)
            #expect(other.status == .conflict && other.text.contains("login"), "\(other.text)")
            for bad in ["x", "-lead", "名字", "a b"] {
                let refused = try await hotline.request(.post, "/api/v1/users", as: "admin", body: json(["name": "王芳", "role": "operator", "login": bad]))
                #expect(refused.status == .badRequest, "\(bad): \(refused.text)")
            }
            // Only an admin sets one.
            #expect(try await hotline.request(.patch, "/api/v1/users/\(id)", as: "manager", body: body).status == .forbidden)
        }
        let logged = capture.all.joined(separator: "\n")
        #expect(!logged.contains(Self.password))
        #expect(logged.contains("password set"))
    }
}
