import Foundation
import HotlineCore
import PostgresNIO
import Testing

/// A generated month and its year, computed twice: by the report, and here, independently, by replaying
/// each case's timeline. The two must agree to the last numerator and denominator.
@Suite("Appraisal cross-check") struct AppraisalCrossCheckTests {
    struct Event {
        let at: Date
        let kind: String
        let unit: String?
        let details: [String: Any]
        func date(_ key: String) -> Date? { (details[key] as? String).flatMap(Timestamp.parse) }
    }

    struct Tally {
        var sign = (0, 0), reply = (0, 0), satisfied = (0, 0), resolved = (0, 0), reopen = (0, 0)
        var unreasonable = 0, escalations = 0, overdue = Set<Int64>()
        /// Adds another month's tally; overdue cases stay apart per month (`tag`).
        mutating func add(_ other: Tally, tag: Int64) {
            sign = (sign.0 + other.sign.0, sign.1 + other.sign.1)
            reply = (reply.0 + other.reply.0, reply.1 + other.reply.1)
            satisfied = (satisfied.0 + other.satisfied.0, satisfied.1 + other.satisfied.1)
            resolved = (resolved.0 + other.resolved.0, resolved.1 + other.resolved.1)
            reopen = (reopen.0 + other.reopen.0, reopen.1 + other.reopen.1)
            unreasonable += other.unreasonable
            escalations += other.escalations
            overdue.formUnion(other.overdue.map { $0 * 100 + tag })
        }
        var text: String {
            "sign \(sign.0)/\(sign.1) reply \(reply.0)/\(reply.1) sat \(satisfied.0)/\(satisfied.1) res \(resolved.0)/\(resolved.1) "
                + "reopen \(reopen.0)/\(reopen.1) unreasonable \(unreasonable) escalations \(escalations) overdue \(overdue.count)"
        }
    }

    /// The rules of DOMAIN §9, read off the timeline alone.
    static func replay(_ events: [Int64: [Event]], month: Period, now: Date) -> [String: Tally] {
        var tally: [String: Tally] = [:]
        let inMonth = { (date: Date) in date >= month.start && date < month.end }
        for (caseId, events) in events {
            if events.contains(where: { $0.kind == "withdrawn" }) { continue }
            let exempt = events.contains { $0.kind == "exempted" }
            struct Round {
                var lead: String; var assists: [String]; var at: Date; var signDue: Date; var opinionDue: Date?
                var returned = false
                /// When the case was merged away while this round ran: what was still running then ends as nothing.
                var mergedAt: Date?
            }
            var rounds: [Round] = []
            var signed: [String: Date] = [:]       // "round/unit"
            var opinions: [String: Date] = [:]
            // A reopen of a duplicate that left its master belongs to no dispatch round.
            var replyDeadlines: [(unit: String, due: Date, met: Date?, round: Int?)] = []
            var escalations: [(at: Date, unit: String, round: Int)] = []
            var replies: [(at: Date, unit: String)] = []
            var lastReplyUnit: String?
            var latestVisit: (at: Date, unit: String, satisfied: Bool, resolved: Bool)?
            for event in events {
                let round = rounds.count - 1
                switch event.kind {
                case "dispatched":
                    rounds.append(Round(lead: event.details["lead_unit"] as! String, assists: event.details["assist_units"] as! [String],
                                        at: event.at, signDue: event.date("sign_due")!, opinionDue: event.date("opinion_due")))
                    replyDeadlines.append((event.details["lead_unit"] as! String, event.date("reply_due")!, nil, rounds.count - 1))
                case "signed":
                    if signed["\(round)/\(event.unit!)"] == nil { signed["\(round)/\(event.unit!)"] = event.at }
                case "return_approved":
                    rounds[round].returned = true
                case "merged":
                    if round >= 0 { rounds[round].mergedAt = event.at }
                case "return_rejected":
                    if inMonth(event.at) { tally[event.details["unit"] as! String, default: Tally()].unreasonable += 1 }
                case "extension_approved":
                    let open = replyDeadlines.lastIndex { $0.met == nil }!
                    replyDeadlines[open].due = event.date("reply_due")!
                case "opinion_given":
                    if opinions["\(round)/\(event.unit!)"] == nil { opinions["\(round)/\(event.unit!)"] = event.at }
                case "replied":
                    let open = replyDeadlines.lastIndex { $0.met == nil }!
                    replyDeadlines[open].met = event.at
                    replies.append((event.at, event.unit!))
                    lastReplyUnit = event.unit
                case "reply_received":
                    lastReplyUnit = event.unit
                case "reopened":
                    let ownCase = event.details["left_master"] as? Bool == true
                    replyDeadlines.append((event.unit!, event.date("reply_due")!, nil, ownCase || round < 0 ? nil : round))
                    if inMonth(event.at) { tally[event.unit!, default: Tally()].reopen.0 += 1 }
                case "visited":
                    if inMonth(event.at) {
                        let satisfaction = event.details["satisfaction"] as! String
                        latestVisit = (event.at, lastReplyUnit!, satisfaction != "unsatisfied", event.details["resolved"] as! Bool)
                    }
                case "escalated":
                    escalations.append((event.at, event.unit!, round))
                default:
                    break
                }
            }
            for reply in replies where inMonth(reply.at) { tally[reply.unit, default: Tally()].reopen.1 += 1 }
            if let visit = latestVisit, !exempt {
                tally[visit.unit, default: Tally()].satisfied.0 += visit.satisfied ? 1 : 0
                tally[visit.unit, default: Tally()].satisfied.1 += 1
                tally[visit.unit, default: Tally()].resolved.0 += visit.resolved ? 1 : 0
                tally[visit.unit, default: Tally()].resolved.1 += 1
            }
            // A deadline is on time when met by it; late when met after, or never met once passed,
            // or made moot by the round's reply only after it had passed.
            func judge(due: Date, met: Date?, mootAt: Date?) -> Bool? {
                if let met { return met <= due }
                if let mootAt { return mootAt > due ? false : nil }
                return due < now ? false : nil
            }
            // Nothing of a round returned with approval counts; an escalation counts by its time.
            for escalation in escalations where inMonth(escalation.at) && !(escalation.round >= 0 && rounds[escalation.round].returned) {
                tally[escalation.unit, default: Tally()].escalations += 1
            }
            for (index, round) in rounds.enumerated() where !round.returned {
                let roundReply = replyDeadlines.first { $0.round == index }?.met ?? round.mergedAt
                for unit in [round.lead] + round.assists {
                    let onTime = judge(due: round.signDue, met: signed["\(index)/\(unit)"], mootAt: roundReply)
                    if inMonth(round.at), let onTime {
                        tally[unit, default: Tally()].sign.0 += onTime ? 1 : 0
                        tally[unit, default: Tally()].sign.1 += 1
                    }
                    if inMonth(round.signDue), onTime == false { tally[unit, default: Tally()].overdue.insert(caseId) }
                }
                for unit in round.assists {
                    if let due = round.opinionDue, inMonth(due), judge(due: due, met: opinions["\(index)/\(unit)"], mootAt: roundReply) == false {
                        tally[unit, default: Tally()].overdue.insert(caseId)
                    }
                }
            }
            for deadline in replyDeadlines where !(deadline.round.map { rounds[$0].returned } ?? false) && inMonth(deadline.due) {
                let mergedAt = deadline.round.flatMap { rounds[$0].mergedAt }
                guard let onTime = judge(due: deadline.due, met: deadline.met, mootAt: mergedAt) else { continue }
                tally[deadline.unit, default: Tally()].reply.0 += onTime ? 1 : 0
                tally[deadline.unit, default: Tally()].reply.1 += 1
                if !onTime { tally[deadline.unit, default: Tally()].overdue.insert(caseId) }
            }
        }
        return tally
    }

    /// A report's lines against the replay's tallies: how many lines, and those that differ.
    static func compare(_ report: [String: Any], _ expected: [String: Tally]) -> (Int, [String]) {
        var compared = 0
        var differences: [String] = []
        for line in report["units"] as! [[String: Any]] {
            let unit = line["unit"] as! String
            let indicators = line["indicators"] as! [String: Any]
            func pair(_ name: String) -> (Int, Int) {
                let value = indicators[name] as! [String: Any]
                return (value["numerator"] as! Int, value["denominator"] as! Int)
            }
            var got = Tally()
            got.sign = pair("on_time_sign"); got.reply = pair("on_time_reply"); got.satisfied = pair("satisfaction")
            got.resolved = pair("resolution"); got.reopen = pair("reopen")
            got.unreasonable = line["unreasonable_returns"] as! Int
            got.escalations = line["escalations"] as! Int
            got.overdue = Set((0..<(line["overdue"] as! Int)).map(Int64.init))
            let want = expected[unit] ?? Tally()
            if got.text != want.text { differences.append("\(unit): report \(got.text) | timeline \(want.text)") }
            compared += 1
        }
        return (compared, differences)
    }

    @Test func aGeneratedMonthAgreesWithAReplayOfTheTimeline() async throws {
        try await withHotline(start: Timestamp.parse("2026-05-10T09:00:00+08:00")!) { hotline in
            // setup: three weeks of a hotline's work, generated through the service's operations
            let simulation = YearSimulation(cases: 400, from: Timestamp.parse("2026-03-01T00:00:00+08:00")!,
                                            to: Timestamp.parse("2026-03-21T00:00:00+08:00")!, seed: 20260302)
            let failed = try await simulation.run(database: hotline.database, logger: TestDatabase.logger)
            #expect(failed == 0)

            // act: the report, and a replay of every timeline
            let report = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            let now = Timestamp.parse(report["generated_at"] as! String)!
            let rows = try await hotline.sql { connection in
                try await connection.query("SELECT case_id, at, kind, unit_code, details::text FROM case_events ORDER BY case_id, id",
                                           logger: TestDatabase.logger).collect()
            }
            var events: [Int64: [Event]] = [:]
            for row in rows {
                let (caseId, at, kind, unit, details) = try row.decode((Int64, Date, String, String?, String).self)
                let parsed = try JSONSerialization.jsonObject(with: Data(details.utf8)) as? [String: Any] ?? [:]
                events[caseId, default: []].append(Event(at: at, kind: kind, unit: unit, details: parsed))
            }
            #expect(events.count == (try await hotline.count("cases")))
            #expect(events.count > 400)  // the duplicates filed besides
            let expected = Self.replay(events, month: Period("2026-03")!, now: now)
            // verify: unit by unit, figure by figure
            let (compared, differences) = Self.compare(report, expected)
            #expect(differences.isEmpty, "\(differences)")
            // The year sums its months (January to May, the months begun by now): a case rated
            // in March and again in April counts in both, as an overdue case does.
            var months: [String: Tally] = [:]
            for month in 1...5 {
                for (unit, tally) in Self.replay(events, month: Period(String(format: "2026-%02d", month))!, now: now) {
                    months[unit, default: Tally()].add(tally, tag: Int64(month))
                }
            }
            let year = try await hotline.request(.get, "/api/v1/appraisals/2026", as: "manager").object()
            let (_, yearDifferences) = Self.compare(year, months)
            #expect(yearDifferences.isEmpty, "\(yearDifferences)")
            let ratedInTheYear = months.values.map(\.satisfied.1).reduce(0, +)
            let ratedInMarch = expected.values.map(\.satisfied.1).reduce(0, +)
            #expect(ratedInTheYear > ratedInMarch)  // April's ratings are in the year as well
            #expect(year["period"] as? String == "2026")
            // The month was busy enough to mean something.
            var totals = Tally()
            for tally in expected.values {
                totals.sign.1 += tally.sign.1
                totals.satisfied.1 += tally.satisfied.1
                totals.reopen.0 += tally.reopen.0
                totals.unreasonable += tally.unreasonable
                totals.overdue.formUnion(tally.overdue)
            }
            #expect(totals.sign.1 > 50)
            #expect(totals.satisfied.1 > 30)
            #expect(totals.reopen.0 > 0)
            #expect(totals.unreasonable > 0)
            #expect(!totals.overdue.isEmpty)
            // Every step of DOMAIN §5 that moves a figure happened in the month: merges (some of a
            // case already late), duplicates reopened on their own, extensions approved, rejected
            // and left to lapse, returns approved and rejected after days of waiting.
            let kinds = events.values.flatMap { $0.map(\.kind) }
            for kind in ["merged", "reply_received", "return_approved", "return_rejected", "extension_approved",
                         "extension_rejected", "reopened", "escalated", "closed_after_review", "exempted", "withdrawn"] {
                #expect(kinds.contains(kind), "the month has no \(kind)")
            }
            let reopenedDuplicates = events.values.filter { events in
                events.contains { $0.kind == "reopened" && $0.details["left_master"] as? Bool == true }
            }.count
            #expect(reopenedDuplicates > 0)
            let lateMerges = events.values.filter { events in
                guard let signDue = events.first(where: { $0.kind == "dispatched" })?.date("sign_due"),
                      let merged = events.first(where: { $0.kind == "merged" }) else { return false }
                return merged.at > signDue && !events.contains { $0.kind == "signed" }
            }.count
            #expect(lateMerges > 0)
            let lapsed = try await hotline.sql { connection in
                try await connection.query("SELECT count(*) FROM extension_requests WHERE status = 'lapsed'", logger: TestDatabase.logger)
                    .collect().first!.decode(Int.self)
            }
            #expect(lapsed > 0)
            let slowReviews = events.values.filter { events in
                guard let asked = events.first(where: { $0.kind == "return_requested" }),
                      let reviewed = events.first(where: { $0.kind == "return_approved" || $0.kind == "return_rejected" }) else { return false }
                return reviewed.at.timeIntervalSince(asked.at) > 86_400
            }.count
            #expect(slowReviews > 0)
            #expect(compared >= 31)
        }
    }

    /// The benchmarks' copies of a record report exactly as many times the original.
    @Test func aReplicatedRecordReportsInProportion() async throws {
        try await withHotline(start: Timestamp.parse("2026-05-10T09:00:00+08:00")!) { hotline in
            let simulation = YearSimulation(cases: 120, from: Timestamp.parse("2026-03-02T00:00:00+08:00")!,
                                            to: Timestamp.parse("2026-03-16T00:00:00+08:00")!, seed: 7)
            #expect(try await simulation.run(database: hotline.database, logger: TestDatabase.logger) == 0)
            let before = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            let cases = try await hotline.count("cases")
            try await Replication.replicate(baseCases: Int64(cases), copies: 1...2, database: hotline.database, logger: TestDatabase.logger)
            #expect(try await hotline.count("cases") == 3 * cases)
            let after = try await hotline.request(.get, "/api/v1/appraisals/2026-03", as: "manager").object()
            var mismatches: [String] = []
            var checked = 0
            for line in before["units"] as! [[String: Any]] {
                let unit = line["unit"] as! String
                let tripled = Self.figures(line).map { $0 * 3 }
                let copied = Self.figures(AppraisalTests.line(after, unit))
                if tripled != copied { mismatches.append("\(unit): \(tripled) vs \(copied)") }
                checked += copied.reduce(0, +)
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
            #expect(checked > 100)
            // A copied case is a case like any other.
            let number = try await hotline.sql { connection in
                try await connection.query("SELECT number FROM cases ORDER BY id DESC LIMIT 1", logger: TestDatabase.logger)
                    .collect().first!.decode(String.self)
            }
            #expect(try await hotline.request(.get, "/api/v1/cases/\(number)", as: "operator").status == .ok)
            #expect(try await hotline.request(.get, "/api/v1/cases/\(number)/timeline", as: "operator").items().count > 1)
        }
    }

    static func figures(_ line: [String: Any]) -> [Int] {
        let indicators = line["indicators"] as? [String: Any] ?? [:]
        var out: [Int] = []
        for name in ["on_time_sign", "on_time_reply", "satisfaction", "resolution", "reopen"] {
            let value = indicators[name] as? [String: Any] ?? [:]
            out += [value["numerator"] as? Int ?? -1, value["denominator"] as? Int ?? -1]
        }
        return out + [line["unreasonable_returns"] as? Int ?? -1, line["escalations"] as? Int ?? -1, line["overdue"] as? Int ?? -1]
    }
}
