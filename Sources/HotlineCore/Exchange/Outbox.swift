import Crypto
import Foundation
import Logging
import PostgresNIO

/// One webhook POST, signed, as the deliverer hands it to the HTTP client.
public struct OutboundRequest: Sendable {
    public let deliveryId: Int64
    public let url: String
    public let headers: [(String, String)]
    public let body: [UInt8]
}

/// What a receiver answered.
public enum DeliveryOutcome: Sendable, Equatable {
    /// A 2xx: acknowledged.
    case acknowledged
    /// 410 Gone: the receiver is no more; its subscription is turned off.
    case gone
    /// Anything else (another status, a timeout, a reset): tried again later.
    case failed(String)
}

/// How hard the deliverer tries before it parks a delivery.
public struct OutboxPolicy: Sendable {
    public var maxAttempts: Int
    public var maxAge: TimeInterval
    public var firstRetry: TimeInterval
    public var longestRetry: TimeInterval

    public init(maxAttempts: Int = 10, maxAge: TimeInterval = 86_400, firstRetry: TimeInterval = 30, longestRetry: TimeInterval = 3600) {
        (self.maxAttempts, self.maxAge, self.firstRetry, self.longestRetry) = (maxAttempts, maxAge, firstRetry, longestRetry)
    }

    /// Exponential back-off with full jitter: somewhere up to first × 2^(attempts − 1), capped.
    func delay(afterAttempt attempts: Int, using random: inout some RandomNumberGenerator) -> TimeInterval {
        let ceiling = min(longestRetry, firstRetry * pow(2, Double(max(attempts - 1, 0))))
        return Double.random(in: (ceiling / 2)...ceiling, using: &random)
    }
}

/// The transactional outbox (DOMAIN §14). Deliveries are made by the database as each change
/// commits (sql/0018_outbox.sql); this sends them. A delivery is locked (`SKIP LOCKED`) by the
/// instance sending it for as long as it is being sent, so instances never send one at once;
/// its body is frozen and committed before the first send, so a repeat carries the same id and
/// body; a case's deliveries to one receiver go in order, and a parked one holds the rest.
public enum Outbox {
    /// Sends what is due, up to `limit` a round, round after round while each delivers something
    /// (a case's next delivery to a receiver is due once the one before it is acknowledged);
    /// returns how many were acknowledged.
    public static func deliverDue(
        database: Database, key: SecretsKey, policy: OutboxPolicy, limit: Int = 50, at now: Date, logger: Logger,
        send: @Sendable (OutboundRequest) async -> DeliveryOutcome
    ) async throws -> Int {
        var acknowledged = 0
        for _ in 0..<100 {
            let due = try await database.read(logger: logger) { connection in
                try await connection.rows("""
                    SELECT d.id FROM deliveries d
                    WHERE d.status = 'queued' AND coalesce(d.next_attempt_at, '-infinity') <= \(now)
                      AND NOT EXISTS (SELECT FROM deliveries e
                                      WHERE e.subscription_id = d.subscription_id AND e.case_id = d.case_id
                                        AND e.status <> 'delivered' AND e.id < d.id)
                    ORDER BY coalesce(d.next_attempt_at, '-infinity'), d.id
                    LIMIT \(limit)
                    """, logger: logger).map { try $0.value("id", as: Int64.self) }
            }
            var round = 0
            for id in due {
                do {
                    if try await deliver(id, database: database, key: key, policy: policy, at: now, logger: logger, send: send) {
                        round += 1
                    }
                } catch {
                    // One delivery that cannot be prepared or recorded holds up no other.
                    logger.error("webhook delivery failed", metadata: ["delivery": "\(id)", "error": "\(DatabaseFailure.loggable(error))"])
                }
            }
            acknowledged += round
            if round == 0 { break }
        }
        return acknowledged
    }

    /// One delivery, if it is still queued and no other instance has it; true if acknowledged.
    static func deliver(
        _ id: Int64, database: Database, key: SecretsKey, policy: OutboxPolicy, at now: Date, logger: Logger,
        send: @Sendable (OutboundRequest) async -> DeliveryOutcome
    ) async throws -> Bool {
        // The body first, in a transaction of its own: what a receiver is sent is what it is
        // sent again.
        let frozen = try await database.transaction(logger: logger) { connection in
            try await freeze(id, at: now, on: connection, logger: logger)
        }
        guard frozen else { return false }
        return try await database.transaction(logger: logger) { connection -> Bool in
            guard let row = try await connection.row("""
                SELECT d.attempts, d.body, d.kind, d.created_at, s.id AS subscription, s.url, s.secret_sealed, s.active
                FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
                WHERE d.id = \(id) AND d.status = 'queued'
                FOR UPDATE OF d SKIP LOCKED
                """, logger: logger) else { return false }  // another instance has it
            let attempts = Int(try row.value("attempts", as: Int32.self)) + 1
            guard try row.value("active", as: Bool.self) else {
                try await park(id, attempts: attempts - 1, reason: "the subscription is turned off", on: connection, logger: logger)
                return false
            }
            let body = Array(try row.value("body", as: ByteBuffer.self).readableBytesView)
            let secret = try key.open(Array(try row.value("secret_sealed", as: ByteBuffer.self).readableBytesView))
            let timestamp = String(Int(now.timeIntervalSince1970))
            let request = OutboundRequest(deliveryId: id, url: try row.value("url"), headers: [
                ("Content-Type", "application/json"), ("X-Hotline-Delivery", String(id)),
                ("X-Hotline-Event", try row.value("kind")), ("X-Hotline-Timestamp", timestamp),
                ("X-Hotline-Signature", "sha256=" + signature(secret: secret, timestamp: timestamp, body: body)),
            ], body: body)
            switch await send(request) {
            case .acknowledged:
                try await connection.execute("""
                    UPDATE deliveries SET status = 'delivered', attempts = \(Int32(attempts)), delivered_at = \(now), last_error = NULL
                    WHERE id = \(id)
                    """, logger: logger)
                return true
            case .gone:
                try await connection.execute("""
                    UPDATE subscriptions SET active = false, disabled_reason = 'the receiver answered 410 Gone', updated_at = \(now)
                    WHERE id = \(try row.value("subscription", as: Int64.self))
                    """, logger: logger)
                try await park(id, attempts: attempts, reason: "the receiver answered 410 Gone", on: connection, logger: logger)
                logger.warning("webhook receiver gone: subscription turned off", metadata: ["delivery": "\(id)"])
                return false
            case .failed(let reason):
                let age = now.timeIntervalSince(try row.value("created_at", as: Date.self))
                if attempts >= policy.maxAttempts || age >= policy.maxAge {
                    try await park(id, attempts: attempts, reason: reason, on: connection, logger: logger)
                    logger.warning("webhook delivery parked", metadata: ["delivery": "\(id)", "attempts": "\(attempts)"])
                } else {
                    var random = SystemRandomNumberGenerator()
                    let next = now.addingTimeInterval(policy.delay(afterAttempt: attempts, using: &random)).wholeSecond
                    try await connection.execute("""
                        UPDATE deliveries SET attempts = \(Int32(attempts)), next_attempt_at = \(next), last_error = \(String(reason.prefix(500)))
                        WHERE id = \(id)
                        """, logger: logger)
                }
                return false
            }
        }
    }

    /// HMAC-SHA256 of "timestamp.body" with the subscription's secret, in hex (API.md).
    public static func signature(secret: [UInt8], timestamp: String, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        mac.update(data: Array(timestamp.utf8) + [UInt8(ascii: ".")])
        mac.update(data: body)
        return Hex.string(mac.finalize())
    }

    static func park(_ id: Int64, attempts: Int, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("""
            UPDATE deliveries SET status = 'parked', attempts = \(Int32(attempts)), last_error = \(String(reason.prefix(500)))
            WHERE id = \(id)
            """, logger: logger)
    }

    /// Writes the delivery's body if it has none yet: the event and the case as the
    /// subscription's unit may see it (DOMAIN §10, §14). False if it is no longer queued or
    /// another instance holds it.
    static func freeze(_ id: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard let row = try await connection.row("""
            SELECT d.body IS NOT NULL AS frozen, d.kind, e.at, d.case_id, s.unit_code
            FROM deliveries d JOIN case_events e ON e.id = d.event_id JOIN subscriptions s ON s.id = d.subscription_id
            WHERE d.id = \(id) AND d.status = 'queued'
            FOR UPDATE OF d SKIP LOCKED
            """, logger: logger) else { return false }
        if try row.value("frozen", as: Bool.self) { return true }
        let unit: String? = try row.value("unit_code")
        let handle = try await CaseAccess.find(id: try row.value("case_id"), on: connection, logger: logger)
        // The subscription reads as a handler of its unit would; without a unit, as an
        // assisting unit does: no identity at all.
        let reader = Staff(id: 0, role: .handler, unit: unit)
        var sight = Sight.otherUnit
        if unit != nil, let opened = try? await CaseAccess.open(handle.number, for: reader, on: connection, logger: logger) {
            sight = opened.1
        }
        let view = try await CaseQueries.view(handle, sight: sight, viewer: reader, at: now, on: connection, logger: logger)
        let body = WebhookBody(id: id, kind: try row.value("kind"), at: try row.value("at"), case: view)
        let bytes = Array(try APIJSON.encoder.encode(body))
        try await connection.execute("UPDATE deliveries SET body = \(ByteBuffer(bytes: bytes)) WHERE id = \(id)", logger: logger)
        return true
    }

    struct WebhookBody: Encodable {
        let id: Int64
        let kind: String
        let at: Date
        let `case`: CaseView
    }
}
