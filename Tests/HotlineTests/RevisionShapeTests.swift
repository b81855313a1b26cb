import Foundation
import HotlineCore
import PostgresNIO
import Testing

/// A published revision renders as JSON, CSV and HTML forever (DOMAIN §9). Every figure a
/// report has today may be one a later version adds; so each is taken out in turn of a revision
/// as published, the result stored as an older revision would be (as the owner, `schema_version`
/// 1), and read back in the three formats, by a manager and by a handler (whose JSON is rebuilt).
@Suite("Revision shapes") struct RevisionShapeTests {
    /// Paths of what is taken out: report-level fields, then a unit line's, then an indicator's.
    static let removable: [[String]] = [
        ["generated_at"], ["weights"], ["reason"],
        ["units", "*", "rank"], ["units", "*", "score"], ["units", "*", "indicators"],
        ["units", "*", "indicators", "on_time_sign"], ["units", "*", "indicators", "on_time_reply"],
        ["units", "*", "indicators", "satisfaction"], ["units", "*", "indicators", "resolution"],
        ["units", "*", "indicators", "reopen"], ["units", "*", "indicators", "reopen", "numerator"],
        ["units", "*", "indicators", "reopen", "denominator"], ["units", "*", "unreasonable_returns"],
        ["units", "*", "escalations"], ["units", "*", "overdue"], ["units", "*", "name"],
        // What shape 2 added: the response rate, replies sent back, the scheme, the roll-up.
        ["scheme"], ["weights", "scheme"], ["weights", "three_rates"], ["rollup"], ["rollup", "*", "units_summed"],
        ["units", "*", "indicators", "response"], ["units", "*", "sent_back"],
        // What shape 3 added: the units' repeat complaints.
        ["units", "*", "repeat_complaints"],
    ]

    static func removing(_ path: ArraySlice<String>, from value: Any) -> Any {
        guard let key = path.first else { return value }
        if key == "*", let list = value as? [Any] { return list.map { removing(path.dropFirst(), from: $0) } }
        guard var object = value as? [String: Any] else { return value }
        if path.count == 1 {
            object.removeValue(forKey: key)
        } else if let inner = object[key] {
            object[key] = removing(path.dropFirst(), from: inner)
        }
        return object
    }

    @Test func aRevisionInAnOlderShapeStillRendersInEveryFormat() async throws {
        try await withHotline { hotline in
            let number = try await hotline.caseInProgress(assists: [])
            try await hotline.reply(number)
            AppraisalTests.at(hotline, "2026-04-01T09:00:00+08:00")
            let published = try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "manager", body: "{}")
            #expect(published.status == .created, "\(published.text)")
            let stored = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "manager")
            let original = try JSONSerialization.jsonObject(with: Data(buffer: stored.body))
            let shape = try await hotline.sql { connection in
                try await connection.query("SELECT schema_version FROM appraisal_revisions WHERE revision = 1",
                                           logger: TestDatabase.logger).collect().first!.decode(Int16.self)
            }
            #expect(shape == AppraisalReport.schemaVersion)

            for (index, path) in Self.removable.enumerated() {
                let revision = index + 2
                var older = Self.removing(path[...], from: original) as! [String: Any]
                older["revision"] = revision
                let bytes = try JSONSerialization.data(withJSONObject: older)
                try await hotline.database.transaction(logger: TestDatabase.logger) { connection in
                    try await connection.query("""
                        INSERT INTO appraisal_revisions (period, revision, reason, published_at, published_by, report, schema_version)
                        SELECT period, \(Int32(revision)), 'older shape', published_at, published_by, \(ByteBuffer(bytes: bytes)), 1
                        FROM appraisal_revisions WHERE period = '2026-03' AND revision = 1
                        """, logger: TestDatabase.logger)
                }
                let what = path.joined(separator: ".")
                let asStored = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/\(revision)", as: "manager")
                #expect(asStored.status == .ok, "\(what): \(asStored.text)")
                #expect(Data(buffer: asStored.body) == bytes, "\(what): JSON is served as it was stored")
                let own = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/\(revision)", as: "handler:housing")
                #expect(own.status == .ok, "\(what) as a handler: \(own.text)")
                #expect(own.text.contains("\"housing\""), "\(what): \(own.text.prefix(300))")
                let csv = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/\(revision)?format=csv", as: "manager")
                #expect(csv.status == .ok, "\(what) as CSV: \(csv.text)")
                let housing = csv.text.split(separator: "\r\n").first { $0.hasPrefix("housing,") }
                #expect(housing != nil, "\(what): \(csv.text.prefix(300))")
                let html = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/\(revision)?format=html", as: "manager")
                #expect(html.status == .ok, "\(what) as HTML: \(html.text.prefix(300))")
                #expect(html.text.contains("第\(revision)版"), "\(what)")
                // A figure the revision does not have is shown as absent, never as a 0 it never said.
                if path.last == "escalations" {
                    #expect(housing?.hasSuffix(",0,—,0,0,0") == true, "\(housing ?? "")")
                }
                if path.last == "sent_back" {
                    #expect(housing?.hasSuffix(",0,0,0,—,0") == true, "\(housing ?? "")")
                    #expect(!own.text.contains("sent_back"), "a handler's re-encoded line does not invent it: \(own.text.prefix(400))")
                }
                if path.last == "repeat_complaints" {
                    #expect(housing?.hasSuffix(",0,0,0,0,—") == true, "\(housing ?? "")")
                    #expect(!own.text.contains("repeat_complaints"), "a handler's re-encoded line does not invent it: \(own.text.prefix(400))")
                }
                if path.last == "response" {
                    let line = (try own.object()["units"] as? [[String: Any]])?.first
                    let indicators = line?["indicators"] as? [String: Any]
                    #expect(indicators != nil && indicators?["response"] == nil, "a handler's re-encoded line does not invent it")
                    #expect(housing?.contains(",—,—,—,0,0,0,0") == true, "\(housing ?? "")")
                    #expect(html.text.contains("<td>—</td>"), "\(what)")
                }
                // A revision from before the schemes was ranked by the default one.
                if path == ["weights", "scheme"] || path == ["scheme"] {
                    #expect(html.text.contains("默认方案"), "\(what)")
                }
            }
        }
    }
}
