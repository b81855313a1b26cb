import Foundation
import Logging
import PostgresNIO

/// A rate with what it is made of; `rate` is nil ("no data") on an empty base.
public struct Indicator: Codable, Sendable, Equatable {
    public var numerator: Int
    public var denominator: Int

    public var rate: Double? {
        denominator == 0 ? nil : (Double(numerator) / Double(denominator) * 10_000).rounded() / 10_000
    }

    public init(numerator: Int = 0, denominator: Int = 0) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// A revision stored before an indicator had a part reads it as no data (0 of 0).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(numerator: try c.decodeIfPresent(Int.self, forKey: .numerator) ?? 0,
                  denominator: try c.decodeIfPresent(Int.self, forKey: .denominator) ?? 0)
    }

    static func + (lhs: Indicator, rhs: Indicator) -> Indicator {
        Indicator(numerator: lhs.numerator + rhs.numerator, denominator: lhs.denominator + rhs.denominator)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(numerator, forKey: .numerator)
        try c.encode(denominator, forKey: .denominator)
        try c.encode(rate, forKey: .rate)
    }

    enum CodingKeys: String, CodingKey { case numerator, denominator, rate }
}

public struct Indicators: Codable, Sendable, Equatable {
    public var onTimeSign = Indicator()
    public var onTimeReply = Indicator()
    public var satisfaction = Indicator()
    public var resolution = Indicator()
    public var reopen = Indicator()
    /// 响应率: lead assignments signed on time and, where a first contact was owed, contacted on time.
    public var response = Indicator()

    enum CodingKeys: String, CodingKey {
        case satisfaction, resolution, reopen, response
        case onTimeSign = "on_time_sign"
        case onTimeReply = "on_time_reply"
    }

    public init() {}

    /// An indicator a stored revision does not have is no data.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        onTimeSign = try c.decodeIfPresent(Indicator.self, forKey: .onTimeSign) ?? Indicator()
        onTimeReply = try c.decodeIfPresent(Indicator.self, forKey: .onTimeReply) ?? Indicator()
        satisfaction = try c.decodeIfPresent(Indicator.self, forKey: .satisfaction) ?? Indicator()
        resolution = try c.decodeIfPresent(Indicator.self, forKey: .resolution) ?? Indicator()
        reopen = try c.decodeIfPresent(Indicator.self, forKey: .reopen) ?? Indicator()
        response = try c.decodeIfPresent(Indicator.self, forKey: .response) ?? Indicator()
    }

    static func + (lhs: Indicators, rhs: Indicators) -> Indicators {
        var sum = Indicators()
        sum.onTimeSign = lhs.onTimeSign + rhs.onTimeSign
        sum.onTimeReply = lhs.onTimeReply + rhs.onTimeReply
        sum.satisfaction = lhs.satisfaction + rhs.satisfaction
        sum.resolution = lhs.resolution + rhs.resolution
        sum.reopen = lhs.reopen + rhs.reopen
        sum.response = lhs.response + rhs.response
        return sum
    }
}

/// A unit's line of the report.
public struct UnitAppraisal: Codable, Sendable, Equatable {
    public var unit: String
    public var name: String
    public var group: UnitGroup
    /// Within the group; nil in a unit's own view of a live period, computed for that unit alone.
    public var rank: Int?
    public var score: Double
    public var indicators: Indicators
    public var unreasonableReturns: Int
    public var escalations: Int
    public var overdue: Int
    /// 审核退回: reviews that sent the unit's replies back, by the time of the review. Shown, not scored.
    public var sentBack: Int
    /// 重复诉求 (DOMAIN §15): cases filed by a phone in a category within 30 days after the unit's
    /// reply to an earlier case of that phone and category, by the time of filing. Shown, not scored.
    public var repeatComplaints: Int
    /// In a roll-up line: how many units it sums (the parent and every unit below it).
    public var unitsSummed: Int?
    /// The figures a revision stored in an older shape does not have: shown as "—", never as 0.
    public var missing: Set<String> = []

    enum CodingKeys: String, CodingKey {
        case unit, name, group, rank, score, indicators, escalations, overdue
        case unreasonableReturns = "unreasonable_returns"
        case sentBack = "sent_back"
        case repeatComplaints = "repeat_complaints"
        case unitsSummed = "units_summed"
    }

    init(unit: String, name: String, group: UnitGroup, rank: Int?, score: Double, counts: Counts, unitsSummed: Int? = nil) {
        (self.unit, self.name, self.group, self.rank, self.score, self.indicators) = (unit, name, group, rank, score, counts.indicators)
        (self.unreasonableReturns, self.escalations, self.overdue) = (counts.unreasonableReturns, counts.escalations, counts.overdue)
        (self.sentBack, self.repeatComplaints) = (counts.sentBack, counts.repeatComplaints)
        self.unitsSummed = unitsSummed
    }

    /// A line is its unit, named and grouped (as every shape has had it); any other figure may
    /// be absent from a revision stored before it existed.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        unit = try c.decode(String.self, forKey: .unit)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? unit
        group = try c.decode(UnitGroup.self, forKey: .group)
        rank = try c.decodeIfPresent(Int.self, forKey: .rank)
        indicators = try c.decodeIfPresent(Indicators.self, forKey: .indicators) ?? Indicators()
        func count(_ key: CodingKeys, into missing: inout Set<String>) throws -> Int {
            if let value = try c.decodeIfPresent(Int.self, forKey: key) { return value }
            missing.insert(key.rawValue)
            return 0
        }
        var missing: Set<String> = []
        score = try c.decodeIfPresent(Double.self, forKey: .score) ?? { missing.insert("score"); return 0 }()
        unreasonableReturns = try count(.unreasonableReturns, into: &missing)
        escalations = try count(.escalations, into: &missing)
        overdue = try count(.overdue, into: &missing)
        sentBack = try count(.sentBack, into: &missing)
        repeatComplaints = try count(.repeatComplaints, into: &missing)
        unitsSummed = try c.decodeIfPresent(Int.self, forKey: .unitsSummed)
        // Shape 1 had no response rate: "—", not "no data".
        if (try? c.nestedContainer(keyedBy: Indicators.CodingKeys.self, forKey: .indicators).contains(.response)) != true {
            missing.insert("response")
        }
        self.missing = missing
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(unit, forKey: .unit)
        try c.encode(name, forKey: .name)
        try c.encode(group, forKey: .group)
        try c.encode(rank, forKey: .rank)  // null, not absent, where there is none
        try c.encode(score, forKey: .score)
        // What a revision of an older shape did not have stays absent when it is written again
        // (a handler's view of a revision is re-encoded), as the figures a later shape added.
        var i = c.nestedContainer(keyedBy: Indicators.CodingKeys.self, forKey: .indicators)
        try i.encode(indicators.onTimeSign, forKey: .onTimeSign)
        try i.encode(indicators.onTimeReply, forKey: .onTimeReply)
        try i.encode(indicators.satisfaction, forKey: .satisfaction)
        try i.encode(indicators.resolution, forKey: .resolution)
        try i.encode(indicators.reopen, forKey: .reopen)
        if !missing.contains("response") { try i.encode(indicators.response, forKey: .response) }
        try c.encode(unreasonableReturns, forKey: .unreasonableReturns)
        try c.encode(escalations, forKey: .escalations)
        try c.encode(overdue, forKey: .overdue)
        if !missing.contains("sent_back") { try c.encode(sentBack, forKey: .sentBack) }
        if !missing.contains("repeat_complaints") { try c.encode(repeatComplaints, forKey: .repeatComplaints) }
        try c.encodeIfPresent(unitsSummed, forKey: .unitsSummed)
    }
}

/// Which composite score a report ranks by (DOMAIN §9).
public enum AppraisalScheme: String, Codable, Sendable, CaseIterable {
    /// On-time sign, on-time reply, resolution, satisfaction.
    case `default`
    /// Beijing's 三率: response, resolution, satisfaction.
    case threeRates = "three_rates"
}

/// The weights of the three-rates scheme; its deductions are the default scheme's.
public struct ThreeRatesWeights: Codable, Sendable, Equatable {
    public var response: Double
    public var resolution: Double
    public var satisfaction: Double
}

/// The weights of the composite score (DOMAIN §9), editable by a manager: each scheme's, and
/// the scheme in force.
public struct AppraisalWeights: Codable, Sendable, Equatable {
    /// Nil only in a revision stored before there was a choice (it was the default scheme), or
    /// in a change that leaves the scheme as it is.
    public var scheme: AppraisalScheme?
    public var onTimeSign: Double
    public var onTimeReply: Double
    public var resolution: Double
    public var satisfaction: Double
    /// Points off per unreasonable return and per escalation, in either scheme.
    public var unreasonableReturn: Double
    public var escalation: Double
    /// Nil as `scheme` is.
    public var threeRates: ThreeRatesWeights?

    enum CodingKeys: String, CodingKey {
        case scheme, resolution, satisfaction, escalation
        case onTimeSign = "on_time_sign"
        case onTimeReply = "on_time_reply"
        case unreasonableReturn = "unreasonable_return"
        case threeRates = "three_rates"
    }

    /// The scheme a report was ranked by.
    public var schemeInForce: AppraisalScheme { scheme ?? .default }
}

/// 月度和年度考评 (DOMAIN §9; seed art. 82 (三)). Computed live from the record; a manager
/// publishes a period, which freezes it as a revision.
public struct AppraisalReport: Codable, Sendable, Equatable {
    public var period: String
    public var revision: Int?
    public var publishedAt: Date?
    public var reason: String?
    public var generatedAt: Date
    /// Nil only in a revision stored before the weights were part of it.
    public var weights: AppraisalWeights?
    public var units: [UnitAppraisal]
    /// Each unit with units below it, summed with all of them (`?rollup=true`, and in every
    /// published revision); not ranked.
    public var rollup: [UnitAppraisal]?

    /// The scheme the ranking is by.
    public var scheme: AppraisalScheme { weights?.schemeInForce ?? .default }

    enum CodingKeys: String, CodingKey {
        case period, revision, reason, weights, units, rollup, scheme
        case publishedAt = "published_at"
        case generatedAt = "generated_at"
    }

    /// The shape publishing writes today; kept with every revision (`schema_version`). Shape 3
    /// added the units' repeat complaints.
    public static let schemaVersion: Int16 = 3

    init(period: String, revision: Int?, publishedAt: Date?, reason: String?, generatedAt: Date,
         weights: AppraisalWeights?, units: [UnitAppraisal], rollup: [UnitAppraisal]? = nil) {
        (self.period, self.revision, self.publishedAt, self.reason) = (period, revision, publishedAt, reason)
        (self.generatedAt, self.weights, self.units, self.rollup) = (generatedAt, weights, units, rollup)
    }

    /// A revision renders in every format forever: whatever it was stored with is read, and
    /// what a later shape added is absent, not an error (DOMAIN §9).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        period = try c.decode(String.self, forKey: .period)
        revision = try c.decodeIfPresent(Int.self, forKey: .revision)
        publishedAt = try c.decodeIfPresent(Date.self, forKey: .publishedAt)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        generatedAt = try c.decodeIfPresent(Date.self, forKey: .generatedAt) ?? publishedAt ?? Date(timeIntervalSince1970: 0)
        weights = try c.decodeIfPresent(AppraisalWeights.self, forKey: .weights)
        units = try c.decodeIfPresent([UnitAppraisal].self, forKey: .units) ?? []
        rollup = try c.decodeIfPresent([UnitAppraisal].self, forKey: .rollup)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(period, forKey: .period)
        try c.encode(revision, forKey: .revision)
        try c.encodeIfPresent(publishedAt, forKey: .publishedAt)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encode(generatedAt, forKey: .generatedAt)
        try c.encode(scheme, forKey: .scheme)
        try c.encodeIfPresent(weights, forKey: .weights)
        try c.encode(units, forKey: .units)
        try c.encodeIfPresent(rollup, forKey: .rollup)
    }
}

public enum Appraisal {
    public static func weights(on connection: PostgresConnection, logger: Logger) async throws -> AppraisalWeights {
        let row = try await connection.row("""
            SELECT scheme, on_time_sign::float8 AS s, on_time_reply::float8 AS r, resolution::float8 AS res,
                   satisfaction::float8 AS sat, unreasonable_return::float8 AS ur, escalation::float8 AS esc,
                   three_rates_response::float8 AS t_resp, three_rates_resolution::float8 AS t_res,
                   three_rates_satisfaction::float8 AS t_sat
            FROM appraisal_weights
            """, logger: logger)!
        return AppraisalWeights(
            scheme: AppraisalScheme(rawValue: try row.value("scheme"))!,
            onTimeSign: try row.value("s"), onTimeReply: try row.value("r"), resolution: try row.value("res"),
            satisfaction: try row.value("sat"), unreasonableReturn: try row.value("ur"), escalation: try row.value("esc"),
            threeRates: ThreeRatesWeights(response: try row.value("t_resp"), resolution: try row.value("t_res"),
                                          satisfaction: try row.value("t_sat")))
    }

    /// Replaces the weights. A change without `scheme` or `three_rates` (as clients written
    /// before the three-rates scheme send) keeps what is stored for them.
    public static func setWeights(
        _ change: AppraisalWeights, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> AppraisalWeights {
        try staff.require(.manager)
        let current = try await weights(on: connection, logger: logger)
        // Stored to the hundredth (numeric(5,2)): checked as they will be stored, so that a sum
        // the database would refuse is a 400 here.
        func cents(_ value: Double) -> Double { value.isFinite ? (value * 100).rounded() / 100 : value }
        var weights = change
        weights.scheme = change.scheme ?? current.scheme
        weights.threeRates = change.threeRates ?? current.threeRates
        (weights.onTimeSign, weights.onTimeReply) = (cents(weights.onTimeSign), cents(weights.onTimeReply))
        (weights.resolution, weights.satisfaction) = (cents(weights.resolution), cents(weights.satisfaction))
        (weights.unreasonableReturn, weights.escalation) = (cents(weights.unreasonableReturn), cents(weights.escalation))
        var three = weights.threeRates!
        (three.response, three.resolution, three.satisfaction) = (cents(three.response), cents(three.resolution), cents(three.satisfaction))
        weights.threeRates = three
        var checker = FieldChecker()
        let all = [("on_time_sign", weights.onTimeSign), ("on_time_reply", weights.onTimeReply),
                   ("resolution", weights.resolution), ("satisfaction", weights.satisfaction),
                   ("unreasonable_return", weights.unreasonableReturn), ("escalation", weights.escalation),
                   ("three_rates.response", three.response), ("three_rates.resolution", three.resolution),
                   ("three_rates.satisfaction", three.satisfaction)]
        for (field, value) in all where !(value.isFinite && value >= 0 && value <= 100) {
            checker.fail(field, "must be between 0 and 100")
        }
        let sum = weights.onTimeSign + weights.onTimeReply + weights.resolution + weights.satisfaction
        if abs(sum - 100) > 0.001 { checker.fail("weights", "on_time_sign, on_time_reply, resolution and satisfaction add up to 100") }
        if abs(three.response + three.resolution + three.satisfaction - 100) > 0.001 {
            checker.fail("three_rates", "response, resolution and satisfaction add up to 100")
        }
        try checker.check()
        try await connection.execute("""
            UPDATE appraisal_weights SET scheme = \(weights.schemeInForce.rawValue),
                   on_time_sign = \(weights.onTimeSign), on_time_reply = \(weights.onTimeReply),
                   resolution = \(weights.resolution), satisfaction = \(weights.satisfaction),
                   unreasonable_return = \(weights.unreasonableReturn), escalation = \(weights.escalation),
                   three_rates_response = \(three.response), three_rates_resolution = \(three.resolution),
                   three_rates_satisfaction = \(three.satisfaction), updated_at = \(now)
            """, logger: logger)
        return try await self.weights(on: connection, logger: logger)
    }

    /// The live report of a month or a year. A year sums its months' numerators and
    /// denominators (it is not an average of monthly rates). With `unit`, that unit's line
    /// alone, computed from its own rows only and so not ranked: what a handler asks for.
    /// With `rollup`, each parent's line summed with every unit below it, beside the ranking.
    /// Read from the facts the database keeps as the record changes; with `recount`, counted
    /// again from the whole record instead (the oracle the facts are checked against).
    public static func compute(
        _ period: Period, unit only: String? = nil, rollup: Bool = false, recount: Bool = false, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> AppraisalReport {
        let months = period.month != nil ? [period]
            : (1...12).map { Period(String(format: "%04d-%02d", period.year, $0))! }.filter { $0.start < now }
        // A unit with nothing counted is a unit without figures, however it was read.
        var counted = try await recount
            ? AppraisalRecord.counts(months, unit: only, at: now, on: connection, logger: logger)
            : AppraisalFacts.counts(months, unit: only, at: now, on: connection, logger: logger)
        // Read as they were written at intake, the same way for the facts and the recount.
        if let first = months.first, let last = months.last {
            for (unit, n) in try await repeatComplaints(from: first.start, to: last.end, unit: only, on: connection, logger: logger) {
                counted[unit, default: Counts()].repeatComplaints = n
            }
        }
        let totals = counted.filter { $0.value != Counts() }
        let weights = try await self.weights(on: connection, logger: logger)
        let units = try await connection.rows("""
            SELECT code, name, unit_group, parent, active FROM units WHERE \(only)::text IS NULL OR code = \(only) ORDER BY code
            """, logger: logger)
        var lines: [UnitAppraisal] = []
        var parents: [String: String] = [:]
        var names: [String: (String, UnitGroup)] = [:]
        for row in units {
            let code: String = try row.value("code")
            let group = UnitGroup(rawValue: try row.value("unit_group"))!
            if let parent = try row.value("parent", as: String?.self) { parents[code] = parent }
            names[code] = (try row.value("name"), group)
            let counts = totals[code]
            if counts == nil, !(try row.value("active", as: Bool.self)) { continue }
            let c = counts ?? Counts()
            lines.append(UnitAppraisal(unit: code, name: names[code]!.0, group: group, rank: nil, score: score(c, weights), counts: c))
        }
        var summed: [UnitAppraisal]?
        if rollup && only == nil {
            let shown = Set(lines.map(\.unit))
            summed = rolledUp(totals, parents: parents, shown: shown).filter { shown.contains($0.0) }.map { code, sum in
                UnitAppraisal(unit: code, name: names[code]!.0, group: names[code]!.1, rank: nil, score: score(sum.counts, weights),
                              counts: sum.counts, unitsSummed: sum.units)
            }
        }
        return AppraisalReport(period: period.description, revision: nil, publishedAt: nil, reason: nil, generatedAt: now,
                               weights: weights,
                               units: only != nil ? lines : ranked(lines, volume: { totals[$0]?.indicators.onTimeSign.denominator ?? 0 }),
                               rollup: summed)
    }

    /// 重复诉求 of each unit over a span: the cases filed in it that named the unit at intake.
    static func repeatComplaints(
        from start: Date, to end: Date, unit only: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await connection.rows("""
            SELECT u.unit, count(*) AS n FROM cases c, unnest(c.repeat_complaint_units) AS u (unit)
            WHERE c.repeat_complaint_units <> '{}' AND c.accepted_at >= \(start) AND c.accepted_at < \(end)
              AND (\(only)::text IS NULL OR u.unit = \(only))
            GROUP BY u.unit
            """, logger: logger) {
            out[try row.value("unit")] = try row.value("n")
        }
        return out
    }

    /// Each unit that has units below it, with its own figures and theirs added, numerator to
    /// numerator and denominator to denominator (API.md). A visit that counts for the unit that
    /// wrote the reply and for a parent that approved it counts in the parent's sum for both:
    /// the roll-up adds lines, it does not recount cases. In unit code order.
    /// `units` counts the units the ranking shows (active, or with figures of the period).
    static func rolledUp(
        _ totals: [String: Counts], parents: [String: String], shown: Set<String>
    ) -> [(String, (counts: Counts, units: Int))] {
        var sums: [String: (counts: Counts, units: Int)] = [:]
        for code in Set(parents.keys).union(parents.values) {
            var above = parents[code]
            while let parent = above {
                var sum = sums[parent] ?? (totals[parent] ?? Counts(), shown.contains(parent) ? 1 : 0)
                sum.counts = sum.counts + (totals[code] ?? Counts())
                sum.units += shown.contains(code) ? 1 : 0
                sums[parent] = sum
                above = parents[parent]
            }
        }
        return sums.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Out of 100: each rate times its weight in the scheme in force (an empty base gives the
    /// full weight), less the penalties, never below 0.
    static func score(_ counts: Counts, _ weights: AppraisalWeights) -> Double {
        let i = counts.indicators
        func share(_ indicator: Indicator) -> Double {
            indicator.denominator == 0 ? 1 : Double(indicator.numerator) / Double(indicator.denominator)
        }
        var score: Double
        switch weights.schemeInForce {
        case .default:
            score = weights.onTimeSign * share(i.onTimeSign) + weights.onTimeReply * share(i.onTimeReply)
                + weights.resolution * share(i.resolution) + weights.satisfaction * share(i.satisfaction)
        case .threeRates:
            let three = weights.threeRates ?? ThreeRatesWeights(response: 20, resolution: 40, satisfaction: 40)
            score = three.response * share(i.response) + three.resolution * share(i.resolution)
                + three.satisfaction * share(i.satisfaction)
        }
        score -= weights.unreasonableReturn * Double(counts.unreasonableReturns) + weights.escalation * Double(counts.escalations)
        return (max(score, 0) * 100).rounded() / 100
    }

    /// Ranks within each group: by score; ties go to the higher satisfaction rate, then the
    /// larger volume; units equal on all three share a rank.
    static func ranked(_ lines: [UnitAppraisal], volume: (String) -> Int) -> [UnitAppraisal] {
        func key(_ line: UnitAppraisal) -> (Double, Double, Int) {
            (line.score, line.indicators.satisfaction.rate ?? -1, volume(line.unit))
        }
        var out: [UnitAppraisal] = []
        for group in UnitGroup.allCases {
            let members = lines.filter { $0.group == group }.sorted { a, b in
                let (ka, kb) = (key(a), key(b))
                return ka != kb ? ka > kb : a.unit < b.unit
            }
            for (index, var line) in members.enumerated() {
                if index > 0, key(members[index - 1]) == key(line) {
                    line.rank = out.last!.rank
                } else {
                    line.rank = index + 1
                }
                out.append(line)
            }
        }
        return out
    }
}

/// What the record says of one unit over a period.
struct Counts: Equatable {
    var indicators = Indicators()
    var unreasonableReturns = 0
    var escalations = 0
    var overdue = 0
    var sentBack = 0
    var repeatComplaints = 0

    static func + (lhs: Counts, rhs: Counts) -> Counts {
        Counts(indicators: lhs.indicators + rhs.indicators, unreasonableReturns: lhs.unreasonableReturns + rhs.unreasonableReturns,
               escalations: lhs.escalations + rhs.escalations, overdue: lhs.overdue + rhs.overdue, sentBack: lhs.sentBack + rhs.sentBack,
               repeatComplaints: lhs.repeatComplaints + rhs.repeatComplaints)
    }
}
