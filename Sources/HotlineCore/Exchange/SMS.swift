import Crypto
import Foundation
import Logging
import Metrics
import PostgresNIO

/// Where SMS go: a gateway reached over HTTP (DOMAIN §14). Its key is a secret of the
/// configuration, sent as a bearer token and never logged.
public struct SMSGateway: Sendable {
    public var url: String
    public var key: String
    /// The service's public address, for the links an SMS carries (the lookup, the survey).
    public var publicURL: String
    /// The most SMS one phone is sent in a day (Asia/Shanghai); the rest wait for the next day.
    public var dailyCap: Int

    public init(url: String, key: String, publicURL: String, dailyCap: Int = 5) {
        (self.url, self.key, self.publicURL, self.dailyCap) = (url, key, publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL, dailyCap)
    }
}

/// The SMS outbox. Messages are queued by the database as each change commits
/// (sql/0021_sms.sql) with no phone number in them; this sends them. A message is locked while
/// it is sent (`SKIP LOCKED`), so instances never send one at once; the recipient's phone is
/// read at that moment; a failure is retried as a webhook delivery is, then parked.
public enum SMSOutbox {
    /// Quiet hours (Asia/Shanghai): nothing but urgent cases' SMS from 22:00 to 08:00.
    static let quietFrom = 22, quietUntil = 8
    static let shanghai: TimeInterval = 8 * 3600

    /// How long a survey link may be used.
    static let ratingLinkLifetime: TimeInterval = 7 * 86_400

    /// One pass: the yellow cards that fell since the last, then every message due. Returns
    /// how many the gateway accepted.
    public static func sendDue(
        database: Database, gateway: SMSGateway, key: SecretsKey, policy: OutboxPolicy, limit: Int = 200,
        clock: @escaping @Sendable () -> Date, logger: Logger, send: @escaping @Sendable (OutboundRequest) async -> DeliveryOutcome
    ) async throws -> Int {
        try await database.transaction(logger: logger) { connection in
            try await queueSignWarnings(at: clock(), on: connection, logger: logger)
        }
        var sent = 0
        for _ in 0..<100 {
            let now = clock()
            let due = try await database.read(logger: logger) { connection in
                try await connection.rows("""
                    SELECT id FROM sms_messages
                    WHERE status = 'queued' AND coalesce(next_attempt_at, '-infinity') <= \(now)
                    ORDER BY coalesce(next_attempt_at, '-infinity'), id LIMIT \(limit)
                    """, logger: logger).map { try $0.value("id", as: Int64.self) }
            }
            var round = 0
            for id in due {
                do {
                    if try await sendOne(id, database: database, gateway: gateway, key: key, policy: policy, at: clock(),
                                         logger: logger, send: send) { round += 1 }
                } catch {
                    logger.error("sms failed", metadata: ["sms": "\(id)", "error": "\(DatabaseFailure.loggable(error))"])
                }
            }
            sent += round
            if due.count < limit { break }
        }
        let queued = try await database.read(logger: logger) { connection in
            try await connection.row("SELECT count(*) AS n FROM sms_messages WHERE status = 'queued'", logger: logger)!.value("n", as: Int.self)
        }
        Gauge(label: "hotline_sms_queued").record(queued)
        return sent
    }

    /// 黄牌: a sign deadline whose warning time has passed, still unsigned, reminds its unit's
    /// liaison once (the unique key on the deadline).
    static func queueSignWarnings(at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("""
            INSERT INTO sms_messages (kind, case_id, deadline_id, unit_code, urgent, created_at)
            SELECT 'sign_warning', d.case_id, d.id, d.unit_code, c.urgency = 'urgent', \(now)
            FROM deadlines d JOIN cases c ON c.id = d.case_id, sms_templates t
            WHERE d.step = 'sign' AND d.met_at IS NULL AND d.closed_at IS NULL AND d.warn_at <= \(now) AND d.due_at > \(now)
              AND t.kind = 'sign_warning' AND t.enabled
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// One message, if it is still queued and no other instance has it. True when sent.
    static func sendOne(
        _ id: Int64, database: Database, gateway: SMSGateway, key: SecretsKey, policy: OutboxPolicy, at now: Date,
        logger: Logger, send: @Sendable (OutboundRequest) async -> DeliveryOutcome
    ) async throws -> Bool {
        try await database.transaction(logger: logger) { connection -> Bool in
            guard let row = try await connection.row("""
                SELECT m.kind, m.case_id, m.unit_code, m.urgent, m.attempts, m.created_at, m.deadline_id,
                       c.number, c.anonymous, c.status, c.reply_id, t.body,
                       CASE WHEN m.unit_code IS NULL THEN cc.phone ELSE l.phone END AS phone,
                       coalesce(u.name, ru.name) AS unit_name, d.due_at,
                       EXISTS (SELECT FROM sms_messages n WHERE n.case_id = m.case_id AND n.kind = m.kind AND n.id > m.id) AS superseded
                FROM sms_messages m JOIN cases c ON c.id = m.case_id JOIN sms_templates t ON t.kind = m.kind
                LEFT JOIN case_contacts cc ON cc.case_id = m.case_id
                LEFT JOIN unit_liaisons l ON l.unit_code = m.unit_code
                LEFT JOIN units u ON u.code = m.unit_code
                LEFT JOIN replies r ON r.id = c.reply_id LEFT JOIN units ru ON ru.code = r.unit_code
                LEFT JOIN deadlines d ON d.id = m.deadline_id
                WHERE m.id = \(id) AND m.status = 'queued'
                FOR UPDATE OF m SKIP LOCKED
                """, logger: logger) else { return false }
            let kind: String = try row.value("kind")
            let toCitizen = try row.value("unit_code", as: String?.self) == nil
            // Read now, from the case (or the unit): never kept with the message.
            let anonymous: Bool = try row.value("anonymous")
            guard let phone = try row.value("phone", as: String?.self), !(toCitizen && anonymous) else {
                try await finish(id, status: "skipped", reason: toCitizen ? "the citizen has no phone" : "the unit has no liaison",
                                 on: connection, logger: logger)
                return false
            }
            let caseId: Int64 = try row.value("case_id")
            let replyId: Int64? = try row.value("reply_id")
            // A survey asks about the reply it was made for: none once the case was visited or
            // reopened, nor once a later reply has its own survey.
            let superseded: Bool = try row.value("superseded")
            if kind == "survey", try row.value("status", as: String.self) != "replied" || replyId == nil || superseded {
                try await finish(id, status: "skipped", reason: "the reply was visited or reopened before the survey went",
                                 on: connection, logger: logger)
                return false
            }
            if !(try row.value("urgent", as: Bool.self)), let resume = quietHoursEnd(after: now) {
                try await hold(id, until: resume, reason: "quiet hours", on: connection, logger: logger)
                return false
            }
            if toCitizen {
                // One phone's messages counted under a lock of that phone, so instances sending at
                // once do not both pass the cap.
                try await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended('sms:' || \(phone), 0))", logger: logger)
                let today = try await connection.row("""
                    SELECT count(*) AS n FROM case_contacts cc
                    JOIN sms_messages m ON m.case_id = cc.case_id AND m.status = 'sent' AND m.unit_code IS NULL
                    WHERE cc.phone = \(phone) AND m.sent_at >= \(dayStart(of: now))
                    """, logger: logger)!.value("n", as: Int.self)
                if today >= gateway.dailyCap {
                    try await hold(id, until: dayStart(of: now).addingTimeInterval(86_400 + Double(quietUntil) * 3600),
                                   reason: "daily cap", on: connection, logger: logger)
                    return false
                }
            }
            var text: String = try row.value("body")
            let number: String = try row.value("number")
            var values = ["number": number, "lookup": "\(gateway.publicURL)/public/cases/\(number)",
                          "unit": try row.value("unit_name", as: String?.self) ?? ""]
            if let due = try row.value("due_at", as: Date?.self) { values["due"] = localText(due) }
            if kind == "survey", let replyId {
                let token = ratingToken(id, key: key)
                try await connection.execute("""
                    INSERT INTO rating_links (sms_id, case_id, reply_id, token_hash, created_at, expires_at)
                    VALUES (\(id), \(caseId), \(replyId), \(ByteBuffer(bytes: Array(SHA256.hash(data: Array(token.utf8))))), \(now),
                            \(now.addingTimeInterval(ratingLinkLifetime)))
                    ON CONFLICT (sms_id) DO NOTHING
                    """, logger: logger)
                values["rating"] = "\(gateway.publicURL)/public/ratings/\(token)"
            }
            for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
            let body = try APIJSON.encoder.encode(["id": "sms-\(id)", "to": phone, "text": text, "kind": kind])
            let outcome = await send(OutboundRequest(deliveryId: id, url: gateway.url, headers: [
                ("Content-Type", "application/json"), ("Authorization", "Bearer \(gateway.key)"), ("X-Hotline-SMS", String(id)),
            ], body: Array(body)))
            let attempts = Int(try row.value("attempts", as: Int32.self)) + 1
            switch outcome {
            case .acknowledged:
                try await connection.execute("""
                    UPDATE sms_messages SET status = 'sent', sent_at = \(now), attempts = \(Int32(attempts)), last_error = NULL WHERE id = \(id)
                    """, logger: logger)
                Counter(label: "hotline_sms_sent_total", dimensions: [("kind", kind)]).increment()
                return true
            case .gone, .failed, .unreachable:
                var reason = "the gateway answered 410"
                if case .failed(let text) = outcome { reason = text }
                if case .unreachable(let text) = outcome { reason = text }
                guard let next = policy.retry(afterAttempt: attempts, since: try row.value("created_at"), at: now) else {
                    try await connection.execute("""
                        UPDATE sms_messages SET status = 'parked', attempts = \(Int32(attempts)), last_error = \(String(reason.prefix(200)))
                        WHERE id = \(id)
                        """, logger: logger)
                    logger.warning("sms parked", metadata: ["sms": "\(id)", "kind": "\(kind)"])
                    Counter(label: "hotline_sms_parked_total").increment()
                    return false
                }
                try await connection.execute("""
                    UPDATE sms_messages SET attempts = \(Int32(attempts)), next_attempt_at = \(next), last_error = \(String(reason.prefix(200)))
                    WHERE id = \(id)
                    """, logger: logger)
                Counter(label: "hotline_sms_retries_total").increment()
                return false
            }
        }
    }

    static func finish(_ id: Int64, status: String, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("UPDATE sms_messages SET status = \(status), last_error = \(reason) WHERE id = \(id)", logger: logger)
    }

    /// Held, not dropped: due again at `until`, no attempt counted.
    static func hold(_ id: Int64, until: Date, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("UPDATE sms_messages SET next_attempt_at = \(until), last_error = \(reason) WHERE id = \(id)", logger: logger)
    }

    /// Midnight of `date`'s day in Asia/Shanghai (UTC+8, no daylight saving since 1991).
    static func dayStart(of date: Date) -> Date {
        let local = date.timeIntervalSince1970 + shanghai
        return Date(timeIntervalSince1970: (local / 86_400).rounded(.down) * 86_400 - shanghai)
    }

    /// When quiet hours that hold `date` end (08:00), or nil outside them.
    static func quietHoursEnd(after date: Date) -> Date? {
        let start = dayStart(of: date)
        let hour = Int(date.timeIntervalSince(start) / 3600)
        if hour >= quietFrom { return start.addingTimeInterval(86_400 + Double(quietUntil) * 3600) }
        if hour < quietUntil { return start.addingTimeInterval(Double(quietUntil) * 3600) }
        return nil
    }

    /// "12月3日 17:30", in Asia/Shanghai.
    static func localText(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: Int(shanghai))!
        let parts = calendar.dateComponents([.month, .day, .hour, .minute], from: date)
        return "\(parts.month!)月\(parts.day!)日 \(parts.hour!):" + (parts.minute! < 10 ? "0" : "") + "\(parts.minute!)"
    }

    /// A survey's one-time link, the same at every attempt at its SMS (so a repeat the gateway
    /// sends works as the first), derived with the secrets key; only its hash is kept.
    static func ratingToken(_ smsId: Int64, key: SecretsKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("rating-link:\(smsId)".utf8), using: key.key)
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
