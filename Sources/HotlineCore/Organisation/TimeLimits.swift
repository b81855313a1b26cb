import Logging
import PostgresNIO

/// The steps that have a time limit (DOMAIN §6).
public enum LimitStep: String, Vocabulary {
    case sign, reply
    case returnWindow = "return_window"
    case `extension`, opinion, visit
    case reopenReply = "reopen_reply"
    /// A passed-down assignment's own steps (DOMAIN §5a), each capped inside its parent's.
    case passedDownSign = "passed_down_sign"
    case passedDownReply = "passed_down_reply"
    case passedDownOpinion = "passed_down_opinion"
    /// Each level's review of a reply (§5b), and the reply owed after a send-back.
    case review
    case sendBackReply = "send_back_reply"
    case firstContact = "first_contact"
}

public enum LimitUnit: String, Vocabulary {
    case workingDays = "working_days"
    case hours, minutes
}

/// A time limit: so many working days, or hours or minutes of natural time.
public struct Limit: Codable, Sendable, Equatable {
    public var amount: Int
    public var unit: LimitUnit

    public init(amount: Int, unit: LimitUnit) {
        self.amount = amount
        self.unit = unit
    }
}

/// One row of the time-limit table: type × urgency × step.
public struct TimeLimit: Codable, Sendable, Equatable {
    public var type: CaseType
    public var urgency: Urgency
    public var step: LimitStep
    public var amount: Int
    public var unit: LimitUnit

    public init(type: CaseType, urgency: Urgency, step: LimitStep, amount: Int, unit: LimitUnit) {
        self.type = type
        self.urgency = urgency
        self.step = step
        self.amount = amount
        self.unit = unit
    }
}

/// A category's override of a limit, for one urgency.
public struct CategoryTimeLimit: Codable, Sendable, Equatable {
    public var urgency: Urgency
    public var step: LimitStep
    public var amount: Int
    public var unit: LimitUnit

    public init(urgency: Urgency, step: LimitStep, amount: Int, unit: LimitUnit) {
        self.urgency = urgency
        self.step = step
        self.amount = amount
        self.unit = unit
    }
}

/// The time-limit table: defaults of DOMAIN §6 shipped by the migration, edited by managers.
public enum TimeLimits {
    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [TimeLimit] {
        try await connection.rows("""
            SELECT case_type, urgency, step, amount, unit FROM time_limits
            ORDER BY array_position(ARRAY['consultation','help','complaint','report','suggestion'], case_type),
                     urgency, array_position(ARRAY['sign','reply','return_window','extension','opinion','visit','reopen_reply',
                                           'passed_down_sign','passed_down_reply','passed_down_opinion','review','send_back_reply',
                                           'first_contact'], step)
            """, logger: logger).map { row in
            TimeLimit(
                type: CaseType(rawValue: try row.value("case_type"))!,
                urgency: Urgency(rawValue: try row.value("urgency"))!,
                step: LimitStep(rawValue: try row.value("step"))!,
                amount: try row.value("amount"),
                unit: LimitUnit(rawValue: try row.value("unit"))!
            )
        }
    }

    /// Replaces the rows given (each type × urgency × step once); rows not given stay.
    public static func update(_ limits: [TimeLimit], on connection: PostgresConnection, logger: Logger) async throws -> [TimeLimit] {
        var checker = FieldChecker()
        var seen = Set<String>()
        for (index, limit) in limits.enumerated() {
            check(Limit(amount: limit.amount, unit: limit.unit), step: limit.step, field: "[\(index)]", into: &checker)
            if !seen.insert("\(limit.type)/\(limit.urgency)/\(limit.step)").inserted {
                checker.fail("[\(index)]", "repeats a type, urgency and step given before")
            }
        }
        if limits.isEmpty { checker.fail("", "give at least one limit") }
        try checker.check()
        for limit in limits {
            try await connection.execute("""
                UPDATE time_limits SET amount = \(limit.amount), unit = \(limit.unit.rawValue)
                WHERE case_type = \(limit.type.rawValue) AND urgency = \(limit.urgency.rawValue) AND step = \(limit.step.rawValue)
                """, logger: logger)
        }
        return try await list(on: connection, logger: logger)
    }

    /// The limits that apply to a case: the nearest override up the category tree (the case's
    /// own category, then its parents, as routing is inherited), else the table's.
    public static func resolve(
        type: CaseType, urgency: Urgency, category: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [LimitStep: Limit] {
        let rows = try await connection.rows("""
            WITH RECURSIVE cats (code, depth) AS (
                SELECT \(category)::text, 0
                UNION ALL
                SELECT c.parent, cats.depth + 1 FROM categories c JOIN cats ON c.code = cats.code WHERE c.parent IS NOT NULL
            )
            SELECT t.step, coalesce(o.amount, t.amount) AS amount, coalesce(o.unit, t.unit) AS unit
            FROM time_limits t
            LEFT JOIN LATERAL (
                SELECT c.amount, c.unit FROM category_time_limits c JOIN cats ON cats.code = c.category
                WHERE c.urgency = t.urgency AND c.step = t.step
                ORDER BY cats.depth LIMIT 1
            ) o ON true
            WHERE t.case_type = \(type.rawValue) AND t.urgency = \(urgency.rawValue)
            """, logger: logger)
        var limits: [LimitStep: Limit] = [:]
        for row in rows {
            limits[LimitStep(rawValue: try row.value("step"))!] = Limit(
                amount: try row.value("amount"), unit: LimitUnit(rawValue: try row.value("unit"))!
            )
        }
        return limits
    }

    /// An extension is counted in working days and may be 0 (none allowed); every other limit is
    /// at least one of its unit, and at most a year.
    static func check(_ limit: Limit, step: LimitStep, field: String, into checker: inout FieldChecker) {
        if step == .extension {
            if limit.unit != .workingDays { checker.fail(field, "an extension is counted in working_days") }
            if !(0...250).contains(limit.amount) { checker.fail(field, "amount must be 0–250 working days") }
            return
        }
        let most = switch limit.unit {
        case .workingDays: 250
        case .hours: 24 * 365
        case .minutes: 60 * 24 * 365
        }
        if !(1...most).contains(limit.amount) {
            checker.fail(field, "amount must be 1–\(most) \(limit.unit.rawValue)")
        }
    }
}
