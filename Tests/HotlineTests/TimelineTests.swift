import Foundation
import HotlineCore
import PostgresNIO
import Testing

@Suite("Timeline") struct TimelineTests {
    @Test func theDatabaseRefusesToChangeOrRemoveAnEvent() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            let statements = [
                "UPDATE case_events SET kind = 'forged'",
                "DELETE FROM case_events",
                "TRUNCATE case_events CASCADE",
            ]
            for statement in statements {
                // The test connects as a superuser: no role gets past the trigger.
                await #expect(throws: PSQLError.self, "\(statement)") {
                    try await hotline.sql { try await $0.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger) }
                }
            }
            let timeline = try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "operator").items()
            let kinds = timeline.map { $0["kind"] as? String }
            #expect(kinds == ["accepted"])
            let actor = try #require(timeline.first?["actor"] as? [String: Any])
            #expect(actor["role"] as? String == "operator")
            #expect(actor["name"] as? String == "话务员甲")
            #expect(timeline.first?["at"] as? String == "2026-03-02T09:00:00+08:00")
        }
    }

    @Test func theStateErrorOfTheTriggerIsInsufficientPrivilege() async throws {
        try await withHotline { hotline in
            _ = try await hotline.fileCase()
            do {
                try await hotline.sql { try await $0.query("DELETE FROM case_events", logger: TestDatabase.logger) }
                Issue.record("the delete went through")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "42501")
            }
            #expect(try await hotline.count("case_events") == 1)
        }
    }
}
