import Foundation
@testable import HotlineCore
import PostgresNIO
import Testing

/// A case list walked from its narrowest index (CaseWalk: the lead unit's, the reader's unit's,
/// the escalated, the overdue) lists exactly what the same filters list walking every case
/// backwards, page by page, for the center and for handlers of units that lead, assist and
/// were passed cases.
@Suite("Case list walks") struct CaseWalkTests {
    @Test func everyWalkedListIsTheWholeRecordList() async throws {
        try await withHotline(start: Timestamp.parse("2027-01-18T09:00:00+08:00")!) { hotline in
            // setup: a generated year (every step, supervision's sweeps and escalations by hand),
            // and a few cases running in January.
            let simulation = YearSimulation(cases: 160, from: Timestamp.parse("2026-01-01T00:00:00+08:00")!,
                                            to: Timestamp.parse("2026-12-31T00:00:00+08:00")!, seed: 2_026_127)
            #expect(try await simulation.run(database: hotline.database, logger: TestDatabase.logger) == 0)
            var january: [String] = []
            for index in 0..<4 {
                let number = try await hotline.fileCase()
                _ = try await hotline.dispatch(number, lead: "housing")
                if index % 2 == 0 { _ = try await hotline.step(number, "sign", as: "handler:housing") }
                january.append(number)
            }
            // A unit given one case twice (a second round) and one case escalated twice (its sign
            // and its reply): a walk lists each case once.
            try await hotline.sql { connection in
                try await connection.query("""
                    INSERT INTO assignments (case_id, unit_code, role, status, dispatched_at, round)
                    SELECT id, 'housing', 'assist', 'dispatched', accepted_at, 2 FROM cases WHERE number = \(january[1])
                    """, logger: TestDatabase.logger)
                try await connection.query("""
                    INSERT INTO escalations (case_id, deadline_id, unit_code, escalated_at)
                    SELECT d.case_id, d.id, d.unit_code, d.due_at + interval '1 day' FROM deadlines d JOIN cases c ON c.id = d.case_id
                    WHERE c.number = \(january[0]) AND d.step IN ('sign', 'reply')
                    """, logger: TestDatabase.logger)
            }
            let now = Timestamp.parse("2027-01-25T10:00:00+08:00")!
            let logger = TestDatabase.logger
            try await hotline.database.read(logger: logger) { connection in
                let dispatcher = try await connection.query(
                    "SELECT id FROM users WHERE role = 'dispatcher' AND unit_code IS NULL ORDER BY id LIMIT 1", logger: logger
                ).collect().first!.decode(Int64.self)
                var readers = [Staff(id: dispatcher, role: .dispatcher, unit: nil)]
                for row in try await connection.query("""
                    SELECT min(u.id), u.unit_code FROM users u
                    WHERE u.role = 'handler' AND (u.unit_code = 'housing'
                          OR u.unit_code IN (SELECT unit_code FROM assignments GROUP BY unit_code ORDER BY count(*) DESC LIMIT 4))
                    GROUP BY u.unit_code ORDER BY u.unit_code
                    """, logger: logger).collect() {
                    let (id, unit) = try row.decode((Int64, String).self)
                    readers.append(Staff(id: id, role: .handler, unit: unit))
                }
                let leads = try await connection.query("""
                    SELECT unit_code FROM assignments WHERE role = 'lead' AND status IN ('dispatched', 'signed', 'replied')
                    GROUP BY unit_code ORDER BY count(*) DESC LIMIT 3
                    """, logger: logger).collect().map { try $0.decode(String.self) }
                var filters: [(String, CaseFilter)] = []
                func filter(_ name: String, _ change: (inout CaseFilter) -> Void) {
                    var filter = CaseFilter()
                    filter.now = now
                    filter.limit = 7
                    change(&filter)
                    filters.append((name, filter))
                }
                filter("none") { _ in }
                filter("status") { $0.status = .closed }
                for unit in leads { filter("lead \(unit)") { $0.leadUnit = unit } }
                filter("lead, in progress") { $0.leadUnit = leads[0]; $0.status = .inProgress }
                filter("escalated") { $0.escalated = true }
                filter("escalated, lead") { $0.escalated = true; $0.leadUnit = leads[0] }
                filter("overdue") { $0.overdue = true }
                filter("overdue, urgency") { $0.overdue = true; $0.urgency = .normal }
                filter("overdue before the year") { $0.overdue = true; $0.now = Timestamp.parse("2026-01-15T10:00:00+08:00")! }

                var walked = 0
                var pages = 0
                for reader in readers {
                    for (name, filter) in filters {
                        let walk = CaseWalk.from(filter, unit: reader.unit)
                        // act: every page, walked and not.
                        func all(_ walk: CaseWalk) async throws -> [String] {
                            var numbers: [String] = []
                            var page = filter
                            repeat {
                                let listed = try await CaseQueries.list(page, for: reader, walk: walk, on: connection, logger: logger)
                                numbers += listed.items.map(\.number)
                                page.cursor = listed.nextCursor
                                pages += 1
                            } while page.cursor != nil
                            return numbers
                        }
                        let expected = try await all(.all)
                        let listed = try await all(walk)
                        // verify
                        #expect(listed == expected, "\(name), read by \(reader.unit ?? "the center"), walked from \(walk)")
                        if walk != .all { walked += listed.count }
                    }
                }
                // The walks were taken, and held cases: the check compared something.
                #expect(CaseWalk.from(filters[2].1, unit: nil) == .lead(leads[0]))
                #expect(CaseWalk.from(filters[0].1, unit: "housing") == .unit("housing"))
                #expect(walked > 100)
                #expect(pages > filters.count * readers.count)
                for (name, walk) in [("escalated", CaseWalk.escalated), ("overdue", .overdue(now))] {
                    var only = CaseFilter()
                    only.now = now
                    if walk == .escalated { only.escalated = true } else { only.overdue = true }
                    let page = try await CaseQueries.list(only, for: readers[0], walk: walk, on: connection, logger: logger)
                    #expect(!page.items.isEmpty, "no case is \(name)")
                }
            }
        }
    }
}
