import Foundation
import Logging
import PostgresNIO

/// What /health/ready reports.
public struct Readiness: Codable, Sendable {
    public var status: String
    public var reasons: [String]
    public var calendarCoveredUntil: String?

    public init(status: String, reasons: [String], calendarCoveredUntil: String?) {
        self.status = status
        self.reasons = reasons
        self.calendarCoveredUntil = calendarCoveredUntil
    }

    enum CodingKeys: String, CodingKey {
        case status, reasons
        case calendarCoveredUntil = "calendar_covered_until"
    }
}

public enum Health {
    /// Ready when the database answers and its schema is current; degraded (still serving)
    /// when the calendar ends within 60 days, since deadlines past it are provisional.
    public static func readiness(
        migrator: Migrator, database: Database, now: Date, logger: Logger
    ) async throws -> Readiness {
        let pending = try await migrator.pending(client: database.client, logger: logger)
        if !pending.isEmpty {
            return Readiness(status: "not_ready", reasons: ["migrations pending: " + pending.map(\.name).joined(separator: ", ")], calendarCoveredUntil: nil)
        }
        let calendar = try await database.read(logger: logger) { try await CalendarStore.load(on: $0, logger: logger) }
        let today = LocalDate(now)
        let end = calendar.coverageEnd(from: today)
        var reasons: [String] = []
        if let end {
            if end.dayNumber - today.dayNumber < 60 {
                reasons.append("the working-day calendar ends on \(end); load the next year (deadlines after it are provisional)")
            }
        } else {
            reasons.append("no working-day calendar is loaded for \(today.year); deadlines are provisional")
        }
        return Readiness(status: reasons.isEmpty ? "ready" : "degraded", reasons: reasons,
                         calendarCoveredUntil: end?.description)
    }
}
