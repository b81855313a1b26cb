import Foundation
@testable import HotlineCore
import HotlineHTTP
import HummingbirdTesting
import NIOCore
import NIOPosix
import PostgresNIO
import Testing

/// DOMAIN §13, "one caller cannot starve the rest": every query has a time limit, reports run on
/// their own connections and a unit's row is computed for that unit alone, every list that can
/// grow comes a page at a time, and text search goes through an index.
@Suite("Fair share") struct FairShareTests {
    /// A statement held up past the limit (here by a lock someone else holds) is cancelled and
    /// answered 503, instead of waiting as long as the lock is held.
    @Test func aStatementPastTheTimeLimitAnswers503() async throws {
        try await withHotline(statementTimeout: .milliseconds(300)) { hotline in
            let number = try await hotline.fileCase()
            // setup: another session holds the case's row for three seconds
            let holder = Task {
                try await hotline.sql { connection in
                    _ = try await connection.query("BEGIN", logger: TestDatabase.logger)
                    _ = try await connection.query("SELECT 1 FROM cases WHERE number = \(number) FOR UPDATE", logger: TestDatabase.logger)
                        .collect()
                    try await Task.sleep(for: .seconds(3))
                    _ = try await connection.query("COMMIT", logger: TestDatabase.logger)
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            // act
            let response = try await hotline.request(.post, "/api/v1/cases/\(number)/dispatch", as: "dispatcher",
                                                     body: #"{"lead_unit": "housing"}"#)
            // verify: told to retry, nothing changed
            #expect(response.status == .serviceUnavailable, "\(response.text)")
            #expect(response.problemCode == "query_timeout")
            try await holder.value
            #expect(try await hotline.view(number)["status"] as? String == "accepted")
        }
    }

    /// A handler's live row is computed for its unit alone: the same figures as in the whole
    /// report, without a rank (ranking is the center's, in the published report).
    @Test func aHandlersRowIsComputedForItsUnitAlone() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(number)
            let whole = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            let own = try await hotline.request(.get, "/api/v1/appraisals/2026", as: "handler:housing").object()
            let month = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "handler:housing").object()
            let ownLines = own["units"] as? [[String: Any]] ?? []
            let monthLines = month["units"] as? [[String: Any]] ?? []
            let housing = (whole["units"] as? [[String: Any]] ?? []).first { $0["unit"] as? String == "housing" }
            #expect(ownLines.count == 1 && monthLines.count == 1)
            #expect(monthLines.first?["unit"] as? String == "housing")
            #expect(monthLines.first?["rank"] is NSNull)
            #expect(housing?["rank"] as? Int == 1)
            let ownIndicators = json(monthLines.first?["indicators"] as? [String: Any] ?? [:])
            #expect(ownIndicators == json(housing?["indicators"] as? [String: Any] ?? ["": 0]))
            #expect(monthLines.first?["score"] as? Double == housing?["score"] as? Double)
        }
    }

    /// Lists that grow come a page at a time, and the pages together are the whole list.
    @Test func listsThatGrowArePaged() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            try await hotline.dispatch(number)
            for text in ["一", "二", "三"] {
                try await hotline.step(number, "urge", as: "dispatcher",
                                       body: try await hotline.supervising(number, step: "sign", ["note": text]), expect: 201)
            }
            let others = [try await hotline.fileCase(), try await hotline.fileCase()]
            for other in others { try await hotline.dispatch(other) }
            hotline.clock.set(Timestamp.parse("2026-03-04T09:00:00+08:00")!)  // every sign deadline has passed
            for other in others {
                try await hotline.step(other, "escalate", as: "dispatcher",
                                       body: try await hotline.supervising(other, step: "sign", ["reason": "多次催办未果"]), expect: 201)
            }
            try await hotline.step(number, "escalate", as: "dispatcher",
                                   body: try await hotline.supervising(number, step: "sign", ["reason": "多次催办未果"]), expect: 201)
            for (path, total) in [("/api/v1/cases/\(number)/timeline", 6), ("/api/v1/supervision/escalations", 3),
                                  ("/api/v1/supervision/accountability?period=2026-03", 3), ("/api/v1/users", try await hotline.count("users")),
                                  ("/api/v1/units", try await hotline.count("units")), ("/api/v1/categories", try await hotline.count("categories"))] {
                var seen: [String] = []
                var cursor: String?
                var pages = 0
                repeat {
                    let separator = path.contains("?") ? "&" : "?"
                    let page = try await hotline.request(.get, path + separator + "limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                                                         as: path.contains("users") ? "admin" : "manager").object()
                    let items = (page["items"] ?? page["escalations"]) as? [[String: Any]] ?? []
                    #expect(items.count <= 2)
                    seen += items.map { "\($0["id"] ?? $0["code"] ?? $0["number"] ?? "")\($0["escalated_at"] ?? "")\($0["unit"] ?? "")" }
                    cursor = page["next_cursor"] as? String
                    pages += 1
                } while cursor != nil && pages < 100
                #expect(seen.count == total, "\(path): \(seen)")
                #expect(pages == max(1, (total + 1) / 2), "\(path)")
            }
            let bad = try await hotline.request(.get, "/api/v1/supervision/escalations?limit=501", as: "manager")
            #expect(bad.status == .badRequest)
            let forged = try await hotline.request(.get, "/api/v1/units?cursor=forged!", as: "manager")
            #expect(forged.status == .badRequest)
        }
    }

    /// `q=` is served by the bigram index, not by reading every description: the plan of the
    /// service's own statement, over enough cases that reading them all would cost more.
    @Test func textSearchUsesTheIndex() async throws {
        try await withHotline { hotline in
            // setup
            let number = try await hotline.fileCase(json(CaseBodies.make(description: "红门路小区停水三天无人处理")))
            let plans = try await hotline.sql { connection -> [String] in
                _ = try await connection.query("""
                    INSERT INTO cases (number, channel, case_type, urgency, category, subject, description, anonymous, confidential,
                                       contact_consent, status, accepted_at, accepted_by, search_units)
                    SELECT '20260101' || lpad(n::text, 6, '0'), 'phone', 'complaint', 'normal',
                           'housing.property', '电梯' || n, '电梯停运' || n, true, false, false, 'accepted', now(), a.accepted_by,
                           to_tsvector('simple', '电梯 停运 ' || n)
                    FROM generate_series(1, 20000) AS n, (SELECT accepted_by FROM cases LIMIT 1) AS a
                    """, logger: TestDatabase.logger)
                // As autovacuum would: the fresh rows moved from the indexes' pending lists, and counted.
                _ = try await connection.query("VACUUM ANALYZE cases", logger: TestDatabase.logger)
                var plans: [String] = []
                for (unit, center) in [(nil, true), ("housing", false)] as [(String?, Bool)] {
                    var filter = CaseFilter()
                    filter.text = "停水"
                    let query = CaseQueries.listQuery(filter, unit: unit, searchCenter: center, after: nil)
                    let plan = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds),
                                                          logger: TestDatabase.logger).collect()
                    plans.append(try plan.map { try $0.decode(String.self) }.joined(separator: "\n"))
                }
                return plans
            }
            // act
            let found = try await hotline.request(.get, "/api/v1/cases?q=停水", as: "dispatcher").items()
            // verify
            let numbers = found.compactMap { $0["number"] as? String }
            #expect(numbers == [number])
            for plan in plans {
                #expect(plan.contains("cases_search_units"), "\(plan)")
                #expect(!plan.contains("Seq Scan on cases"), "\(plan)")
            }
        }
    }
}
