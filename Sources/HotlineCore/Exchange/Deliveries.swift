import Foundation
import Logging
import PostgresNIO

/// A delivery of the outbox as an administrator sees it: where it goes and how it fared, never
/// its body (the case as the receiver sees it) nor the secret that signs it.
public struct DeliveryView: Codable, Sendable, Equatable {
    public var id: Int64
    public var subscription: String
    public var event: Int64
    public var `case`: String
    public var kind: String
    public var status: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
    public var resentAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, subscription, event, `case`, kind, status, attempts
        case nextAttemptAt = "next_attempt_at", lastError = "last_error", createdAt = "created_at"
        case deliveredAt = "delivered_at", resentAt = "resent_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(subscription, forKey: .subscription)
        try c.encode(event, forKey: .event)
        try c.encode(`case`, forKey: .case)
        try c.encode(kind, forKey: .kind)
        try c.encode(status, forKey: .status)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(deliveredAt, forKey: .deliveredAt)
        try c.encode(resentAt, forKey: .resentAt)
    }
}

/// The outbox as an administrator works it (API.md: GET `/deliveries`, POST `…/{id}/resend`).
public enum Deliveries {
    public enum Status: String, Vocabulary {
        case queued, delivered, parked
    }

    /// Deliveries of one status (parked unless asked), oldest first, optionally of one
    /// subscription (by code).
    public static func list(
        status: Status, subscription: String?, limit: Int, cursor: String?, by staff: Staff?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<DeliveryView> {
        try staff?.require(.admin)
        try Cursor.check(limit: limit)
        let after = try cursor.map(Cursor.decode) ?? 0
        let rows = try await connection.rows("""
            SELECT \(unescaped: columns) FROM deliveries d
            JOIN subscriptions s ON s.id = d.subscription_id JOIN cases c ON c.id = d.case_id
            WHERE d.status = \(status.rawValue) AND d.id > \(after) AND (\(subscription)::text IS NULL OR s.code = \(subscription))
            ORDER BY d.id LIMIT \(limit + 1)
            """, logger: logger)
        let items = try rows.prefix(limit).map(view)
        return Page(items: items, nextCursor: rows.count > limit ? items.last.map { Cursor.encode($0.id) } : nil)
    }

    /// Puts a parked delivery back in the queue, due at once, with the body it was first sent
    /// with; the cases' later deliveries to that receiver follow it. `staff` nil: from the
    /// command line.
    public static func resend(
        _ id: Int64, by staff: Staff?, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> DeliveryView {
        try staff?.require(.admin)
        guard let row = try await connection.row(
            "SELECT status FROM deliveries WHERE id = \(id) FOR UPDATE", logger: logger
        ) else { throw HotlineError.notFound("delivery") }
        guard try row.value("status", as: String.self) == Status.parked.rawValue else {
            throw HotlineError(.conflict, code: .invalidTransition, "only a parked delivery can be resent")
        }
        try await connection.execute("""
            UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = NULL, resent_at = \(now), resent_by = \(staff?.id)
            WHERE id = \(id)
            """, logger: logger)
        logger.info("webhook delivery resent", metadata: ["delivery": "\(id)", "user": "\(staff.map { String($0.id) } ?? "console")"])
        return try await get(id, on: connection, logger: logger)
    }

    static let columns = """
        d.id, s.code AS subscription, d.event_id, c.number, d.kind, d.status, d.attempts, d.next_attempt_at, d.last_error,
        d.created_at, d.delivered_at, d.resent_at
        """

    public static func get(_ id: Int64, by staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> DeliveryView {
        try staff.require(.admin)
        return try await get(id, on: connection, logger: logger)
    }

    static func get(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> DeliveryView {
        guard let row = try await connection.row("""
            SELECT \(unescaped: columns) FROM deliveries d
            JOIN subscriptions s ON s.id = d.subscription_id JOIN cases c ON c.id = d.case_id
            WHERE d.id = \(id)
            """, logger: logger) else { throw HotlineError.notFound("delivery") }
        return try view(row)
    }

    static func view(_ row: PostgresRandomAccessRow) throws -> DeliveryView {
        DeliveryView(
            id: try row.value("id"), subscription: try row.value("subscription"), event: try row.value("event_id"),
            case: try row.value("number"), kind: try row.value("kind"), status: try row.value("status"),
            attempts: Int(try row.value("attempts", as: Int32.self)), nextAttemptAt: try row.value("next_attempt_at"),
            lastError: try row.value("last_error"), createdAt: try row.value("created_at"),
            deliveredAt: try row.value("delivered_at"), resentAt: try row.value("resent_at"))
    }
}
