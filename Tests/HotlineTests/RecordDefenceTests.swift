import Foundation
import HotlineCore
import PostgresNIO
import Testing

/// DOMAIN §11 and §13: the record defends itself, even against the service's own role.
@Suite("Record defence") struct RecordDefenceTests {
    /// The tables that are only ever appended to, or frozen once written.
    /// Tables only the database's own functions write.
    static let keptByTheDatabase: Set<String> = ["appraisal_facts", "appraisal_sums"]
    static let appendOnly = ["case_events", "urgings", "escalations", "appraisal_revisions", "knowledge_versions",
                             "reply_reviews", "contacts", "supplements"]

    /// An assignment of a column each table has (the rest have `unit_code`): a refusal must be
    /// the guard's, not an unknown column's.
    static let rewrite = ["case_events": "kind = 'x'", "knowledge_versions": "title = 'x'", "appraisal_revisions": "reason = 'x'",
                          "reply_reviews": "reason = 'x'", "supplements": "text = 'x'"]

    /// A case with an event, an urging, an escalation, a published revision and an article
    /// version; another passed down, with a first contact and a reviewed reply.
    static func fill(_ hotline: TestHotline) async throws {
        let tiered = try await hotline.fileCase(CaseBodies.consenting())
        try await hotline.dispatch(tiered, lead: "taishan")
        try await hotline.step(tiered, "sign", as: "handler:taishan")
        try await hotline.step(tiered, "pass-down", as: "dispatcher:taishan", body: json(["lead_unit": "taishan.daimiao"]))
        try await hotline.step(tiered, "sign", as: "handler:taishan.daimiao")
        try await hotline.step(tiered, "contacts", as: "handler:taishan.daimiao", body: #"{"method": "phone"}"#, expect: 201)
        let replied = try await hotline.reply(tiered, as: "handler:taishan.daimiao")
        let reply = try #require((replied["replies"] as? [[String: Any]])?.last?["id"] as? Int)
        try await hotline.step(tiered, "replies/\(reply)/approve", as: "dispatcher:taishan")
        let number = try await hotline.fileCase()
        try await hotline.dispatch(number)
        try await hotline.step(number, "supplements", as: "operator", body: #"{"text": "市民再次来电催办。"}"#, expect: 201)
        try await hotline.sweep(at: "2026-03-10T09:00:00+08:00")  // the sign deadline is long past: urged and escalated
        let article = try await hotline.request(.post, "/api/v1/knowledge", as: "handler:housing",
                                                body: #"{"title": "电梯维修", "body": "电梯停运可拨打物业电话。"}"#)
        #expect(article.status == .created)
        let published = try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "manager", body: "{}")
        #expect(published.status == .created, "\(published.text)")
        for table in appendOnly {
            #expect(try await hotline.count(table) > 0, "\(table) is empty")
        }
    }

    /// Runs statements, in order on one connection, as `role` on the test's database; the
    /// SQLSTATE of the first that fails, if one does.
    static func attempt(_ statements: String..., as role: String, database: String) async throws -> String? {
        var configuration = try TestDatabase.configuration(database: database)
        configuration.username = role
        configuration.options.maximumConnections = 1
        return try await TestDatabase.withClient(configuration) { client in
            try await client.withConnection { connection in
                do {
                    for sql in statements {
                        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).collect()
                    }
                    return nil
                } catch {
                    return DatabaseFailure.sqlState(of: error) ?? String(reflecting: error)
                }
            }
        }
    }

    static func databaseName(_ hotline: TestHotline) async throws -> String {
        try await hotline.sql { try await $0.query("SELECT current_database()", logger: TestDatabase.logger).collect().first!.decode(String.self) }
    }

    @Test func theServicesRoleCannotRewriteTheRecord() async throws {
        try await withHotline { hotline in
            try await Self.fill(hotline)
            let database = try await Self.databaseName(hotline)
            // It is the role the service works as: it reads the record and appends to it…
            for sql in ["SELECT count(*) FROM cases", "SELECT count(*) FROM case_events",
                        "INSERT INTO case_events (case_id, at, kind, actor_role) SELECT id, now(), 'note', 'system' FROM cases LIMIT 1"] {
                let refused = try await Self.attempt(sql, as: "hotline_test_service", database: database)
                #expect(refused == nil, "\(sql): \(refused ?? "")")
            }
            // …and changes none of what is written.
            var allowed: [String] = []
            for table in Self.appendOnly {
                for sql in [
                    "UPDATE \(table) SET \(Self.rewrite[table] ?? "unit_code = unit_code")",
                    "DELETE FROM \(table)",
                    "TRUNCATE \(table) CASCADE",
                    "ALTER TABLE \(table) DISABLE TRIGGER ALL",
                    "DROP TABLE \(table) CASCADE",
                ] where try await Self.attempt(sql, as: "hotline_test_service", database: database) == nil {
                    allowed.append(sql)
                }
            }
            #expect(allowed.isEmpty, "the service's role may: \(allowed)")
            // Nor can it alter anything else of the schema, nor truncate the rest of the record.
            for sql in ["TRUNCATE cases CASCADE", "DROP TABLE idempotency_keys", "ALTER TABLE cases ADD COLUMN x int",
                        "CREATE TABLE stash (x int)", "DELETE FROM schema_migrations"] {
                #expect(try await Self.attempt(sql, as: "hotline_test_service", database: database) != nil, "\(sql) was allowed")
            }
            for table in Self.appendOnly {
                #expect(try await hotline.count(table) > 0, "\(table) lost its rows")
            }
        }
    }

    /// Even the owner (here a superuser, with replication triggers off) cannot change or empty
    /// what is append-only: the triggers fire always.
    @Test func theGuardsHoldForTheOwnerToo() async throws {
        try await withHotline { hotline in
            try await Self.fill(hotline)
            let database = try await Self.databaseName(hotline)
            for table in Self.appendOnly {
                for sql in ["DELETE FROM \(table)", "TRUNCATE \(table) CASCADE"] {
                    let refused = try await Self.attempt("SET session_replication_role = replica", sql, as: "postgres", database: database)
                    #expect(refused == "42501", "\(sql) as the owner: \(refused ?? "allowed")")
                }
            }
        }
    }

    /// What the runtime role may do to each table, held to the list: a new table is readable and
    /// appendable and no more until a migration says otherwise.
    @Test func theRuntimeRolesPrivilegesAreExactlyTheseWrites() async throws {
        try await withHotline { hotline in
            let rows = try await hotline.sql { connection in
                try await connection.query("""
                    SELECT tablename, has_table_privilege('hotline_runtime', 'public.' || tablename, 'SELECT'),
                           has_table_privilege('hotline_runtime', 'public.' || tablename, 'INSERT'),
                           has_table_privilege('hotline_runtime', 'public.' || tablename, 'UPDATE'),
                           has_table_privilege('hotline_runtime', 'public.' || tablename, 'DELETE'),
                           has_table_privilege('hotline_runtime', 'public.' || tablename, 'TRUNCATE')
                    FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
                    """, logger: TestDatabase.logger).collect()
            }
            var updates: Set<String> = [], deletes: Set<String> = [], unreadable: [String] = [], truncatable: [String] = []
            var appendable: Set<String> = []
            for row in rows {
                let (table, select, insert, update, delete, truncate) = try row.decode((String, Bool, Bool, Bool, Bool, Bool).self)
                if !select || (!insert && !Self.keptByTheDatabase.contains(table) && table != "schema_migrations") { unreadable.append(table) }
                if insert { appendable.insert(table) }
                if update { updates.insert(table) }
                if delete { deletes.insert(table) }
                if truncate { truncatable.append(table) }
            }
            #expect(unreadable.isEmpty, "\(unreadable)")
            #expect(truncatable.isEmpty, "\(truncatable)")
            #expect(updates == ["cases", "assignments", "deadlines", "return_requests", "extension_requests", "knowledge_articles",
                                "units", "users", "tokens", "categories", "time_limits", "appraisal_weights", "calendar_years",
                                "case_number_days", "idempotency_keys", "open311_keys", "rate_limits", "lookup_locks",
                                // A reply's review status and its reviewer (DOMAIN §5b); the policy a manager edits.
                                "replies", "review_policy",
                                // A subscription turned off or changed; a delivery's attempts and status (DOMAIN §14).
                                "subscriptions", "deliveries",
                                // An SMS's attempts and status, the texts an admin words, a unit's liaison (DOMAIN §14).
                                "sms_messages", "sms_templates", "unit_liaisons",
                                // The last day whose hotspot counts are kept (derived, not the record; sql/0031).
                                "hotspot_kept"])
            #expect(deletes == ["category_routes", "category_time_limits", "calendar_days", "idempotency_keys", "rate_limits",
                                "lookup_locks",
                                // Kept counts forgotten when a benchmark copies the record (sql/0031).
                                "hotspot_days"])
            #expect(updates.isDisjoint(with: Self.appendOnly) && deletes.isDisjoint(with: Self.appendOnly))
            // The appraisal's facts are written by the database's own functions alone (sql/0022):
            // the service reads them and cannot forge one.
            let written = appendable.union(updates).union(deletes).intersection(Self.keptByTheDatabase)
            #expect(written.isEmpty, "\(written)")
        }
    }
}
