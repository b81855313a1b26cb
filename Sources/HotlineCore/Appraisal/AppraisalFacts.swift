import Foundation
import Logging
import PostgresNIO

/// The figures of consecutive whole months as the database keeps them (sql/0022): each unit's
/// settled sums of the months, written in the transactions that changed the record, and what
/// the deadlines still running say at `now`. What `AppraisalRecord.counts` recounts from the
/// whole record, read instead: the cost follows the period and the open cases, not the history.
enum AppraisalFacts {
    static func counts(
        _ months: [Period], unit only: String? = nil, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: Counts] {
        guard let first = months.first, let last = months.last else { return [:] }
        let (start, end) = (first.start, last.end)
        var counts: [String: Counts] = [:]
        for row in try await connection.rows("""
            SELECT unit, sum(sign_num)::int8 AS sign_num, sum(sign_den)::int8 AS sign_den,
                   sum(response_num)::int8 AS response_num, sum(response_den)::int8 AS response_den,
                   sum(reply_num)::int8 AS reply_num, sum(reply_den)::int8 AS reply_den, sum(rated)::int8 AS rated,
                   sum(satisfied)::int8 AS satisfied, sum(resolved)::int8 AS resolved, sum(reopens)::int8 AS reopens,
                   sum(replies)::int8 AS replies, sum(rejected_returns)::int8 AS rejected_returns,
                   sum(escalations)::int8 AS escalations, sum(sent_back)::int8 AS sent_back, sum(overdue)::int8 AS overdue
            FROM (
                SELECT * FROM appraisal_sums
                WHERE month >= appraisal_month(\(start)) AND month < appraisal_month(\(end))
                  AND (\(only)::text IS NULL OR unit = \(only))
                UNION ALL
                SELECT * FROM appraisal_running_figures(\(start), \(end), \(now), \(only))
                WHERE \(only)::text IS NULL OR unit = \(only)
            ) x
            GROUP BY unit
            """, logger: logger) {
            func value(_ column: String) throws -> Int { try row.value(column, as: Int.self) }
            var c = Counts()
            c.indicators.onTimeSign = Indicator(numerator: try value("sign_num"), denominator: try value("sign_den"))
            c.indicators.response = Indicator(numerator: try value("response_num"), denominator: try value("response_den"))
            c.indicators.onTimeReply = Indicator(numerator: try value("reply_num"), denominator: try value("reply_den"))
            c.indicators.satisfaction = Indicator(numerator: try value("satisfied"), denominator: try value("rated"))
            c.indicators.resolution = Indicator(numerator: try value("resolved"), denominator: try value("rated"))
            c.indicators.reopen = Indicator(numerator: try value("reopens"), denominator: try value("replies"))
            c.unreasonableReturns = try value("rejected_returns")
            c.escalations = try value("escalations")
            c.sentBack = try value("sent_back")
            c.overdue = try value("overdue")
            counts[try row.value("unit", as: String.self)] = c
        }
        return counts
    }
}
