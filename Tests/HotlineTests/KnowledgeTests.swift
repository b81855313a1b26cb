import Foundation
import HotlineCore
import Testing

/// The knowledge base (DOMAIN §8): Chinese search, versions, validity, ownership.
@Suite("Knowledge base") struct KnowledgeTests {
    struct Fixture: Decodable {
        struct Article: Decodable {
            let key, unit, category, title, body: String
            let keywords: [String]
        }
        struct Query: Decodable {
            let q: String
            let first: [String]
        }
        let articles: [Article]
        let queries: [Query]
    }

    static func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/knowledge.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// Creates and publishes an article as `who`; returns its id.
    @discardableResult
    static func publish(_ hotline: TestHotline, as who: String = "admin", _ fields: [String: Any]) async throws -> Int {
        let created = try await hotline.request(.post, "/api/v1/knowledge", as: who, body: json(fields))
        guard created.status == .created, let id = try created.object()["id"] as? Int else {
            throw TestFailure("could not create: \(created.text)")
        }
        let published = try await hotline.request(.post, "/api/v1/knowledge/\(id)/publish", as: who)
        guard published.status == .ok else { throw TestFailure("could not publish: \(published.text)") }
        return id
    }

    static func search(_ hotline: TestHotline, _ q: String) async throws -> [Int] {
        let query = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let response = try await hotline.request(.get, "/api/v1/knowledge/search?q=\(query)", as: "operator")
        guard response.status == .ok else { throw TestFailure("search \(q): \(response.text)") }
        return try response.items().map { $0["id"] as! Int }
    }

    @Test func everyQueryOfTheFixtureFindsItsArticleFirst() async throws {
        let fixture = try Self.fixture()
        #expect(fixture.articles.count >= 60)
        #expect(fixture.queries.count >= 30)
        try await withHotline { hotline in
            var ids: [String: Int] = [:]
            for article in fixture.articles {
                ids[article.key] = try await Self.publish(hotline, [
                    "unit": article.unit, "category": article.category, "title": article.title,
                    "body": article.body, "keywords": article.keywords,
                ])
            }
            var misses: [String] = []
            for query in fixture.queries {
                let found = try await Self.search(hotline, query.q)
                let expected = Set(query.first.map { ids[$0]! })
                if found.first.map(expected.contains) != true {
                    let titles = found.prefix(3).map { id in fixture.articles.first { ids[$0.key] == id }?.title ?? "?" }
                    misses.append("\(query.q) → \(titles)")
                }
            }
            #expect(misses.isEmpty, "\(misses)")
        }
    }

    @Test func aTitleMatchRanksAboveABodyMatch() async throws {
        try await withHotline { hotline in
            let body = try await Self.publish(hotline, ["unit": "housing", "title": "小区公共设施管理",
                "body": "小区停水时物业应及时通知业主，停水期间做好储水准备，停水结束后检查管道。"])
            let title = try await Self.publish(hotline, ["unit": "water", "title": "停水安排", "body": "按供水计划执行。"])
            #expect(try await Self.search(hotline, "停水") == [title, body])
        }
    }

    @Test func versionsValidityAndWithdrawalChangeWhatSearchFinds() async throws {
        try await withHotline { hotline in
            let id = try await Self.publish(hotline, as: "handler:water", ["title": "水费缴纳方式", "body": "可在营业厅缴纳水费。"])
            #expect(try await Self.search(hotline, "水费") == [id])
            // an edit is a new version; search follows it
            let edited = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: "handler:water",
                                                   body: #"{"title": "阶梯水价说明", "body": "居民用水按年度用量分档计价。"}"#)
            #expect(try edited.object()["version"] as? Int == 3)
            #expect(try await Self.search(hotline, "营业厅").isEmpty)
            #expect(try await Self.search(hotline, "阶梯水价") == [id])
            let history = try await hotline.request(.get, "/api/v1/knowledge/\(id)/versions", as: "operator").items()
            let changes = history.map { $0["change"] as? String }
            #expect(changes == ["created", "published", "edited"])
            #expect(history.first?["title"] as? String == "水费缴纳方式")
            // validity: not yet valid, no longer valid
            _ = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: "handler:water", body: #"{"valid_from": "2026-03-03"}"#)
            #expect(try await Self.search(hotline, "阶梯水价").isEmpty)
            _ = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: "handler:water",
                                          body: #"{"valid_from": "2026-01-01", "valid_until": "2026-03-01"}"#)
            #expect(try await Self.search(hotline, "阶梯水价").isEmpty)
            _ = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: "handler:water", body: #"{"valid_until": null}"#)
            #expect(try await Self.search(hotline, "阶梯水价") == [id])
            // withdrawn: gone from search, and from units that do not own it
            let withdrawn = try await hotline.request(.post, "/api/v1/knowledge/\(id)/withdraw", as: "handler:water")
            #expect(try withdrawn.object()["status"] as? String == "withdrawn")
            #expect(try await Self.search(hotline, "阶梯水价").isEmpty)
            #expect(try await hotline.request(.get, "/api/v1/knowledge/\(id)", as: "handler:housing").status == .notFound)
            #expect(try await hotline.request(.get, "/api/v1/knowledge/\(id)", as: "operator").status == .ok)
            let twice = try await hotline.request(.post, "/api/v1/knowledge/\(id)/withdraw", as: "handler:water")
            #expect(twice.status == .conflict)
        }
    }

    @Test func onlyTheOwnerUnitChangesAnArticle() async throws {
        try await withHotline { hotline in
            let id = try await Self.publish(hotline, as: "handler:housing", ["title": "物业费", "body": "物业费标准。"])
            for who in ["handler:water", "operator", "dispatcher", "manager"] {
                let patch = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: who, body: #"{"title": "改"}"#)
                #expect(patch.status == .forbidden, "\(who): \(patch.text)")
                let withdraw = try await hotline.request(.post, "/api/v1/knowledge/\(id)/withdraw", as: who)
                #expect(withdraw.status == .forbidden, "\(who)")
            }
            let foreign = try await hotline.request(.post, "/api/v1/knowledge", as: "handler:water",
                                                    body: #"{"unit": "housing", "title": "x", "body": "y"}"#)
            #expect(foreign.problemCode == "not_owner_unit")
            let byOperator = try await hotline.request(.post, "/api/v1/knowledge", as: "operator", body: #"{"title": "x", "body": "y"}"#)
            #expect(byOperator.status == .forbidden)
            let own = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: "handler:housing", body: #"{"title": "物业费标准"}"#)
            #expect(own.status == .ok)
            let byAdmin = try await hotline.request(.patch, "/api/v1/knowledge/\(id)", as: "admin", body: #"{"title": "物业服务收费标准"}"#)
            #expect(byAdmin.status == .ok)
            let draft = try await hotline.request(.post, "/api/v1/knowledge", as: "handler:housing", body: #"{"title": "草稿", "body": "未发布"}"#)
            let draftId = try #require(try draft.object()["id"] as? Int)
            #expect(try await hotline.request(.get, "/api/v1/knowledge/\(draftId)", as: "handler:water").status == .notFound)
            #expect(try await hotline.request(.get, "/api/v1/knowledge/\(draftId)", as: "dispatcher").status == .ok)
        }
    }

    @Test func aDirectAnswerCitesPublishedArticlesOnly() async throws {
        try await withHotline { hotline in
            let published = try await Self.publish(hotline, as: "handler:water", ["title": "计划停水通知", "body": "提前24小时公告。"])
            let draft = try await hotline.request(.post, "/api/v1/knowledge", as: "handler:water", body: #"{"title": "草稿", "body": "未发布"}"#)
            let draftId = try #require(try draft.object()["id"] as? Int)
            for ids in [[draftId], [999_999], [published, draftId]] {
                let body = json(CaseBodies.make(type: "consultation", category: "utilities.water",
                                                directAnswer: ["text": "请关注停水公告。", "article_ids": ids]))
                let refused = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body)
                #expect(refused.status == .unprocessableContent, "\(ids)")
                #expect(refused.problemCode == "unknown_article")
            }
            let body = json(CaseBodies.make(type: "consultation", category: "utilities.water",
                                            directAnswer: ["text": "请关注停水公告。", "article_ids": [published]]))
            let answered = try await hotline.request(.post, "/api/v1/cases", as: "operator", body: body)
            #expect(answered.status == .created)
            #expect((try answered.object()["direct_answer"] as? [String: Any])?["article_ids"] as? [Int] == [published])
        }
    }

    @Test func articlesUntouchedFor180DaysAreStale() async throws {
        try await withHotline { hotline in
            let housing = try await Self.publish(hotline, as: "handler:housing", ["title": "物业费", "body": "标准。"])
            let water = try await Self.publish(hotline, as: "handler:water", ["title": "水费", "body": "标准。"])
            #expect(try await hotline.request(.get, "/api/v1/knowledge/stale", as: "operator").items().isEmpty)
            hotline.clock.advance(by: 181 * 86_400)
            let all = try await hotline.request(.get, "/api/v1/knowledge/stale", as: "manager").items().map { $0["id"] as? Int }
            #expect(Set(all) == [housing, water])
            let own = try await hotline.request(.get, "/api/v1/knowledge/stale", as: "handler:housing").items().map { $0["id"] as? Int }
            #expect(own == [housing])
            _ = try await hotline.request(.patch, "/api/v1/knowledge/\(housing)", as: "handler:housing", body: #"{"body": "新标准。"}"#)
            let after = try await hotline.request(.get, "/api/v1/knowledge/stale", as: "manager").items().map { $0["id"] as? Int }
            #expect(after == [water])
        }
    }

    @Test func chineseIsReadInBigramsAndLatinInWords() {
        #expect(ChineseText.queryTerms("停水") == ["停水"])
        #expect(ChineseText.queryTerms("社保卡补办") == ["社保", "保卡", "卡补", "补办"])
        #expect(ChineseText.queryTerms("5G信号") == ["5g", "信号"])
        #expect(ChineseText.queryTerms("１２３４５热线") == ["12345", "热线"])
        #expect(ChineseText.queryTerms("水") == ["水"])
        #expect(ChineseText.indexTerms("停水了") == ["停", "停水", "水", "水了", "了"])
    }
}
