import Foundation
import Logging
import PostgresNIO

/// The center's own figures beside the units' (DOMAIN §9).
public struct Overview: Codable, Sendable, Equatable {
    public struct Count: Codable, Sendable, Equatable {
        public var key: String
        public var name: String?
        public var count: Int
    }

    public var period: String
    public var accepted: Int
    public var byType: [Count]
    public var byChannel: [Count]
    public var byCategory: [Count]
    public var byRegion: [Count]
    /// Consultations answered on the spot from the knowledge base, of consultations accepted.
    public var directAnswer: Indicator
    /// Return visits made by their deadline, of visit deadlines falling in the period.
    public var visitsOnTime: Indicator
    public var overdueCases: Int
    public var escalations: Int
    /// Repeat calls (DOMAIN §15): cases filed from a phone that filed others in the 30 days
    /// before, and calls about an open case added to it as supplements.
    public var repeatCalls: Int

    enum CodingKeys: String, CodingKey {
        case period, accepted, escalations
        case repeatCalls = "repeat_calls"
        case byType = "by_type"
        case byChannel = "by_channel"
        case byCategory = "by_category"
        case byRegion = "by_region"
        case directAnswer = "direct_answer"
        case visitsOnTime = "visits_on_time"
        case overdueCases = "overdue_cases"
    }
}

public enum Statistics {
    public static func overview(
        _ period: Period, for staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Overview {
        try staff.require(.operator, .dispatcher, .manager, .supervisor)
        let (start, end) = (period.start, period.end)
        func counts(_ column: String, names: String? = nil) async throws -> [Overview.Count] {
            let join = names.map { "LEFT JOIN \($0) n ON n.code = c.\(column)" } ?? ""
            let name = names == nil ? "NULL::text" : "n.name"
            return try await connection.rows("""
                SELECT c.\(unescaped: column) AS key, \(unescaped: name) AS name, count(*) AS n
                FROM cases c \(unescaped: join)
                WHERE c.accepted_at >= \(start) AND c.accepted_at < \(end) AND c.\(unescaped: column) IS NOT NULL
                GROUP BY 1, 2 ORDER BY 3 DESC, 1
                """, logger: logger).map { row in
                Overview.Count(key: try row.value("key"), name: try row.value("name"), count: try row.value("n"))
            }
        }
        let byType = try await counts("case_type")
        let direct = try await connection.row("""
            SELECT count(*) FILTER (WHERE closure = 'direct_answer') AS num, count(*) AS den FROM cases
            WHERE accepted_at >= \(start) AND accepted_at < \(end) AND case_type = 'consultation'
            """, logger: logger)!
        let late = AppraisalRecord.late(now)
        let visits = try await connection.row("""
            SELECT count(*) FILTER (WHERE \(unescaped: AppraisalRecord.onTime)) AS num,
                   count(*) FILTER (WHERE \(unescaped: AppraisalRecord.onTime) OR \(unescaped: late)) AS den
            FROM deadlines d
            WHERE d.step = 'visit' AND d.due_at >= \(start) AND d.due_at < \(end) AND \(unescaped: AppraisalRecord.kept("d"))
            """, logger: logger)!
        let overdue = try await connection.row("""
            SELECT count(DISTINCT d.case_id) AS n FROM deadlines d
            WHERE d.step IN ('sign', 'opinion', 'reply') AND d.due_at >= \(start) AND d.due_at < \(end)
              AND \(unescaped: late) AND \(unescaped: AppraisalRecord.kept("d"))
            """, logger: logger)!.value("n", as: Int.self)
        let escalations = try await connection.row("""
            SELECT count(*) AS n FROM escalations e
            WHERE e.escalated_at >= \(start) AND e.escalated_at < \(end) AND \(unescaped: AppraisalRecord.kept("e"))
            """, logger: logger)!.value("n", as: Int.self)
        let repeats = try await connection.row("""
            SELECT (SELECT count(*) FROM cases
                    WHERE repeat_of <> '{}' AND accepted_at >= \(start) AND accepted_at < \(end))
                 + (SELECT count(*) FROM supplements WHERE recorded_at >= \(start) AND recorded_at < \(end)) AS n
            """, logger: logger)!.value("n", as: Int.self)
        return Overview(
            period: period.description,
            accepted: byType.reduce(0) { $0 + $1.count },
            byType: byType,
            byChannel: try await counts("channel"),
            byCategory: try await counts("category", names: "categories"),
            byRegion: try await counts("region", names: "units"),
            directAnswer: try AppraisalRecord.indicator(direct),
            visitsOnTime: try AppraisalRecord.indicator(visits),
            overdueCases: overdue,
            escalations: escalations,
            repeatCalls: repeats
        )
    }
}
