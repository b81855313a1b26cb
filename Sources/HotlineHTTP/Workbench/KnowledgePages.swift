import Foundation
import HotlineCore
import Hummingbird

/// A unit's knowledge articles (DOMAIN §8) in the workbench: its list and its stale ones, an
/// article's form (write, then publish or withdraw), on KnowledgeBase's own operations, which
/// decide who may write what (a handler, its own unit's).
struct KnowledgePages {
    let services: AppServices
    let pages: WorkbenchPages

    static func fields(categories: [(String, String)]) -> [FormField] {
        [
            FormField(name: "title", label: "标题", kind: .text, required: true),
            FormField(name: "body", label: "内容", kind: .textarea, required: true),
            FormField(name: "category", label: "事项分类", kind: .select([("", "不限")] + categories)),
            FormField(name: "keywords", label: "关键词", kind: .words, hint: "以逗号分隔"),
            FormField(name: "valid_from", label: "生效日期", kind: .text, hint: "YYYY-MM-DD，可不填"),
            FormField(name: "valid_until", label: "失效日期", kind: .text, hint: "YYYY-MM-DD，可不填"),
        ]
    }

    func register(on signed: RouterGroup<HotlineRequestContext>) {
        signed.get("knowledge") { _, context in
            try await listPage(context, form: nil, problem: nil)
        }
        signed.post("knowledge") { _, context in
            try await save(nil, context)
        }
        signed.get("knowledge/:id") { _, context in
            try await articlePage(try Self.id(context), context, form: nil, problem: nil, notice: nil)
        }
        signed.post("knowledge/:id") { _, context in
            try await save(try Self.id(context), context)
        }
        for (path, status, done) in [("publish", ArticleStatus.published, "已发布"), ("withdraw", .withdrawn, "已撤下")] {
            signed.post("knowledge/:id/\(path)") { _, context in
                let id = try Self.id(context)
                let signedIn = try context.signedInToWorkbench()
                let now = services.clock.now()
                do {
                    _ = try await services.database.transaction(logger: context.logger) {
                        try await KnowledgeBase.setStatus(id, to: status, by: signedIn.staff, at: now, on: $0, logger: context.logger)
                    }
                } catch let error where CasePages.shownOnTheForm(error) {
                    let problem = ProblemMiddleware.problem(for: error, context: context)
                    return try await articlePage(id, context, form: nil, problem: problem, notice: nil)
                }
                return try await articlePage(id, context, form: nil, problem: nil, notice: done)
            }
        }
    }

    static func id(_ context: HotlineRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.require("id")), id > 0 else { throw HotlineError.notFound("article") }
        return id
    }

    func categories(_ context: HotlineRequestContext) async throws -> [(String, String)] {
        try await services.database.read(logger: context.logger) {
            try await Categories.list(limit: 500, on: $0, logger: context.logger).items.filter(\.active).map { ($0.code, $0.name) }
        }
    }

    static func row(_ article: Article) -> [String: Any] {
        ["id": "\(article.id)", "title": article.title, "version": "\(article.version)",
         "status": ["draft": "草稿", "published": "已发布", "withdrawn": "已撤下"][article.status.rawValue] ?? article.status.rawValue,
         "updated": WorkbenchWords.time(article.updatedAt), "until": article.validUntil ?? "—"]
    }

    /// The unit's articles, the stale ones (past their end, or not looked at for long), and the
    /// form for a new one.
    func listPage(_ context: HotlineRequestContext, form: WorkbenchForm?, problem: Problem?) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let staff = signedIn.staff
        try staff.require(.handler)
        let now = services.clock.now()
        let logger = context.logger
        let (articles, stale) = try await services.database.read(logger: logger) { connection in
            var filter = KnowledgeBase.ListFilter()
            filter.unit = staff.unit
            filter.limit = 500
            let articles = try await KnowledgeBase.list(filter, for: staff, on: connection, logger: logger).items
            let stale = try await KnowledgeBase.stale(for: staff, limit: 100, at: now, on: connection, logger: logger).items
            return (articles, stale)
        }
        let fields = Self.fields(categories: try await categories(context))
        let found = (problem?.errors ?? []).map { (field: $0.field, message: $0.message) }
        var values: [String: Any] = [
            "articles": articles.map(Self.row), "hasArticles": !articles.isEmpty, "stale": stale.map(Self.row), "hasStale": !stale.isEmpty,
            "csrf": signedIn.csrf, "fields": fields.map { $0.render(form, problems: WorkbenchMessages.byField(found), prefix: "article-") },
            "action": "/workbench/knowledge", "button": "保存为草稿",
        ]
        if let problem {
            values["problem"] = "未能保存：" + WorkbenchMessages.summary(detail: problem.detail, problems: found,
                                                                  labels: Dictionary(fields.map { ($0.name, $0.label) }, uniquingKeysWith: { a, _ in a }))
        }
        return pages.page("articles", title: "知识库", values, for: signedIn, current: "knowledge",
                          status: problem.map { HTTPResponse.Status(code: $0.status) } ?? .ok)
    }

    /// An article: its form filled with what it says (or what was typed), and publish/withdraw.
    func articlePage(_ id: Int64, _ context: HotlineRequestContext, form: WorkbenchForm?, problem: Problem?, notice: String?) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let article = try await services.database.read(logger: context.logger) {
            try await KnowledgeBase.get(id, for: signedIn.staff, on: $0, logger: context.logger)
        }
        let current = form ?? WorkbenchForm(pairs: [
            ("title", article.title), ("body", article.body), ("category", article.category ?? ""),
            ("keywords", article.keywords.joined(separator: "，")), ("valid_from", article.validFrom ?? ""),
            ("valid_until", article.validUntil ?? ""),
        ])
        let fields = Self.fields(categories: try await categories(context))
        let found = (problem?.errors ?? []).map { (field: $0.field, message: $0.message) }
        var values: [String: Any] = Self.row(article)
        values["csrf"] = signedIn.csrf
        values["fields"] = fields.map { $0.render(current, problems: WorkbenchMessages.byField(found), prefix: "article-") }
        values["action"] = "/workbench/knowledge/\(id)"
        values["button"] = "保存修改"
        values["mayPublish"] = article.status != .published
        values["mayWithdraw"] = article.status == .published
        if let notice { values["notice"] = notice }
        if let problem {
            values["problem"] = "未能完成：" + WorkbenchMessages.summary(detail: problem.detail, problems: found,
                                                                  labels: Dictionary(fields.map { ($0.name, $0.label) }, uniquingKeysWith: { a, _ in a }))
        }
        return pages.page("article", title: article.title, values, for: signedIn, current: "knowledge",
                          status: problem.map { HTTPResponse.Status(code: $0.status) } ?? .ok)
    }

    /// A new article (id nil) or a change to one, through KnowledgeBase.create / update.
    func save(_ id: Int64?, _ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        guard let form = context.form else { throw HotlineError.validation(field: "form", "没有表单") }
        let now = services.clock.now()
        let logger = context.logger
        let saved: Article
        do {
            let body = try FormBody.json(Self.fields(categories: try await categories(context)), from: form)
            let input = try JSONCoding.decoder.decode(ArticleInput.self, from: Data(body))
            saved = try await services.database.transaction(logger: logger) { connection in
                if let id {
                    return try await KnowledgeBase.update(id, input, by: signedIn.staff, at: now, on: connection, logger: logger)
                }
                return try await KnowledgeBase.create(input, by: signedIn.staff, at: now, on: connection, logger: logger)
            }
        } catch let error where CasePages.shownOnTheForm(error) {
            let problem = ProblemMiddleware.problem(for: error, context: context)
            if let id { return try await articlePage(id, context, form: form, problem: problem, notice: nil) }
            return try await listPage(context, form: form, problem: problem)
        }
        return Response(status: .seeOther, headers: [.location: "/workbench/knowledge/\(saved.id)"])
    }
}
