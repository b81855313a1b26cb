import Logging
import PostgresNIO

/// One line of the review policy: whether the center reviews the replies of cases of this type
/// and urgency before they reach the citizen (DOMAIN §5b).
public struct ReviewRule: Codable, Sendable, Equatable {
    public var type: CaseType
    public var urgency: Urgency
    public var centerReviews: Bool

    public init(type: CaseType, urgency: Urgency, centerReviews: Bool) {
        self.type = type
        self.urgency = urgency
        self.centerReviews = centerReviews
    }

    enum CodingKeys: String, CodingKey {
        case type, urgency
        case centerReviews = "center_reviews"
    }
}

/// The center's review policy, a table by case type × urgency that a manager edits (default:
/// complaints and reports reviewed). Passed-down replies are reviewed by their parent whatever it says.
public enum ReviewPolicy {
    public static func list(for staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> [ReviewRule] {
        try staff.require(.operator, .dispatcher, .manager, .supervisor)
        return try await connection.rows("""
            SELECT case_type, urgency, center_reviews FROM review_policy
            ORDER BY array_position(ARRAY['consultation','help','complaint','report','suggestion'], case_type), urgency
            """, logger: logger).map { row in
            ReviewRule(type: CaseType(rawValue: try row.value("case_type"))!, urgency: Urgency(rawValue: try row.value("urgency"))!,
                       centerReviews: try row.value("center_reviews"))
        }
    }

    /// Replaces the lines given (each type × urgency once); lines not given stay.
    public static func update(
        _ rules: [ReviewRule], by staff: Staff, on connection: PostgresConnection, logger: Logger
    ) async throws -> [ReviewRule] {
        try staff.require(.manager)
        var checker = FieldChecker()
        var seen = Set<String>()
        for (index, rule) in rules.enumerated() where !seen.insert("\(rule.type)/\(rule.urgency)").inserted {
            checker.fail("items[\(index)]", "repeats a type and urgency given before")
        }
        if rules.isEmpty { checker.fail("items", "give at least one line") }
        try checker.check()
        for rule in rules {
            try await connection.execute("""
                UPDATE review_policy SET center_reviews = \(rule.centerReviews)
                WHERE case_type = \(rule.type.rawValue) AND urgency = \(rule.urgency.rawValue)
                """, logger: logger)
        }
        return try await list(for: staff, on: connection, logger: logger)
    }

    static func centerReviews(_ handle: CaseHandle, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.row("""
            SELECT center_reviews FROM review_policy WHERE case_type = \(handle.type.rawValue) AND urgency = \(handle.urgency.rawValue)
            """, logger: logger)?.value("center_reviews", as: Bool.self) ?? false
    }
}
