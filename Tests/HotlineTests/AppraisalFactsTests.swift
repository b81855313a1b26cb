import Foundation
import HotlineCore
import PostgresNIO
import Testing

/// The appraisal read from the facts the database keeps as the record changes (sql/0022), held
/// to a recount of the whole record (the oracle, `Appraisal.compute(recount: true)`).
@Suite("Appraisal facts") struct AppraisalFactsTests {
    /// Every line (and roll-up line) that differs between the two reports, as text.
    static func differences(_ facts: AppraisalReport, _ recount: AppraisalReport) -> [String] {
        func lines(_ units: [UnitAppraisal]?) -> [String: UnitAppraisal] {
            Dictionary((units ?? []).map { ($0.unit, $0) }, uniquingKeysWith: { first, _ in first })
        }
        var out: [String] = []
        for (name, a, b) in [("units", lines(facts.units), lines(recount.units)), ("rollup", lines(facts.rollup), lines(recount.rollup))] {
            for unit in Set(a.keys).union(b.keys).sorted() where a[unit] != b[unit] {
                out.append("\(facts.period) \(name) \(unit): facts \(a[unit].map { "\($0)" } ?? "none") | recount \(b[unit].map { "\($0)" } ?? "none")")
            }
        }
        return out
    }

    static func report(_ period: String, unit: String? = nil, recount: Bool, at now: Date, _ hotline: TestHotline) async throws -> AppraisalReport {
        try await hotline.sql { connection in
            try await Appraisal.compute(Period(period)!, unit: unit, rollup: unit == nil, recount: recount, at: now,
                                        on: connection, logger: TestDatabase.logger)
        }
    }

    static func fraction(_ report: AppraisalReport, _ unit: String, _ indicator: KeyPath<Indicators, Indicator>) -> String {
        let line = report.units.first { $0.unit == unit }
        let value = line?.indicators[keyPath: indicator] ?? Indicator()
        return "\(value.numerator)/\(value.denominator)"
    }

    @Test func aGeneratedYearReadsTheSameFromFactsAsFromARecountForEveryUnitMonthAndYear() async throws {
        try await withHotline(start: Timestamp.parse("2027-01-04T09:00:00+08:00")!) { hotline in
            // setup: a year of a hotline's work through the service's operations (every step of
            // DOMAIN §5, §5a and §5b the simulation takes: tiers, reviews, first contacts, returns,
            // extensions, merges, reopens, exemptions, withdrawals, escalations)
            let simulation = YearSimulation(cases: 480, from: Timestamp.parse("2026-01-01T00:00:00+08:00")!,
                                            to: Timestamp.parse("2026-12-31T00:00:00+08:00")!, seed: 2_026_015)
            #expect(try await simulation.run(database: hotline.database, logger: TestDatabase.logger) == 0)
            let kinds = try await hotline.sql { connection in
                try await connection.query("SELECT DISTINCT kind FROM case_events", logger: TestDatabase.logger).collect()
                    .map { try $0.decode(String.self) }
            }
            for kind in ["passed_down", "reply_approved", "reply_sent_back", "contacted", "return_approved", "merged",
                         "reopened", "exempted", "withdrawn", "escalated", "extension_approved"] {
                #expect(kinds.contains(kind), "the year has no \(kind)")
            }
            // The sums are the facts added up, row for row.
            let drift = try await hotline.sql { connection in
                try await connection.query("""
                    SELECT count(*) FROM (
                        (SELECT * FROM appraisal_sums
                         WHERE (sign_num, sign_den, response_num, response_den, reply_num, reply_den, rated, satisfied, resolved,
                                reopens, replies, rejected_returns, escalations, sent_back, overdue)
                               <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                         EXCEPT
                         SELECT unit, month, sum(sign_num), sum(sign_den), sum(response_num), sum(response_den), sum(reply_num),
                                sum(reply_den), sum(rated), sum(satisfied), sum(resolved), sum(reopens), sum(replies),
                                sum(rejected_returns), sum(escalations), sum(sent_back), sum(overdue)
                         FROM appraisal_facts GROUP BY unit, month)
                        UNION ALL
                        (SELECT unit, month, sum(sign_num), sum(sign_den), sum(response_num), sum(response_den), sum(reply_num),
                                sum(reply_den), sum(rated), sum(satisfied), sum(resolved), sum(reopens), sum(replies),
                                sum(rejected_returns), sum(escalations), sum(sent_back), sum(overdue)
                         FROM appraisal_facts GROUP BY unit, month
                         EXCEPT
                         SELECT * FROM appraisal_sums)
                    ) x
                    """, logger: TestDatabase.logger).collect().first!.decode(Int.self)
            }
            #expect(drift == 0)

            // The simulation finishes its cases: January's are left running, some signed, some
            // contacted, some passed down, so that the report's running part is read too.
            for index in 0..<8 {
                let number = try await hotline.fileCase()
                _ = try await hotline.dispatch(number, lead: index % 4 == 3 ? "water" : "housing", assists: index % 2 == 0 ? ["environment"] : [])
                if index % 3 == 0 { _ = try await hotline.step(number, "sign", as: index % 4 == 3 ? "handler:water" : "handler:housing") }
                if index == 6 { try await hotline.reply(number) }
            }

            // act and verify: every month, each year, and single units' own lines, read before
            // January's deadlines pass, as the signing ones have, and once the replies' have.
            var differences: [String] = []
            var signed = 0, rated = 0, runningPassed: [Int] = []
            for now in ["2027-01-04T12:00:00+08:00", "2027-01-06T12:00:00+08:00", "2027-01-20T12:00:00+08:00"].map({ Timestamp.parse($0)! }) {
                let running = try await hotline.sql { connection in
                    try await connection.query("""
                        SELECT count(*) FROM deadlines WHERE met_at IS NULL AND closed_at IS NULL AND due_at < \(now)
                        """, logger: TestDatabase.logger).collect().first!.decode(Int.self)
                }
                runningPassed.append(running)
                for period in (1...12).map({ String(format: "2026-%02d", $0) }) + ["2026", "2027-01", "2027"] {
                    let facts = try await Self.report(period, recount: false, at: now, hotline)
                    let recount = try await Self.report(period, recount: true, at: now, hotline)
                    differences += Self.differences(facts, recount)
                    if period == "2026" {
                        signed += facts.units.map(\.indicators.onTimeSign.denominator).reduce(0, +)
                        rated += facts.units.map(\.indicators.satisfaction.denominator).reduce(0, +)
                        for unit in facts.units.prefix(6).map(\.unit) {
                            differences += Self.differences(try await Self.report(period, unit: unit, recount: false, at: now, hotline),
                                                            try await Self.report(period, unit: unit, recount: true, at: now, hotline))
                        }
                    }
                }
            }
            #expect(differences.isEmpty, "\(differences.prefix(10))")
            // Nothing running had passed at first; then the signing deadlines had, then more.
            #expect(runningPassed.count == 3 && runningPassed[0] == 0 && runningPassed[1] > 0 && runningPassed[2] > runningPassed[1],
                    "\(runningPassed)")
            #expect(signed > 400)
            #expect(rated > 100)
        }
    }

    /// A withdrawal, an exemption, an approved return and a merge in April change March's live
    /// report as a recount does; March's published revision stays as it was.
    @Test func laterStepsChangeAnEarlierMonthsLiveReportAndNeverItsRevision() async throws {
        try await withHotline { hotline in
            func at(_ time: String) { hotline.clock.set(Timestamp.parse(time)!) }
            // March. w: dispatched, never signed (missed). x: on time, replied, rated unsatisfied.
            at("2026-03-02T09:00:00+08:00")
            let master = try await hotline.fileCase()
            try await hotline.dispatch(master, lead: "water")
            let w = try await hotline.fileCase()
            try await hotline.dispatch(w)
            let x = try await hotline.caseInProgress(assists: [])
            at("2026-03-03T10:00:00+08:00")
            try await hotline.reply(x)
            at("2026-03-04T10:00:00+08:00")
            try await hotline.visit(x, satisfaction: "unsatisfied", resolved: false)
            // r: dispatched on the 30th, its return asked for at once and still waiting at the
            // month's end, unsigned. m: dispatched on the 31st, its sign deadline running into April.
            at("2026-03-30T09:00:00+08:00")
            let r = try await hotline.fileCase()
            try await hotline.dispatch(r)
            let asked = try await hotline.step(r, "return-requests", as: "handler:housing", body: #"{"reason": "非本单位职责"}"#, expect: 201)
            let request = (asked["return_requests"] as! [[String: Any]]).last!["id"] as! Int
            at("2026-03-31T09:00:00+08:00")
            let m = try await hotline.fileCase()
            try await hotline.dispatch(m)

            at("2026-04-01T09:00:00+08:00")
            #expect(try await hotline.request(.post, "/api/v1/appraisals/2026-03/publish", as: "manager", body: "{}").status == .created)
            let frozen = try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "manager").text
            let readAt = Timestamp.parse("2026-04-03T12:00:00+08:00")!
            let before = try await Self.report("2026-03", recount: false, at: readAt, hotline)
            #expect(Self.differences(before, try await Self.report("2026-03", recount: true, at: readAt, hotline)).isEmpty)
            // w and r missed, x on time, m missed by the time of reading (due 1 April).
            #expect(Self.fraction(before, "housing", \.onTimeSign) == "1/4")
            #expect(Self.fraction(before, "housing", \.satisfaction) == "0/1")
            let overdueBefore = before.units.first { $0.unit == "housing" }?.overdue ?? -1

            // April: m merged before its deadline, r's return approved, w withdrawn, x exempted.
            at("2026-04-01T10:00:00+08:00")
            _ = try await hotline.step(m, "merge", as: "dispatcher", body: json(["master": master]))
            at("2026-04-02T09:00:00+08:00")
            _ = try await hotline.step(r, "return-requests/\(request)/approve", as: "dispatcher", body: #"{"lead_unit": "water"}"#)
            at("2026-04-02T10:00:00+08:00")
            _ = try await hotline.step(w, "withdraw", as: "operator", body: #"{"reason": "市民撤诉"}"#)
            at("2026-04-02T11:00:00+08:00")
            _ = try await hotline.step(x, "exempt", as: "dispatcher", body: #"{"reason": "诉求超出政策"}"#)

            let after = try await Self.report("2026-03", recount: false, at: readAt, hotline)
            let recount = try await Self.report("2026-03", recount: true, at: readAt, hotline)
            #expect(Self.differences(after, recount).isEmpty, "\(Self.differences(after, recount))")
            #expect(Self.fraction(after, "housing", \.onTimeSign) == "1/1")
            #expect(Self.fraction(after, "housing", \.satisfaction) == "0/0")
            let overdueAfter = after.units.first { $0.unit == "housing" }?.overdue ?? -1
            #expect(overdueBefore == 2 && overdueAfter == 0, "overdue \(overdueBefore) -> \(overdueAfter)")
            // The live report over HTTP is the facts' report; the revision is as it was published.
            at("2026-04-03T12:00:00+08:00")
            let live = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            #expect(AppraisalTests.fraction(AppraisalTests.line(live, "housing"), "on_time_sign") == "1/1")
            #expect(try await hotline.request(.get, "/api/v1/appraisals/2026-03/revisions/1", as: "manager").text == frozen)
            #expect(AppraisalTests.fraction(AppraisalTests.line(try JSONSerialization.jsonObject(with: Data(frozen.utf8)) as! [String: Any],
                                                                "housing"), "satisfaction") == "0/1")
        }
    }
}
