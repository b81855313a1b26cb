import Foundation
import HotlineCore
import HTTPTypes
import Testing

/// Credentials end (issue 11): tokens expire, users can be deactivated, and who issued a token
/// and when it was last used are kept.
@Suite("Credentials") struct CredentialsTests {
    static func me(_ hotline: TestHotline, _ token: String) async throws -> Int {
        Int(try await hotline.request(.get, "/api/v1/me", as: nil, body: nil,
                                      headers: [.authorization: "Bearer \(token)"]).status.code)
    }

    @Test func aTokenEndsWhenItExpires() async throws {
        try await withHotline { hotline in
            // setup: a user with a token for two hours, and one with the default lifetime
            let user = try await hotline.request(.post, "/api/v1/users", as: "admin", body: #"{"name": "值班话务员", "role": "operator"}"#)
            let id = try #require(try user.object()["id"] as? Int)
            let short = try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin",
                                                  body: #"{"expires_at": "2026-03-02T11:00:00+08:00"}"#)
            #expect(short.status == .created)
            #expect(try short.object()["expires_at"] as? String == "2026-03-02T11:00:00+08:00")
            let token = try #require(try short.object()["token"] as? String)
            let usual = try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin")
            #expect(try usual.object()["expires_at"] as? String == "2026-05-31T09:00:00+08:00")  // 90 days
            let lasting = try #require(try usual.object()["token"] as? String)
            let past = try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin",
                                                 body: #"{"expires_at": "2026-03-01T00:00:00+08:00"}"#)
            #expect(past.status == .badRequest)
            // act and verify
            #expect(try await Self.me(hotline, token) == 200)
            hotline.clock.advance(by: 2 * 3600)
            #expect(try await Self.me(hotline, token) == 401)
            #expect(try await Self.me(hotline, lasting) == 200)
            hotline.clock.advance(by: 90 * 86_400)
            #expect(try await Self.me(hotline, lasting) == 401)
        }
    }

    @Test func aDeactivatedUserCannotSignIn() async throws {
        try await withHotline { hotline in
            let user = try await hotline.request(.post, "/api/v1/users", as: "admin", body: #"{"name": "离职承办人", "role": "handler", "unit": "water"}"#)
            let id = try #require(try user.object()["id"] as? Int)
            let token = try #require(try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin").object()["token"] as? String)
            #expect(try await Self.me(hotline, token) == 200)
            let off = try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: #"{"active": false}"#)
            #expect(off.status == .ok)
            #expect(try off.object()["active"] as? Bool == false)
            #expect(try await Self.me(hotline, token) == 401)
            let refused = try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin")
            #expect(refused.problemCode == "inactive_user")
            let byOperator = try await hotline.request(.patch, "/api/v1/users/\(id)", as: "operator", body: #"{"active": true}"#)
            #expect(byOperator.status == .forbidden)
            let on = try await hotline.request(.patch, "/api/v1/users/\(id)", as: "admin", body: #"{"active": true, "name": "返聘承办人"}"#)
            #expect(try on.object()["name"] as? String == "返聘承办人")
            #expect(try await Self.me(hotline, token) == 200)
            let unknown = try await hotline.request(.patch, "/api/v1/users/999999", as: "admin", body: #"{"active": false}"#)
            #expect(unknown.status == .notFound)
        }
    }

    @Test func whoIssuedATokenAndWhenItWasLastUsedAreKept() async throws {
        try await withHotline { hotline in
            let admin = try #require(try await hotline.request(.get, "/api/v1/me", as: "admin").object()["id"] as? Int)
            let user = try await hotline.request(.post, "/api/v1/users", as: "admin", body: #"{"name": "派单员乙", "role": "dispatcher"}"#)
            let id = try #require(try user.object()["id"] as? Int)
            let issued = try await hotline.request(.post, "/api/v1/users/\(id)/tokens", as: "admin")
            let token = try #require(try issued.object()["token"] as? String)
            var listed = try await hotline.request(.get, "/api/v1/users/\(id)/tokens", as: "admin").items()
            #expect(listed.count == 1)
            #expect(listed.first?["issued_by"] as? Int == admin)
            #expect(listed.first?["last_used_at"] is NSNull)
            #expect(!String(describing: listed).contains(token))
            hotline.clock.advance(by: 3600)
            #expect(try await Self.me(hotline, token) == 200)
            listed = try await hotline.request(.get, "/api/v1/users/\(id)/tokens", as: "admin").items()
            #expect(listed.first?["last_used_at"] as? String == "2026-03-02T10:00:00+08:00")
            // Kept to the minute: a use a few seconds later writes nothing.
            hotline.clock.advance(by: 5)
            #expect(try await Self.me(hotline, token) == 200)
            listed = try await hotline.request(.get, "/api/v1/users/\(id)/tokens", as: "admin").items()
            #expect(listed.first?["last_used_at"] as? String == "2026-03-02T10:00:00+08:00")
            let stored = try await hotline.sql { connection in
                try await connection.query("SELECT issued_by FROM tokens WHERE user_id = \(Int64(id))", logger: TestDatabase.logger)
                    .collect().first?.decode(Int64?.self)
            }
            #expect(stored == Int64(admin))
        }
    }
}
