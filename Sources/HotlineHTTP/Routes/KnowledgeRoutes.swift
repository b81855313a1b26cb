import Foundation
import HotlineCore
import Hummingbird

/// The knowledge base (API.md, "Knowledge base"; DOMAIN §8).
struct KnowledgeRoutes {
    let services: AppServices

    func register(on api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let clock = services.clock
        let mutation = services.mutation

        api.get("knowledge/search") { request, context in
            _ = try context.signedIn()
            let q = request.query("q") ?? ""
            let limit = try request.query("limit", in: 1...50) ?? 10
            let now = clock.now()
            let hits = try await database.read(logger: context.logger) {
                try await KnowledgeBase.search(q, limit: limit, at: now, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(Page(items: hits, nextCursor: nil))
        }
        api.get("knowledge/stale") { request, context in
            let staff = try context.signedIn()
            let (limit, cursor) = try request.page()
            let now = clock.now()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await KnowledgeBase.stale(for: staff, limit: limit, cursor: cursor, at: now, on: $0, logger: context.logger)
            })
        }
        api.get("knowledge") { request, context in
            let staff = try context.signedIn()
            var filter = KnowledgeBase.ListFilter()
            filter.status = try request.query("status").map { try ArticleStatus.parse($0, field: "status") }
            var checker = FieldChecker()
            filter.unit = checker.text(request.query("unit"), field: "unit", max: 64, required: false)
            filter.category = checker.text(request.query("category"), field: "category", max: 64, required: false)
            try checker.check()
            filter.limit = try request.query("limit", in: 1...500) ?? 50
            filter.cursor = request.query("cursor")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await KnowledgeBase.list(filter, for: staff, on: $0, logger: context.logger)
            })
        }
        api.post("knowledge") { request, context in
            try await mutation.run(request, context: context, status: .created, replay: Self.article) { work in
                Self.made(try await KnowledgeBase.create(try work.body.decode(ArticleInput.self), by: work.staff, at: work.now,
                                                         on: work.connection, logger: work.logger))
            }
        }
        api.get("knowledge/:id") { _, context in
            let staff = try context.signedIn()
            let id = try Self.id(context)
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await KnowledgeBase.get(id, for: staff, on: $0, logger: context.logger)
            })
        }
        api.get("knowledge/:id/versions") { request, context in
            let staff = try context.signedIn()
            let id = try Self.id(context)
            let (limit, cursor) = try request.page()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await KnowledgeBase.versions(id, for: staff, limit: limit, cursor: cursor, on: $0, logger: context.logger)
            })
        }
        api.patch("knowledge/:id") { request, context in
            let id = try Self.id(context)
            return try await mutation.run(request, context: context, replay: Self.article) { work in
                Self.made(try await KnowledgeBase.update(id, try work.body.decode(ArticleInput.self), by: work.staff, at: work.now,
                                                         on: work.connection, logger: work.logger))
            }
        }
        for (path, status) in [("publish", ArticleStatus.published), ("withdraw", .withdrawn)] {
            api.post("knowledge/:id/\(path)") { request, context in
                let id = try Self.id(context)
                return try await mutation.run(request, context: context, replay: Self.article) { work in
                    Self.made(try await KnowledgeBase.setStatus(id, to: status, by: work.staff, at: work.now,
                                                                on: work.connection, logger: work.logger))
                }
            }
        }
    }

    /// A retry answers the article as the caller may see it now.
    static let article = Mutation.Replay<Article>.rebuild { id, work in
        try await KnowledgeBase.get(Int64(id) ?? 0, for: work.staff, on: work.connection, logger: work.logger)
    }

    static func made(_ article: Article) -> Mutation.Made<Article> {
        .init(reference: "\(article.id)", value: article)
    }

    static func id(_ context: HotlineRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.require("id")), id > 0 else { throw HotlineError.notFound("article") }
        return id
    }
}
