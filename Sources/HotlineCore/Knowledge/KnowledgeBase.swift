import Foundation
import Logging
import PostgresNIO

public enum ArticleStatus: String, Vocabulary {
    case draft, published, withdrawn
}

/// An article of the knowledge base as read.
public struct Article: Codable, Sendable, Equatable {
    public var id: Int64
    public var unit: String
    public var category: String?
    public var status: ArticleStatus
    public var version: Int
    public var title: String
    public var body: String
    public var keywords: [String]
    public var validFrom: String?
    public var validUntil: String?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, unit, category, status, version, title, body, keywords
        case validFrom = "valid_from"
        case validUntil = "valid_until"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// An article as written: POST takes all of it, PATCH the fields it changes.
public struct ArticleInput: Decodable, Sendable {
    public var unit: String?
    public var category: String??
    public var title: String?
    public var body: String?
    public var keywords: [String]?
    public var validFrom: String??
    public var validUntil: String??

    public init(unit: String? = nil, category: String?? = nil, title: String? = nil, body: String? = nil,
                keywords: [String]? = nil, validFrom: String?? = nil, validUntil: String?? = nil) {
        self.unit = unit
        self.category = category
        self.title = title
        self.body = body
        self.keywords = keywords
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Article.CodingKeys.self)
        unit = try c.decodeIfPresent(String.self, forKey: .unit)
        if c.contains(.category) { category = .some(try c.decodeIfPresent(String.self, forKey: .category)) }
        title = try c.decodeIfPresent(String.self, forKey: .title)
        body = try c.decodeIfPresent(String.self, forKey: .body)
        keywords = try c.decodeIfPresent([String].self, forKey: .keywords)
        if c.contains(.validFrom) { validFrom = .some(try c.decodeIfPresent(String.self, forKey: .validFrom)) }
        if c.contains(.validUntil) { validUntil = .some(try c.decodeIfPresent(String.self, forKey: .validUntil)) }
    }
}

/// One version of an article, as the history shows it.
public struct ArticleVersion: Codable, Sendable, Equatable {
    public var version: Int
    public var change: String
    public var status: ArticleStatus
    public var title: String
    public var body: String
    public var keywords: [String]
    public var category: String?
    public var validFrom: String?
    public var validUntil: String?
    public var changedAt: Date
    public var changedBy: Int64

    enum CodingKeys: String, CodingKey {
        case version, change, status, title, body, keywords, category
        case validFrom = "valid_from"
        case validUntil = "valid_until"
        case changedAt = "changed_at"
        case changedBy = "changed_by"
    }
}

/// A search hit: the article and why it ranks where it does.
public struct SearchHit: Codable, Sendable, Equatable {
    public var id: Int64
    public var unit: String
    public var category: String?
    public var title: String
    public var excerpt: String
    public var version: Int
    /// How many of the query's terms the article contains, of how many.
    public var termsMatched: Int
    public var terms: Int
    public var score: Double

    enum CodingKeys: String, CodingKey {
        case id, unit, category, title, excerpt, version, score, terms
        case termsMatched = "terms_matched"
    }
}

/// 知识库 (DOMAIN §8). Units keep their articles; every change is a version; operators search the
/// published, currently valid ones; articles not touched in 180 days are listed as stale.
public enum KnowledgeBase {
    static let columns = """
        id, unit_code, category, status, version, title, body, keywords, valid_from::text AS valid_from,
        valid_until::text AS valid_until, created_at, updated_at
        """

    /// Who may write an article of a unit: its own handlers, and admins.
    static func requireWriter(_ staff: Staff, of unit: String) throws {
        guard staff.role == .admin || (staff.role == .handler && staff.unit == unit) else {
            throw HotlineError(.forbidden, code: .notOwnerUnit, "only the article's own unit (or an admin) may change it")
        }
    }

    /// The center, managers and admins see drafts and withdrawn articles; a handler its own
    /// unit's; everyone else published ones only.
    static func seesUnpublished(_ staff: Staff, of unit: String) -> Bool {
        staff.isCenter || staff.role == .admin || (staff.role == .handler && staff.unit == unit)
    }

    public static func create(
        _ input: ArticleInput, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Article {
        try staff.require(.handler, .admin)
        let unit: String
        if staff.role == .handler {
            if let named = input.unit, named != staff.unit {
                throw HotlineError(.forbidden, code: .notOwnerUnit, "a handler writes its own unit's articles")
            }
            unit = staff.unit!
        } else {
            guard let named = input.unit else { throw HotlineError.validation(field: "unit", "is required when an admin writes") }
            try await Units.requireUnit(named, field: "unit", on: connection, logger: logger)
            unit = named
        }
        let fields = try await validate(input, over: nil, on: connection, logger: logger)
        let row = try await connection.row("""
            INSERT INTO knowledge_articles (unit_code, category, status, version, title, body, keywords, valid_from, valid_until,
                                            created_at, updated_at, updated_by, search)
            VALUES (\(unit), \(fields.category), 'draft', 1, \(fields.title), \(fields.body), \(fields.keywords),
                    \(fields.validFrom)::date, \(fields.validUntil)::date, \(now), \(now), \(staff.id), \(fields.vector)::tsvector)
            RETURNING id
            """, logger: logger)!
        let id: Int64 = try row.value("id")
        try await recordVersion(id, change: "created", by: staff, at: now, on: connection, logger: logger)
        return try await get(id, for: staff, on: connection, logger: logger)
    }

    public static func update(
        _ id: Int64, _ input: ArticleInput, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Article {
        let current = try await locked(id, for: staff, on: connection, logger: logger)
        try requireWriter(staff, of: current.unit)
        if input.unit != nil && input.unit != current.unit {
            throw HotlineError.validation(field: "unit", "an article stays with its unit")
        }
        let fields = try await validate(input, over: current, on: connection, logger: logger)
        try await connection.execute("""
            UPDATE knowledge_articles SET category = \(fields.category), title = \(fields.title), body = \(fields.body),
                   keywords = \(fields.keywords), valid_from = \(fields.validFrom)::date, valid_until = \(fields.validUntil)::date,
                   version = version + 1, updated_at = \(now), updated_by = \(staff.id), search = \(fields.vector)::tsvector
            WHERE id = \(id)
            """, logger: logger)
        try await recordVersion(id, change: "edited", by: staff, at: now, on: connection, logger: logger)
        return try await get(id, for: staff, on: connection, logger: logger)
    }

    /// Publishing and withdrawing are changes too: each is a version.
    public static func setStatus(
        _ id: Int64, to status: ArticleStatus, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Article {
        let current = try await locked(id, for: staff, on: connection, logger: logger)
        try requireWriter(staff, of: current.unit)
        let allowed: Set<ArticleStatus> = status == .published ? [.draft, .withdrawn] : [.published]
        guard allowed.contains(current.status) else {
            throw HotlineError(.conflict, code: .invalidTransition,
                               "cannot \(status == .published ? "publish" : "withdraw") an article that is \(current.status.rawValue)")
        }
        try await connection.execute("""
            UPDATE knowledge_articles SET status = \(status.rawValue), version = version + 1, updated_at = \(now), updated_by = \(staff.id)
            WHERE id = \(id)
            """, logger: logger)
        try await recordVersion(id, change: status.rawValue, by: staff, at: now, on: connection, logger: logger)
        return try await get(id, for: staff, on: connection, logger: logger)
    }

    public static func get(_ id: Int64, for staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> Article {
        guard let row = try await connection.row(
            "SELECT \(unescaped: columns) FROM knowledge_articles WHERE id = \(id)", logger: logger
        ) else { throw HotlineError.notFound("article") }
        let article = try self.article(row)
        guard article.status == .published || seesUnpublished(staff, of: article.unit) else {
            throw HotlineError.notFound("article")
        }
        return article
    }

    public static func versions(
        _ id: Int64, for staff: Staff, limit: Int = 50, cursor: String? = nil, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<ArticleVersion> {
        try Cursor.check(limit: limit)
        let after = try cursor.map(Cursor.decode) ?? 0
        _ = try await get(id, for: staff, on: connection, logger: logger)
        let rows = try await connection.rows("""
            SELECT version, change, status, title, body, keywords, category, valid_from::text AS valid_from,
                   valid_until::text AS valid_until, changed_at, changed_by
            FROM knowledge_versions WHERE article_id = \(id) AND version > \(after) ORDER BY version LIMIT \(limit + 1)
            """, logger: logger)
        let items = try rows.prefix(limit).map { row in
            ArticleVersion(
                version: Int(try row.value("version", as: Int32.self)), change: try row.value("change"),
                status: ArticleStatus(rawValue: try row.value("status"))!, title: try row.value("title"),
                body: try row.value("body"), keywords: try row.value("keywords"), category: try row.value("category"),
                validFrom: try row.value("valid_from"), validUntil: try row.value("valid_until"),
                changedAt: try row.value("changed_at"), changedBy: try row.value("changed_by")
            )
        }
        return Page(items: items, nextCursor: rows.count > limit ? items.last.map { Cursor.encode(Int64($0.version)) } : nil)
    }

    public struct ListFilter: Sendable {
        public var status: ArticleStatus?
        public var unit: String?
        public var category: String?
        public var limit = 50
        public var cursor: String?

        public init() {}
    }

    /// Newest first. Unpublished articles only where the reader may see them.
    public static func list(
        _ filter: ListFilter, for staff: Staff, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<Article> {
        guard (1...500).contains(filter.limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 500") }
        let after = try filter.cursor.map(Cursor.decode)
        let allUnits = staff.isCenter || staff.role == .admin
        let ownUnit = staff.role == .handler ? staff.unit : nil
        let rows = try await connection.rows("""
            SELECT \(unescaped: columns) FROM knowledge_articles
            WHERE (status = 'published' OR \(allUnits) OR unit_code = \(ownUnit))
              AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
              AND (\(filter.unit)::text IS NULL OR unit_code = \(filter.unit))
              AND (\(filter.category)::text IS NULL OR category = \(filter.category))
              AND (\(after)::bigint IS NULL OR id < \(after))
            ORDER BY id DESC LIMIT \(filter.limit + 1)
            """, logger: logger)
        let items = try rows.prefix(filter.limit).map(article)
        return Page(items: items, nextCursor: rows.count > filter.limit ? items.last.map { Cursor.encode($0.id) } : nil)
    }

    /// Published articles not updated in 180 days (适时更新): a handler's own unit's, or all.
    public static func stale(
        for staff: Staff, limit: Int = 50, cursor: String? = nil, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<Article> {
        try Cursor.check(limit: limit)
        let offset = try cursor.map { Int(try Cursor.decode($0)) - 1 } ?? 0
        let unit: String? = staff.role == .handler ? staff.unit : nil
        let rows = try await connection.rows("""
            SELECT \(unescaped: columns) FROM knowledge_articles
            WHERE status = 'published' AND updated_at < \(now) - interval '180 days'
              AND (\(unit)::text IS NULL OR unit_code = \(unit))
            ORDER BY updated_at, id
            OFFSET \(offset) LIMIT \(limit + 1)
            """, logger: logger)
        return Page(items: try rows.prefix(limit).map(article),
                    nextCursor: rows.count > limit ? Cursor.encode(Int64(offset + limit + 1)) : nil)
    }

    /// Search (GET /knowledge/search). Published articles valid today, best first: those that
    /// contain more of the query's terms (its bigrams, characters and Latin or digit words), then
    /// more of them in the title or keywords, then PostgreSQL's weighted rank (title A 1.0,
    /// keywords B 0.4, body C 0.2). Terms rather than whole words are counted so that "社保卡补办", typed as one
    /// word, still finds "社会保障卡(社保卡)补办" through 社保, 保卡 and 补办.
    public static func search(
        _ text: String, limit: Int, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [SearchHit] {
        guard (1...50).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 50") }
        var checker = FieldChecker()
        let text = checker.text(text, field: "q", max: 100)
        try checker.check()
        var terms: [String] = []
        for word in text!.split(whereSeparator: { $0.isWhitespace || $0.isPunctuation || $0.isSymbol }) {
            for term in ChineseText.queryTerms(String(word)) where !terms.contains(term) { terms.append(term) }
        }
        guard !terms.isEmpty else { throw HotlineError.validation(field: "q", "has nothing to search for") }
        let quoted = terms.map { "'\($0)'" }
        let today = LocalDate(now).description
        // Two steps, so that a common piece (办理, 泰山区) found in tens of thousands of articles
        // costs one index scan rather than reading each of them whole: per piece, the articles
        // that contain it (and whether in the small title-and-keywords vector), counted per
        // article and ordered; then only the best few are ranked by their full weighted vector.
        let rows = try await connection.rows("""
            WITH q AS (SELECT \(quoted)::tsquery[] AS terms, \(quoted.joined(separator: " | "))::tsquery AS any),
            best AS (
                SELECT h.id, count(*) AS terms_matched, count(*) FILTER (WHERE h.in_head) AS title_matched,
                       max(h.updated_at) AS updated_at
                FROM q, unnest(q.terms) t
                CROSS JOIN LATERAL (
                    SELECT id, head @@ t AS in_head, updated_at FROM knowledge_articles
                    WHERE status = 'published' AND search @@ t
                      AND (valid_from IS NULL OR valid_from <= \(today)::date)
                      AND (valid_until IS NULL OR valid_until >= \(today)::date)
                ) h
                GROUP BY h.id
                ORDER BY terms_matched DESC, title_matched DESC, updated_at DESC, h.id
                LIMIT \(limit * 5)
            )
            SELECT a.id, a.unit_code, a.category, a.title, left(a.body, 120) AS excerpt, a.version,
                   best.terms_matched, best.title_matched, ts_rank('{0.1, 0.2, 0.4, 1.0}', a.search, q.any) AS rank
            FROM best JOIN knowledge_articles a ON a.id = best.id, q
            ORDER BY best.terms_matched DESC, best.title_matched DESC, rank DESC, a.id
            LIMIT \(limit)
            """, logger: logger)
        return try rows.map { row in
            let rank: Float = try row.value("rank")
            let matched: Int = try row.value("terms_matched")
            let title: Int = try row.value("title_matched")
            return SearchHit(
                id: try row.value("id"), unit: try row.value("unit_code"), category: try row.value("category"),
                title: try row.value("title"), excerpt: try row.value("excerpt"),
                version: Int(try row.value("version", as: Int32.self)), termsMatched: matched, terms: terms.count,
                score: (Double(matched) * 10 + Double(title) * 2 + Double(rank)) / Double(terms.count)
            )
        }
    }

    /// The articles a direct answer cites must be published and valid today; returns their versions.
    static func citable(
        _ ids: [Int64], at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int64: Int] {
        if ids.isEmpty { return [:] }
        let today = LocalDate(now).description
        var versions: [Int64: Int] = [:]
        for row in try await connection.rows("""
            SELECT id, version FROM knowledge_articles
            WHERE id = ANY(\(ids)) AND status = 'published'
              AND (valid_from IS NULL OR valid_from <= \(today)::date)
              AND (valid_until IS NULL OR valid_until >= \(today)::date)
            """, logger: logger) {
            versions[try row.value("id")] = Int(try row.value("version", as: Int32.self))
        }
        if let missing = ids.first(where: { versions[$0] == nil }) {
            throw HotlineError(.unprocessable, code: .unknownArticle,
                               "article \(missing) is not a published article valid today")
        }
        return versions
    }

    struct Fields {
        let category: String?
        let title: String
        let body: String
        let keywords: [String]
        let validFrom: String?
        let validUntil: String?
        let vector: String
    }

    static func validate(
        _ input: ArticleInput, over current: Article?, on connection: PostgresConnection, logger: Logger
    ) async throws -> Fields {
        var checker = FieldChecker()
        let title = input.title.map { checker.text($0, field: "title", max: 200) } ?? current?.title
        let body = input.body.map { checker.text($0, field: "body", max: 20_000, multiline: true) } ?? current?.body
        if current == nil {
            if input.title == nil { checker.fail("title", "is required") }
            if input.body == nil { checker.fail("body", "is required") }
        }
        var keywords = current?.keywords ?? []
        if let given = input.keywords {
            if given.count > 30 { checker.fail("keywords", "at most 30") }
            keywords = given.enumerated().compactMap { checker.text($1, field: "keywords[\($0)]", max: 50) }
        }
        for (value, field) in [(input.title, "title"), (input.body, "body")] + (input.keywords ?? []).enumerated().map({ ($1, "keywords[\($0)]") })
        where value.map(ChineseText.overlongWord) == true {
            checker.fail(field, "must not hold a word of more than \(ChineseText.longestWord) letters or digits without a break")
        }
        let validFrom = input.validFrom ?? current?.validFrom
        let validUntil = input.validUntil ?? current?.validUntil
        for (value, field) in [(validFrom, "valid_from"), (validUntil, "valid_until")] {
            if let value, LocalDate(iso: value) == nil { checker.fail(field, "must be a date YYYY-MM-DD") }
        }
        if let from = validFrom.flatMap({ LocalDate(iso: $0) }), let until = validUntil.flatMap({ LocalDate(iso: $0) }), until < from {
            checker.fail("valid_until", "must not be before valid_from")
        }
        try checker.check()
        let category = input.category ?? current?.category
        if let category, try await connection.row("SELECT 1 FROM categories WHERE code = \(category)", logger: logger) == nil {
            throw HotlineError(.unprocessable, code: .unknownCategory, "category names no known category")
        }
        let vector = ChineseText.vector([(title!, "A"), (keywords.joined(separator: " "), "B"), (body!, "C")])
        return Fields(category: category, title: title!, body: body!, keywords: keywords, validFrom: validFrom,
                      validUntil: validUntil, vector: vector)
    }

    /// The article, locked; one the reader may not see (another unit's draft) is not found.
    static func locked(_ id: Int64, for staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> Article {
        guard let row = try await connection.row(
            "SELECT \(unescaped: columns) FROM knowledge_articles WHERE id = \(id) FOR UPDATE", logger: logger
        ) else { throw HotlineError.notFound("article") }
        let article = try article(row)
        guard article.status == .published || seesUnpublished(staff, of: article.unit) else {
            throw HotlineError.notFound("article")
        }
        return article
    }

    static func recordVersion(
        _ id: Int64, change: String, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.execute("""
            INSERT INTO knowledge_versions (article_id, version, status, title, body, keywords, category, valid_from, valid_until,
                                            changed_at, changed_by, change)
            SELECT id, version, status, title, body, keywords, category, valid_from, valid_until, \(now), \(staff.id), \(change)
            FROM knowledge_articles WHERE id = \(id)
            """, logger: logger)
    }

    static func article(_ row: PostgresRandomAccessRow) throws -> Article {
        Article(
            id: try row.value("id"), unit: try row.value("unit_code"), category: try row.value("category"),
            status: ArticleStatus(rawValue: try row.value("status"))!, version: Int(try row.value("version", as: Int32.self)),
            title: try row.value("title"), body: try row.value("body"), keywords: try row.value("keywords"),
            validFrom: try row.value("valid_from"), validUntil: try row.value("valid_until"),
            createdAt: try row.value("created_at"), updatedAt: try row.value("updated_at")
        )
    }
}
