import Foundation
import Logging
import PostgresNIO

/// The search vectors of cases accepted before a case carried them (sql/0011), or cut by an
/// older detector (`FreeText.version`): `hotline reindex` writes them again, a batch at a time,
/// with the same cutting as intake.
public enum CaseSearch {
    /// Returns how many cases were given their vectors.
    public static func reindex(database: Database, logger: Logger, batch: Int = 1000) async throws -> Int {
        var done = 0
        while true {
            let written = try await database.transaction(logger: logger) { connection -> Int in
                let rows = try await connection.rows("""
                    SELECT c.id, c.case_type, c.confidential, c.subject, c.description, c.address, k.name, k.phone
                    FROM cases c LEFT JOIN case_contacts k ON k.case_id = c.id
                    WHERE c.search_version IS DISTINCT FROM \(FreeText.version)
                    ORDER BY c.id LIMIT \(batch) FOR UPDATE OF c SKIP LOCKED
                    """, logger: logger)
                for row in rows {
                    let vectors = Intake.searchVectors(
                        subject: try row.value("subject"), description: try row.value("description"), address: try row.value("address"),
                        identity: CitizenIdentity(name: try row.value("name"), phone: try row.value("phone")),
                        protected: try row.value("case_type", as: String.self) == CaseType.report.rawValue || row.value("confidential")
                    )
                    try await connection.execute("""
                        UPDATE cases SET search_units = \(vectors.units)::tsvector, search_center = \(vectors.center)::tsvector,
                               search_version = \(FreeText.version)
                        WHERE id = \(try row.value("id", as: Int64.self))
                        """, logger: logger)
                }
                return rows.count
            }
            done += written
            if written < batch { return done }
        }
    }
}
