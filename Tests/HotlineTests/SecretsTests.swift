import Foundation
import HotlineCore
import HTTPTypes
import Testing

/// DOMAIN §13: secrets are shown once and kept only as hashes; a replay record keeps the status
/// and the id of what was made, never a body; records expire.
@Suite("Secrets") struct SecretsTests {
    static let name = "欧阳娜娜"
    static let phone = "13987654321"

    static func keyed(_ key: String) -> HTTPFields { [HTTPField.Name("Idempotency-Key")!: key] }

    /// Every column of every replay record, as text (bytes read as UTF-8 where they are bytes).
    static func replayRecords(_ hotline: TestHotline) async throws -> [String] {
        try await hotline.sql { connection in
            var out: [String] = []
            for try await text in try await connection.query(
                "SELECT row_to_json(k)::text FROM idempotency_keys k", logger: TestDatabase.logger
            ).decode(String.self) {
                out.append(text)
                // A bytea column comes out as \\x and hex: read it back as the bytes it holds.
                for hex in text.components(separatedBy: "\\\\x").dropFirst() {
                    let digits = Array(hex.prefix { $0.isHexDigit })
                    let bytes = stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
                    out.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            return out
        }
    }

    @Test func replayRecordsHoldNoSecretAndNoIdentity() async throws {
        try await withHotline { hotline in
            // setup: every kind of keyed POST, the ones that answer secrets or identity first
            let created = try await hotline.request(.post, "/api/v1/users", as: "admin",
                                                    body: #"{"name": "新话务员", "role": "operator"}"#, headers: Self.keyed("u1"))
            let userId = try #require(try created.object()["id"] as? Int)
            let token = try await hotline.request(.post, "/api/v1/users/\(userId)/tokens", as: "admin", body: "{}",
                                                  headers: Self.keyed("t1"))
            #expect(token.status == .created)
            let secret = try #require(try token.object()["token"] as? String)
            let key = try await hotline.request(.post, "/api/v1/open311/keys", as: "admin", body: #"{"name": "APP"}"#,
                                                headers: Self.keyed("k1"))
            let apiKey = try #require(try key.object()["api_key"] as? String)
            let filed = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                  body: json(CaseBodies.make(name: Self.name, phone: Self.phone, consent: true)), headers: Self.keyed("c1"))
            let number = try #require(try filed.object()["number"] as? String)
            let reveal = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "operator", headers: Self.keyed("r1"))
            #expect(try reveal.object()["phone"] as? String == Self.phone)
            try await hotline.step(number, "dispatch", as: "dispatcher", body: #"{"lead_unit": "housing"}"#)
            _ = try await hotline.request(.post, "/api/v1/cases/\(number)/sign", as: "handler:housing", headers: Self.keyed("s1"))
            let leadReveal = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "handler:housing",
                                                       headers: Self.keyed("r2"))
            #expect(leadReveal.status == .ok)

            // verify: no record holds any of it
            let records = try await Self.replayRecords(hotline)
            #expect(records.count >= 6)
            for record in records {
                for trace in [secret, apiKey, Self.name, Self.phone, String(Self.phone.suffix(8))] {
                    #expect(!record.contains(trace), "a replay record holds \(trace): \(record)")
                }
            }

            // A retry never shows a secret again: it names what was issued.
            let again = try await hotline.request(.post, "/api/v1/users/\(userId)/tokens", as: "admin", body: "{}",
                                                  headers: Self.keyed("t1"))
            #expect(again.status == .conflict)
            #expect(again.problemCode == "secret_already_issued")
            #expect(try again.object()["id"] as? String == "\((try token.object()["id"] as? Int) ?? 0)")
            #expect(!again.text.contains(secret))
            let keyAgain = try await hotline.request(.post, "/api/v1/open311/keys", as: "admin", body: #"{"name": "APP"}"#,
                                                     headers: Self.keyed("k1"))
            #expect(keyAgain.problemCode == "secret_already_issued")
            #expect(!keyAgain.text.contains(apiKey))

            // A retried reveal is a new, audited reveal.
            let revealAgain = try await hotline.request(.post, "/api/v1/cases/\(number)/contact-reveal", as: "operator",
                                                        headers: Self.keyed("r1"))
            #expect(revealAgain.status == .ok)
            #expect(try revealAgain.object()["phone"] as? String == Self.phone)
            let reveals = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items()
                .filter { $0["kind"] as? String == "contact_revealed" }
            #expect(reveals.count == 3)

            // A retried case and step still answer as the first did, rebuilt for the caller now.
            let fileAgain = try await hotline.request(.post, "/api/v1/cases", as: "operator",
                                                      body: json(CaseBodies.make(name: Self.name, phone: Self.phone, consent: true)), headers: Self.keyed("c1"))
            #expect(fileAgain.status == .created)
            #expect(try fileAgain.object()["number"] as? String == number)
            #expect(try await hotline.count("cases") == 1)
        }
    }

    @Test func replayRecordsExpireAtTheSweep() async throws {
        try await withHotline { hotline in
            // setup: a keyed intake
            _ = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: CaseBodies.complaint(), headers: Self.keyed("old"))
            #expect(try await hotline.count("idempotency_keys") == 1)
            // act: a sweep within the 72 hours keeps it; one after removes it
            try await hotline.sweep(at: "2026-03-05T08:59:00+08:00")
            #expect(try await hotline.count("idempotency_keys") == 1)
            try await hotline.sweep(at: "2026-03-05T09:00:01+08:00")
            // verify
            #expect(try await hotline.count("idempotency_keys") == 0)
        }
    }
}
