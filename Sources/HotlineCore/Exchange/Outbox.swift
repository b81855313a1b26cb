import Crypto
import Foundation
import Logging
import Metrics
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
    /// Another status: tried again later.
    case failed(String)
    /// No answer (refused, reset, timed out): tried again later, and the receiver's other
    /// deliveries wait for the next pass rather than each waiting out its own time limit.
    case unreachable(String)
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

    /// When a failed message (a webhook delivery, an SMS) is tried next, or nil: park it, its
    /// attempts or its age (from `since`) used up.
    func retry(afterAttempt attempts: Int, since: Date, at now: Date) -> Date? {
        guard attempts < maxAttempts, now.timeIntervalSince(since) < maxAge else { return nil }
        var random = SystemRandomNumberGenerator()
        return now.addingTimeInterval(delay(afterAttempt: attempts, using: &random)).wholeSecond
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
    /// Sends what is due, round after round while a round delivers something (a case's next
    /// delivery to a receiver is due once the one before it is acknowledged); returns how many
    /// were acknowledged. A round holds at most one delivery of each case for each receiver (the
    /// head of its queue), so deliveries of different cases may go side by side without breaking
    /// any case's order: each receiver is served by up to `lanesPerReceiver` lanes, and at most
    /// `receivers` lanes run at once (each holds a connection while it sends). A receiver that does not answer is left until the next
    /// pass, so it holds up only itself. The clock is read for each delivery.
    public static func deliverDue(
        database: Database, key: SecretsKey, policy: OutboxPolicy, limit: Int = 200, receivers: Int = 8, lanesPerReceiver: Int = 4,
        clock: @escaping @Sendable () -> Date, logger: Logger, send: @escaping @Sendable (OutboundRequest) async -> DeliveryOutcome
    ) async throws -> Int {
        var acknowledged = 0
        var failing = Set<Int64>()
        for _ in 0..<100 {
            let now = clock()
            let due = try await database.read(logger: logger) { connection in
                // A turned-off subscription's deliveries wait, queued, until it is turned on again.
                try await connection.rows("""
                    SELECT d.id, d.subscription_id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
                    WHERE d.status = 'queued' AND coalesce(d.next_attempt_at, '-infinity') <= \(now) AND s.active
                      AND NOT EXISTS (SELECT FROM deliveries e
                                      WHERE e.subscription_id = d.subscription_id AND e.case_id = d.case_id
                                        AND e.status <> 'delivered' AND e.id < d.id)
                    ORDER BY coalesce(d.next_attempt_at, '-infinity'), d.id
                    LIMIT \(limit)
                    """, logger: logger).map { (try $0.value("subscription_id", as: Int64.self), try $0.value("id", as: Int64.self)) }
            }
            // Each receiver's deliveries dealt into its lanes, in due order.
            var lanes: [Int64: [[Int64]]] = [:]
            var order: [(Int64, Int)] = []
            for (subscription, id) in due where !failing.contains(subscription) {
                var its = lanes[subscription] ?? []
                let lane = its.count < lanesPerReceiver ? its.count : its.indices.min { its[$0].count < its[$1].count }!
                if lane == its.count {
                    its.append([])
                    order.append((subscription, lane))
                }
                its[lane].append(id)
                lanes[subscription] = its
            }
            let results = try await withThrowingTaskGroup(of: (Int64, Int, Bool).self) { group in
                var results: [(Int64, Int, Bool)] = []
                var next = order.makeIterator()
                func start(_ subscription: Int64, _ lane: Int) {
                    let ids = lanes[subscription]![lane]
                    group.addTask {
                        var sent = 0
                        for id in ids {
                            let outcome: Attempt
                            do {
                                outcome = try await deliver(id, database: database, key: key, policy: policy, at: clock(),
                                                            logger: logger, send: send)
                            } catch {
                                // One delivery that cannot be prepared or recorded holds up no other receiver.
                                logger.error("webhook delivery failed", metadata: [
                                    "delivery": "\(id)", "error": "\(DatabaseFailure.loggable(error))",
                                ])
                                return (subscription, sent, true)
                            }
                            switch outcome {
                            case .acknowledged: sent += 1
                            case .skipped, .failed: continue
                            case .unreachable: return (subscription, sent, true)
                            }
                        }
                        return (subscription, sent, false)
                    }
                }
                for _ in 0..<receivers { if let (subscription, lane) = next.next() { start(subscription, lane) } }
                while let result = try await group.next() {
                    results.append(result)
                    if let (subscription, lane) = next.next() { start(subscription, lane) }
                }
                return results
            }
            var round = 0
            for (subscription, sent, failed) in results {
                round += sent
                if failed { failing.insert(subscription) }
            }
            acknowledged += round
            if round == 0 { break }
        }
        try await measure(database: database, at: clock(), logger: logger)
        return acknowledged
    }

    enum Attempt { case acknowledged, skipped, failed, unreachable }

    /// One delivery, if it is still queued, next in its case's order and no other instance has it.
    static func deliver(
        _ id: Int64, database: Database, key: SecretsKey, policy: OutboxPolicy, at now: Date, logger: Logger,
        send: @Sendable (OutboundRequest) async -> DeliveryOutcome
    ) async throws -> Attempt {
        // The body first, in a transaction of its own: what a receiver is sent is what it is
        // sent again.
        let frozen = try await database.transaction(logger: logger) { connection in
            try await freeze(id, at: now, on: connection, logger: logger)
        }
        guard frozen else { return .skipped }
        return try await database.transaction(logger: logger) { connection -> Attempt in
            // Checked again under the lock: still queued, its subscription on, nothing of its
            // case before it undelivered.
            guard let row = try await connection.row("""
                SELECT d.attempts, d.body, d.kind, coalesce(d.resent_at, d.created_at) AS since, s.id AS subscription, s.url, s.secret_sealed,
                       d.kind = 'case.transferred' AND s.system = c.transfer_service AS pushed, d.case_id
                FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN cases c ON c.id = d.case_id
                WHERE d.id = \(id) AND d.status = 'queued' AND s.active
                  AND NOT EXISTS (SELECT FROM deliveries e
                                  WHERE e.subscription_id = d.subscription_id AND e.case_id = d.case_id
                                    AND e.status <> 'delivered' AND e.id < d.id)
                FOR UPDATE OF d SKIP LOCKED
                """, logger: logger) else { return .skipped }
            let attempts = Int(try row.value("attempts", as: Int32.self)) + 1
            var body = Array(try row.value("body", as: ByteBuffer.self).readableBytesView)
            if try row.value("pushed", as: Bool?.self) == true {
                body = try await withContact(body, caseId: try row.value("case_id"), on: connection, logger: logger)
            }
            guard let secret = try? key.open(Array(try row.value("secret_sealed", as: ByteBuffer.self).readableBytesView)) else {
                // Sealed under another key: nothing can sign it until the right key is configured.
                try await park(id, attempts: attempts - 1, reason: "the secrets key cannot open this subscription's secret",
                               on: connection, logger: logger)
                logger.error("webhook delivery parked: the configured secrets key does not open its secret", metadata: ["delivery": "\(id)"])
                Counter(label: "hotline_webhook_deliveries_parked_total").increment()
                return .failed
            }
            let timestamp = String(Int(now.timeIntervalSince1970))
            let request = OutboundRequest(deliveryId: id, url: try row.value("url"), headers: [
                ("Content-Type", "application/json"), ("X-Hotline-Delivery", String(id)),
                ("X-Hotline-Event", try row.value("kind")), ("X-Hotline-Timestamp", timestamp),
                ("X-Hotline-Signature", "sha256=" + signature(secret: secret, timestamp: timestamp, body: body)),
            ], body: body)
            let outcome = await send(request)
            switch outcome {
            case .acknowledged:
                try await connection.execute("""
                    UPDATE deliveries SET status = 'delivered', attempts = \(Int32(attempts)), delivered_at = \(now), last_error = NULL
                    WHERE id = \(id)
                    """, logger: logger)
                Counter(label: "hotline_webhook_deliveries_total").increment()
                return .acknowledged
            case .gone:
                try await connection.execute("""
                    UPDATE subscriptions SET active = false, disabled_reason = 'the receiver answered 410 Gone', updated_at = \(now)
                    WHERE id = \(try row.value("subscription", as: Int64.self))
                    """, logger: logger)
                try await park(id, attempts: attempts, reason: "the receiver answered 410 Gone", on: connection, logger: logger)
                logger.warning("webhook receiver gone: subscription turned off", metadata: ["delivery": "\(id)"])
                Counter(label: "hotline_webhook_deliveries_parked_total").increment()
                return .failed
            case .failed(let reason), .unreachable(let reason):
                if let next = policy.retry(afterAttempt: attempts, since: try row.value("since"), at: now) {
                    try await connection.execute("""
                        UPDATE deliveries SET attempts = \(Int32(attempts)), next_attempt_at = \(next), last_error = \(String(reason.prefix(500)))
                        WHERE id = \(id)
                        """, logger: logger)
                    Counter(label: "hotline_webhook_retries_total").increment()
                } else {
                    try await park(id, attempts: attempts, reason: reason, on: connection, logger: logger)
                    logger.warning("webhook delivery parked", metadata: ["delivery": "\(id)", "attempts": "\(attempts)"])
                    Counter(label: "hotline_webhook_deliveries_parked_total").increment()
                }
                if case .unreachable = outcome { return .unreachable }
                return .failed
            }
        }
    }

    /// A transfer pushed to 110 (119, 120, 122) carries the caller's contact (系统推送, DOMAIN
    /// §14), recorded as a reveal when the case was transferred. It is read from the case at each
    /// send, never kept in the outbox: the frozen body with `"contact"` added as its last member.
    static func withContact(_ body: [UInt8], caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [UInt8] {
        let row = try await connection.row("SELECT name, phone FROM case_contacts WHERE case_id = \(caseId)", logger: logger)
        let contact = RevealedContact(name: try row?.value("name", as: String?.self), phone: try row?.value("phone", as: String?.self))
        guard body.last == UInt8(ascii: "}") else { return body }
        return body.dropLast() + Array(",\"contact\":".utf8) + Array(try APIJSON.encoder.encode(contact)) + [UInt8(ascii: "}")]
    }

    /// The outbox's gauges: how many deliveries wait, how many are parked, and the age of the
    /// oldest not yet delivered.
    static func measure(database: Database, at now: Date, logger: Logger) async throws {
        let row = try await database.read(logger: logger) { connection in
            try await connection.row("""
                SELECT count(*) FILTER (WHERE status = 'queued') AS queued, count(*) FILTER (WHERE status = 'parked') AS parked,
                       min(created_at) AS oldest
                FROM deliveries WHERE status <> 'delivered'
                """, logger: logger)!
        }
        Gauge(label: "hotline_webhook_deliveries_queued").record(try row.value("queued", as: Int.self))
        Gauge(label: "hotline_webhook_deliveries_parked").record(try row.value("parked", as: Int.self))
        let oldest = try row.value("oldest", as: Date?.self)
        Gauge(label: "hotline_webhook_oldest_undelivered_seconds").record(oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0)
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
            SELECT d.body IS NOT NULL AS frozen, d.kind, e.at, d.case_id, s.unit_code, s.system
            FROM deliveries d JOIN case_events e ON e.id = d.event_id JOIN subscriptions s ON s.id = d.subscription_id
            WHERE d.id = \(id) AND d.status = 'queued'
            FOR UPDATE OF d SKIP LOCKED
            """, logger: logger) else { return false }
        if try row.value("frozen", as: Bool.self) { return true }
        let unit: String? = try row.value("unit_code")
        let system: String? = try row.value("system")
        let handle = try await CaseAccess.find(id: try row.value("case_id"), on: connection, logger: logger)
        // The subscription reads as a handler of its unit would; one of an outside system as
        // that system's exchange client; without either, as an assisting unit of none. The last
        // two see no identity and no unit's own notes (a push to 110 has the contact spliced in
        // at send time, `deliver`).
        let reader = system.map { Staff(id: 0, role: .exchange, unit: nil, system: $0) } ?? Staff(id: 0, role: .handler, unit: unit)
        var sight = Sight.otherUnit
        if let unit, let unitSight = try await CaseAccess.sight(of: handle, unit: unit, on: connection, logger: logger) {
            sight = unitSight
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
