import Foundation
import Logging

/// What the sweep removes besides supervising: replay records past their retention (DOMAIN
/// §13: records expire) and rate-limit counts and lookup locks that no longer count.
public struct Housekeeping: Sendable {
    public let idempotencyRetention: Duration
    public let publicLimits: PublicLimits

    public init(idempotencyRetention: Duration, publicLimits: PublicLimits) {
        self.idempotencyRetention = idempotencyRetention
        self.publicLimits = publicLimits
    }

    /// Returns how many rows went.
    @discardableResult
    public func run(database: Database, at now: Date, logger: Logger) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Double(idempotencyRetention.components.seconds))
        var removed = 0
        while true {
            let batch = try await database.transaction(logger: logger) { connection in
                try await Idempotency.expire(before: cutoff, on: connection, logger: logger)
            }
            removed += batch
            if batch == 0 { break }
        }
        removed += try await database.transaction(logger: logger) { connection in
            try await RateLimits.expire(at: now, limits: publicLimits, on: connection, logger: logger)
        }
        try await HotspotDays.keep(database: database, at: now, logger: logger)
        return removed
    }
}
