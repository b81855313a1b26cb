import Foundation
import Logging
import PostgresNIO

/// A case an operator may be hearing about again (DOMAIN §15), with why it matched.
public struct SimilarCase: Codable, Sendable, Equatable {
    public struct Reason: Codable, Sendable, Equatable {
        /// `same_phone`, `similar_text` or `nearby`.
        public var kind: String
        /// For `similar_text`: how alike the texts are, 0 to 1.
        public var similarity: Double?
        /// For `nearby`: how far the case's point is from the one given, in metres.
        public var distanceMetres: Int?

        enum CodingKeys: String, CodingKey {
            case kind, similarity
            case distanceMetres = "distance_m"
        }
    }

    public var number: String
    public var status: CaseStatus
    public var category: String
    public var region: String?
    /// The subject as written: only the center reads similar cases.
    public var subject: String
    public var acceptedAt: Date
    /// The master a merged duplicate went into: the case to add to, if any.
    public var mergedInto: String?
    public var score: Double
    public var reasons: [Reason]

    enum CodingKeys: String, CodingKey {
        case number, status, category, region, subject, score, reasons
        case acceptedAt = "accepted_at"
        case mergedInto = "merged_into"
    }
}

/// A repeat call (重复来电, DOMAIN §15): a case whose phone made others in the 30 days before it.
enum Repeats {
    static let window: TimeInterval = 30 * 86_400
    /// How many of the earlier cases a case lists (the newest).
    static let listed = 20
}

/// Similar cases while the citizen is still on the line (DOMAIN §15): open and recent cases of
/// the same phone (30 days, or still open), of the same category and region with text alike by
/// character bigrams (7 days), and within 200 m of a point (30 days, or still open), best first.
/// Each route reads a bounded number of cases, newest first: the phone's last 50, the cell's last
/// 100 with a word of the text, 200 around the point.
/// The center's only: a unit never reads another case through this.
public enum SimilarCases {
    public struct Query: Sendable {
        public var phone: String?
        public var category: String?
        /// Absent: any region.
        public var region: String?
        public var text: String?
        public var latitude: Double?
        public var longitude: Double?
        /// The case being filed, in the answer to its own intake.
        var excluding: Int64?

        /// What an intake has to match on: all it was given.
        init(_ input: NewCase) {
            self.init(phone: input.citizen.phone, category: input.category, region: input.location?.region,
                      text: [input.subject, input.description, input.location?.address].compactMap { $0 }.joined(separator: "\n"),
                      latitude: input.location?.latitude, longitude: input.location?.longitude)
        }

        public init(phone: String? = nil, category: String? = nil, region: String? = nil, text: String? = nil,
                    latitude: Double? = nil, longitude: Double? = nil) {
            self.phone = phone
            self.category = category
            self.region = region
            self.text = text
            self.latitude = latitude
            self.longitude = longitude
        }
    }

    /// A case is listed only at this score or above: a phone or a point within 200 m always is;
    /// text alone must be this alike. Pinned by the fixture of SimilarCasesTests.
    public static let threshold = 0.27
    static let phoneWeight = 0.6
    static let nearWeight = 0.5, farWeight = 0.3
    public static let radiusMetres = 200.0
    static let textDays = 7.0, placeDays = 30.0
    public static let limit = 10

    /// Checks a query as typed (the GET's parameters): something to match on, a text of at most
    /// 4,000 characters, coordinates on the globe and given together, a phone that is one.
    public static func validate(_ query: Query) throws -> Query {
        var checker = FieldChecker()
        var valid = query
        valid.category = checker.text(query.category, field: "category", max: 64, required: false)
        valid.region = checker.text(query.region, field: "region", max: 64, required: false)
        valid.text = checker.text(query.text, field: "text", max: 4000, required: false, multiline: true)
        valid.phone = checker.phone(query.phone, field: "phone")
        checker.point(latitude: query.latitude, longitude: query.longitude)
        try checker.check()
        let byText = valid.category != nil && !distinctive(terms(valid.text ?? "")).isEmpty
        guard valid.phone != nil || byText || valid.latitude != nil else {
            throw HotlineError.validation(field: "text",
                "give something to match on: a phone, a category with a text of some words, or a latitude and longitude")
        }
        return valid
    }

    /// The center (its operators, dispatchers and managers): nobody of a unit.
    public static func authorise(_ staff: Staff) throws {
        guard staff.isCenter else { throw HotlineError.forbidden("similar cases are the center's") }
    }

    public static func find(
        _ query: Query, for staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [SimilarCase] {
        try authorise(staff)
        let wanted = terms(query.text ?? "")
        let distinctive = distinctive(wanted)
        // The text route needs a word that is not in every request: it prefilters by the index.
        let textQuery = query.category == nil || distinctive.isEmpty ? nil
            : distinctive.sorted().prefix(200).map { "'\($0)'" }.joined(separator: " | ")
        let box = query.latitude.flatMap { lat in query.longitude.map { lon in around(latitude: lat, longitude: lon) } }
        let region = query.region
        let rows = try await connection.rows(Find(query: """
            WITH found AS (
                (SELECT c.id FROM cases c
                 WHERE c.id IN (SELECT k.case_id FROM case_contacts k WHERE k.phone = \(query.phone)
                                ORDER BY k.case_id DESC LIMIT 50)
                   AND (c.accepted_at >= \(now.addingTimeInterval(-Repeats.window)) OR c.status NOT IN ('closed', 'merged')))
                UNION
                (SELECT c.id FROM cases c
                 WHERE c.category = \(textQuery == nil ? nil : query.category)
                   AND (c.region = \(region) OR \(region)::text IS NULL)
                   AND c.accepted_at >= \(now.addingTimeInterval(-textDays * 86_400))
                   AND c.search_units @@ \(textQuery)::text::tsquery
                 ORDER BY c.accepted_at DESC LIMIT 100)
                UNION
                (SELECT c.id FROM cases c
                 WHERE c.latitude IS NOT NULL
                   AND point(c.longitude, c.latitude) <@ box(point(\(box?.west), \(box?.south)), point(\(box?.east), \(box?.north)))
                   AND (c.accepted_at >= \(now.addingTimeInterval(-placeDays * 86_400)) OR c.status NOT IN ('closed', 'merged'))
                 ORDER BY c.id DESC LIMIT 200)
            )
            SELECT c.number, c.status, c.category, c.region, c.subject, c.accepted_at, c.latitude, c.longitude,
                   m.number AS master, coalesce(k.phone = \(query.phone), false) AS same_phone,
                   tsvector_to_array(coalesce(c.search_center, c.search_units)) AS terms
            FROM found f JOIN cases c ON c.id = f.id
            LEFT JOIN case_contacts k ON k.case_id = c.id LEFT JOIN cases m ON m.id = c.merged_into
            WHERE c.id <> \(query.excluding ?? 0)
            """), logger: logger)
        var out: [SimilarCase] = []
        for row in rows {
            let candidateTerms = terms(fromLexemes: try row.value("terms", as: [String]?.self) ?? [])
            let latitude: Double? = try row.value("latitude"), longitude: Double? = try row.value("longitude")
            var distance: Double?
            if let latitude, let longitude, let lat = query.latitude, let lon = query.longitude {
                let metres = metresBetween(latitude, longitude, lat, lon)
                if metres <= radiusMetres { distance = metres }
            }
            // Text is evidence only where the spec looks for it: the same category (and region, when
            // given) in the last 7 days. A case found by its phone or place is not "alike" otherwise.
            let category: String = try row.value("category"), caseRegion: String? = try row.value("region")
            let acceptedAt: Date = try row.value("accepted_at")
            let comparable = category == query.category && (region == nil || caseRegion == region)
                && acceptedAt >= now.addingTimeInterval(-textDays * 86_400)
            let judged = judge(samePhone: try row.value("same_phone"),
                               similarity: comparable ? similarity(wanted, candidateTerms) : 0, distance: distance)
            guard judged.score >= threshold else { continue }
            out.append(SimilarCase(
                number: try row.value("number"), status: CaseStatus(rawValue: try row.value("status"))!,
                category: category, region: caseRegion, subject: try row.value("subject"),
                acceptedAt: acceptedAt, mergedInto: try row.value("master"),
                score: judged.score, reasons: judged.reasons))
        }
        out.sort { ($0.score, $0.acceptedAt, $0.number) > ($1.score, $1.acceptedAt, $1.number) }
        return Array(out.prefix(limit))
    }

    /// Every intake runs it, and the operator's page as they type: prepared (its plan kept). A
    /// value that may be NULL is cast from text: its first NULL would otherwise type it.
    struct Find: PreparedStatement { let query: PostgresQuery }

    // MARK: The score

    /// Each reason is evidence on its own: the score is the chance that at least one of them is
    /// right, 1 − ∏(1 − evidence), rounded to three places.
    static func judge(samePhone: Bool, similarity: Double, distance: Double?) -> (score: Double, reasons: [SimilarCase.Reason]) {
        var reasons: [SimilarCase.Reason] = []
        var doubt = 1.0
        if samePhone {
            doubt *= 1 - phoneWeight
            reasons.append(.init(kind: "same_phone"))
        }
        if similarity > 0 {
            doubt *= 1 - similarity
        }
        if similarity >= threshold {
            reasons.append(.init(kind: "similar_text", similarity: (similarity * 1000).rounded() / 1000))
        }
        if let distance {
            doubt *= 1 - (nearWeight - (nearWeight - farWeight) * distance / radiusMetres)
            reasons.append(.init(kind: "nearby", distanceMetres: Int(distance.rounded())))
        }
        return (((1 - doubt) * 1000).rounded() / 1000, reasons)
    }

    /// Words every request has (市民, 反映, 小区, 解决 …) weigh a fifth of the others: two
    /// requests are alike by what is particular to them, not by how citizens talk.
    static let common: Set<String> = Set("""
        市民 来电 反映 反应 希望 尽快 处理 解决 问题 情况 相关 部门 没有 一直 目前 现在 已经 要求 表示 进行 我们 自己
        这个 那个 出现 发生 工作 人员 时间 今天 昨天 多次 附近 门口 居民 严重 影响 生活 不能 无法 可以 能够 请求 诉求
        咨询 投诉 举报 建议 帮助 联系 电话 小区 物业 社区 街道 一下 什么 怎么 为什 很多 非常 不是 还是 但是 因为 所以
        如果 帮忙 想问 请问 了解 经常 每天 好几 几天 天了 了一 的人 们的 是否 有关 对此 此事 事情 这里 那里 这边 那边
        周边 周围 家里 现场
        """.split(whereSeparator: \.isWhitespace).map(String.init))
    static let commonWeight = 0.2

    /// What two texts are compared by: the bigrams of their Chinese runs and their Latin and digit
    /// words, as the search vectors hold them (ChineseText), without single characters.
    static func terms(_ text: String) -> Set<String> {
        terms(fromLexemes: ChineseText.indexTerms(text))
    }

    static func terms(fromLexemes lexemes: [String]) -> Set<String> {
        Set(lexemes.filter { term in
            !(term.unicodeScalars.count == 1 && term.unicodeScalars.first!.properties.isIdeographic)
        })
    }

    static func distinctive(_ terms: Set<String>) -> Set<String> { terms.subtracting(common) }

    /// The cosine of the two texts' weighted terms.
    static func similarity(_ a: Set<String>, _ b: Set<String>) -> Double {
        func weight(_ term: String) -> Double { common.contains(term) ? commonWeight : 1 }
        func norm(_ set: Set<String>) -> Double { set.reduce(0) { $0 + weight($1) * weight($1) }.squareRoot() }
        let (na, nb) = (norm(a), norm(b))
        guard na > 0, nb > 0 else { return 0 }
        let shared = a.intersection(b).reduce(0) { $0 + weight($1) * weight($1) }
        return shared / (na * nb)
    }

    /// The similarity of two texts, as `find` computes it.
    public static func similarity(_ a: String, _ b: String) -> Double {
        similarity(terms(a), terms(b))
    }

    // MARK: Places

    /// A box around a point a little wider than the radius, for the index; the distance itself is
    /// measured after.
    static func around(latitude: Double, longitude: Double) -> (west: Double, south: Double, east: Double, north: Double) {
        let dLat = radiusMetres * 1.01 / 111_320
        let dLon = radiusMetres * 1.01 / (111_320 * max(cos(latitude * .pi / 180), 0.01))
        return (longitude - dLon, latitude - dLat, longitude + dLon, latitude + dLat)
    }

    /// Great-circle distance (haversine), in metres.
    static func metresBetween(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let r = 6_371_000.0
        let (p1, p2) = (lat1 * .pi / 180, lat2 * .pi / 180)
        let dp = p2 - p1, dl = (lon2 - lon1) * .pi / 180
        let h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
        return 2 * r * asin(min(1, h.squareRoot()))
    }
}
