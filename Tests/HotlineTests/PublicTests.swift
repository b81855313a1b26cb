import Foundation
import HotlineCore
import HotlineHTTP
import HTTPTypes
import HummingbirdTesting
import Testing

/// The public endpoints (DOMAIN §12): nothing personal, no probing of case numbers.
@Suite("Public") struct PublicTests {
    static let name = "司马相如"
    static let phone = "15912348765"
    static let traces = [name, "司马", "司**", phone, "159****8765", "8765", "12348765"]

    static func closedCase(_ hotline: TestHotline) async throws -> String {
        let number = try await hotline.fileCase(json(CaseBodies.make(name: name, phone: phone)))
        try await hotline.dispatch(number)
        try await hotline.step(number, "sign", as: "handler:housing")
        try await hotline.reply(number)
        try await hotline.visit(number)
        return number
    }

    @Test func aCitizenFollowsTheirCaseWithTheLastFourDigits() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(json(CaseBodies.make(name: Self.name, phone: Self.phone)))
            try await hotline.dispatch(number)
            var progress = try await hotline.request(.get, "/public/cases/\(number)?phone_last4=8765", headers: [.init("X-Forwarded-For")!: "10.0.0.1"])
            #expect(progress.status == .ok, "\(progress.text)")
            var object = try progress.object()
            #expect(object["status"] as? String == "dispatched")
            #expect(object["lead_unit"] as? String == "市住房和城乡建设局")
            #expect(object["reply_due"] as? String == "2026-03-09T23:59:59+08:00")
            try await hotline.step(number, "sign", as: "handler:housing")
            try await hotline.reply(number)
            progress = try await hotline.request(.get, "/public/cases/\(number)?phone_last4=8765", headers: [.init("X-Forwarded-For")!: "10.0.0.1"])
            object = try progress.object()
            #expect((object["reply"] as? [String: Any])?["unit"] as? String == "市住房和城乡建设局")
            #expect((object["reply"] as? [String: Any])?["outcome"] as? String == "resolved")
            for trace in Self.traces where trace != "8765" {
                #expect(!progress.text.contains(trace), "\(trace) is in \(progress.text)")
            }
            #expect(!progress.text.contains("handler"), "the handler's own contact is not for the public")
        }
    }

    @Test func aWrongPhoneIsAnsweredExactlyAsAnUnknownCase() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase(json(CaseBodies.make(name: Self.name, phone: Self.phone)))
            let anonymous = try await hotline.fileCase(CaseBodies.anonymousReport())
            var answers: [String] = []
            for (index, query) in ["\(number)?phone_last4=0000", "20260302999999?phone_last4=8765", "\(number)",
                                   "\(number)?phone_last4=87650", "\(anonymous)?phone_last4=0000", "abc?phone_last4=8765"].enumerated() {
                let response = try await hotline.request(.get, "/public/cases/\(query)", headers: [.init("X-Forwarded-For")!: "10.0.1.\(index)"])
                #expect(response.status == .notFound)
                answers.append(response.text)
            }
            #expect(Set(answers).count == 1, "\(answers)")
        }
    }

    @Test func lookupsAreLimitedPerClientAddress() async throws {
        try await withHotline { hotline in
            var statuses: [Int] = []
            for _ in 0..<12 {
                let response = try await hotline.request(.get, "/public/cases/20260302000001?phone_last4=1234",
                                                         headers: [.init("X-Forwarded-For")!: "203.0.113.7"])
                statuses.append(response.status.code)
                if response.status.code == 429 {
                    #expect(response.problemCode == "rate_limited")
                    #expect(response.headers[.retryAfter] == "60")
                }
            }
            #expect(statuses == Array(repeating: 404, count: 10) + [429, 429])
            let other = try await hotline.request(.get, "/public/cases/20260302000001?phone_last4=1234",
                                                  headers: [.init("X-Forwarded-For")!: "203.0.113.8"])
            #expect(other.status == .notFound)
        }
    }

    /// The limits hold across a whole IPv6 /64 and across instances, and a number looked up
    /// wrongly five times answers as unknown for 15 minutes, even to the right digits.
    @Test func walkingTheFourDigitsFromOneSlash64AndTwoInstancesIsLockedOut() async throws {
        try await withHotline { hotline in
            // setup: a case, and a second instance of the service on the same database
            let number = try await hotline.fileCase(json(CaseBodies.make(name: Self.name, phone: Self.phone)))
            let second = try await buildApplication(
                HotlineConfiguration(database: try TestDatabase.serviceConfiguration(database: hotline.databaseName),
                                     migrations: TestDatabase.migrator, maxDatabaseConnections: 4, testClock: hotline.clock,
                                     trustForwardedFor: true),
                logger: TestDatabase.logger
            )
            try await second.test(.router) { other in
                func lookup(_ digits: String, from address: String, second useOther: Bool = false) async throws -> (Int, String) {
                    let path = "/public/cases/\(number)?phone_last4=\(digits)"
                    let headers: HTTPFields = [.init("X-Forwarded-For")!: address]
                    let response = useOther ? try await other.execute(uri: path, method: .get, headers: headers)
                        : try await hotline.request(.get, path, headers: headers)
                    return (Int(response.status.code), String(buffer: response.body))
                }
                // act 1: every address of one /64, through both instances, shares one limit
                var statuses: [Int] = []
                for i in 0..<12 {
                    statuses.append(try await lookup("8765", from: "2001:db8:7:9:\(i)::\(i + 1)", second: i % 2 == 1).0)
                }
                #expect(statuses == Array(repeating: 200, count: 10) + [429, 429])
                // act 2: five wrong tries, each from a /64 of its own, alternating instances
                for i in 0..<5 {
                    #expect(try await lookup(String(format: "%04d", i), from: "2001:db8:\(i + 10)::1", second: i % 2 == 0).0 == 404)
                }
                // verify: the right digits now get exactly the answer of an unknown number
                let locked = try await lookup("8765", from: "198.51.100.20")
                let unknown = try await hotline.request(.get, "/public/cases/20260302999999?phone_last4=8765",
                                                        headers: [.init("X-Forwarded-For")!: "198.51.100.21"])
                #expect(locked.0 == 404)
                #expect(locked.1 == unknown.text)
                // …for 15 minutes, on either instance.
                hotline.clock.advance(by: 14 * 60)
                #expect(try await lookup("8765", from: "198.51.100.22", second: true).0 == 404)
                hotline.clock.advance(by: 61)
                #expect(try await lookup("8765", from: "198.51.100.23", second: true).0 == 200)
            }
        }
    }

    @Test func anAddressBlockIsTheIPv4AddressOrTheIPv6Slash64() {
        #expect(RateLimits.block(of: "203.0.113.7") == "ip4:203.0.113.7")
        #expect(RateLimits.block(of: "2001:db8:7:9:1::2") == "ip6:2001:db8:7:9::/64")
        #expect(RateLimits.block(of: "2001:0db8:0007:0009:ffff::") == "ip6:2001:db8:7:9::/64")
        #expect(RateLimits.block(of: "2001:db8::1") == "ip6:2001:db8:0:0::/64")
        #expect(RateLimits.block(of: "::ffff:203.0.113.7") == "ip4:203.0.113.7")
        #expect(RateLimits.block(of: "fe80::1%eth0") == "ip6:fe80:0:0:0::/64")
        #expect(RateLimits.block(of: "[2001:db8:1:2::3]") == "ip6:2001:db8:1:2::/64")
        #expect(RateLimits.block(of: "not an address") == "other:not an address")
    }

    @Test func aDisclosedCaseShowsItsSummaryAndNothingPersonal() async throws {
        try await withHotline { hotline in
            let open = try await hotline.fileCase()
            let early = try await hotline.request(.post, "/api/v1/cases/\(open)/disclose", as: "dispatcher", body: #"{"summary": "x"}"#)
            #expect(early.status == .conflict)
            let number = try await Self.closedCase(hotline)
            let byOperator = try await hotline.request(.post, "/api/v1/cases/\(number)/disclose", as: "operator", body: #"{"summary": "x"}"#)
            #expect(byOperator.status == .forbidden)
            try await hotline.step(number, "disclose", as: "dispatcher",
                                   body: #"{"summary": "红门路某小区电梯停运，住建局督促物业三日内修复。"}"#, expect: 201)
            let again = try await hotline.request(.post, "/api/v1/cases/\(number)/disclose", as: "dispatcher", body: #"{"summary": "x"}"#)
            #expect(again.problemCode == "already_disclosed")
            let list = try await hotline.request(.get, "/public/disclosures")
            #expect(list.status == .ok)
            let items = try list.items()
            #expect(items.count == 1)
            #expect(items.first?["summary"] as? String == "红门路某小区电梯停运，住建局督促物业三日内修复。")
            #expect(items.first?["lead_unit"] as? String == "市住房和城乡建设局")
            #expect(items.first?["category"] as? String == "物业管理")
            for trace in Self.traces {
                #expect(!list.text.contains(trace), "\(trace) is in \(list.text)")
            }
        }
    }
}
