import Foundation
import Logging
import PostgresNIO

/// A published revision as listed.
public struct AppraisalRevision: Codable, Sendable, Equatable {
    public var period: String
    public var revision: Int
    public var reason: String?
    public var publishedAt: Date
    public var publishedBy: Int64

    enum CodingKeys: String, CodingKey {
        case period, revision, reason
        case publishedAt = "published_at"
        case publishedBy = "published_by"
    }
}

/// Publishing freezes a report: its bytes are stored and served as they are, whatever the
/// record says later. Publishing again needs a reason and makes the next revision.
public enum AppraisalPublication {
    public static func publish(
        _ period: Period, reason: String?, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> AppraisalRevision {
        try staff.require(.manager)
        var checker = FieldChecker()
        let reason = checker.text(reason, field: "reason", max: 1000, required: false, multiline: true)
        try checker.check()
        // One publisher of a period at a time; the primary key would refuse a second one anyway.
        try await connection.execute("SELECT pg_advisory_xact_lock(hashtext('appraisal:' || \(period.description)))", logger: logger)
        let last = try await connection.row(
            "SELECT coalesce(max(revision), 0) AS n FROM appraisal_revisions WHERE period = \(period.description)", logger: logger
        )!.value("n", as: Int32.self)
        if last > 0 && reason == nil {
            throw HotlineError.validation(field: "reason", "publishing a period again needs a reason")
        }
        guard period.start < now else {
            throw HotlineError(.unprocessable, code: .periodNotStarted, "this period has not begun")
        }
        var report = try await Appraisal.compute(period, rollup: true, at: now, on: connection, logger: logger)
        report.revision = Int(last) + 1
        report.publishedAt = now
        report.reason = reason
        let bytes = Array(try APIJSON.encoder.encode(report))
        try await connection.execute("""
            INSERT INTO appraisal_revisions (period, revision, reason, published_at, published_by, report, schema_version)
            VALUES (\(period.description), \(Int32(last) + 1), \(reason), \(now), \(staff.id), \(ByteBuffer(bytes: bytes)),
                    \(AppraisalReport.schemaVersion))
            """, logger: logger)
        logger.info("appraisal published", metadata: ["period": "\(period)", "revision": "\(last + 1)"])
        return AppraisalRevision(period: period.description, revision: Int(last) + 1, reason: reason, publishedAt: now, publishedBy: staff.id)
    }

    public static func revisions(_ period: Period, on connection: PostgresConnection, logger: Logger) async throws -> [AppraisalRevision] {
        try await connection.rows("""
            SELECT period, revision, reason, published_at, published_by FROM appraisal_revisions
            WHERE period = \(period.description) ORDER BY revision
            """, logger: logger).map { row in
            AppraisalRevision(period: try row.value("period"), revision: Int(try row.value("revision", as: Int32.self)),
                              reason: try row.value("reason"), publishedAt: try row.value("published_at"),
                              publishedBy: try row.value("published_by"))
        }
    }

    /// What was recorded of one revision's publication.
    public static func revisionRecord(_ period: Period, _ number: Int, on connection: PostgresConnection, logger: Logger) async throws -> AppraisalRevision {
        guard let found = try await revisions(period, on: connection, logger: logger).first(where: { $0.revision == number }) else {
            throw HotlineError.notFound("revision")
        }
        return found
    }

    /// The stored bytes of a revision, exactly as published.
    public static func revision(_ period: Period, _ number: Int, on connection: PostgresConnection, logger: Logger) async throws -> [UInt8] {
        guard let row = try await connection.row("""
            SELECT report FROM appraisal_revisions WHERE period = \(period.description) AND revision = \(Int32(clamping: number))
            """, logger: logger) else { throw HotlineError.notFound("revision") }
        return Array(try row.value("report", as: ByteBuffer.self).readableBytesView)
    }
}
