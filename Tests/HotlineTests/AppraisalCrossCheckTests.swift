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
        var sign = (0, 0), reply = (0, 0), satisfied = (0, 0), resolved = (0, 0), reopen = (0, 0), response = (0, 0)
        var unreasonable = 0, escalations = 0, sentBack = 0, overdue = Set<Int64>()
        /// Adds another month's tally; overdue cases stay apart per month (`tag`).
        mutating func add(_ other: Tally, tag: Int64) {
            sign = (sign.0 + other.sign.0, sign.1 + other.sign.1)
            reply = (reply.0 + other.reply.0, reply.1 + other.reply.1)
            satisfied = (satisfied.0 + other.satisfied.0, satisfied.1 + other.satisfied.1)
            resolved = (resolved.0 + other.resolved.0, resolved.1 + other.resolved.1)
            reopen = (reopen.0 + other.reopen.0, reopen.1 + other.reopen.1)
            response = (response.0 + other.response.0, response.1 + other.response.1)
            unreasonable += other.unreasonable
            escalations += other.escalations
            sentBack += other.sentBack
            overdue.formUnion(other.overdue.map { $0 * 100 + tag })
        }
        var text: String {
            "sign \(sign.0)/\(sign.1) reply \(reply.0)/\(reply.1) sat \(satisfied.0)/\(satisfied.1) res \(resolved.0)/\(resolved.1) "
                + "reopen \(reopen.0)/\(reopen.1) response \(response.0)/\(response.1) unreasonable \(unreasonable) "
                + "escalations \(escalations) sent back \(sentBack) overdue \(overdue.count)"
        }
    }

    /// Who a rating counts for, read off every timeline first: the unit that wrote each reply
    /// and each level that approved it (a duplicate's visit rates its master's reply).
    static func raters(_ events: [Int64: [Event]]) -> [Int: [String]] {
        var units: [Int: [String]] = [:]
        for event in events.values.joined() {
            guard let reply = event.details["reply_id"] as? Int else { continue }
            if event.kind == "replied" { units[reply, default: []].insert(event.unit!, at: 0) }
            // A level's approval carries whether it met the level's own reply deadline; the
            // center's does not.
            if event.kind == "reply_approved", event.details["reply_on_time"] != nil { units[reply, default: []].append(event.unit!) }
        }
        return units
    }

    /// The rules of DOMAIN §9, read off the timeline alone.
    static func replay(_ events: [Int64: [Event]], month: Period, now: Date) -> [String: Tally] {
        var tally: [String: Tally] = [:]
        let inMonth = { (date: Date) in date >= month.start && date < month.end }
        let raters = raters(events)
        for (caseId, events) in events {
            if events.contains(where: { $0.kind == "withdrawn" }) { continue }
            let exempt = events.contains { $0.kind == "exempted" }
            struct Round {
                var lead: String; var assists: [String]; var at: Date; var signDue: Date; var opinionDue: Date?
                /// The first contact the center's dispatch owed, if any.
                var contactDue: Date?
                var returned = false
                /// When the case was merged away while this round ran: what was still running then ends as nothing.
                var mergedAt: Date?
            }
            struct Reply { var at: Date; var unit: String; var round: Int?; var released: Bool; var sentBack = false }
            var rounds: [Round] = []
            var signed: [String: Date] = [:]       // "round/unit"
            var opinions: [String: Date] = [:]
            // A reopen of a duplicate that left its master belongs to no dispatch round.
            var replyDeadlines: [(unit: String, due: Date, met: Date?, round: Int?)] = []
            var escalations: [(at: Date, unit: String, round: Int)] = []
            var replies: [Reply] = []
            var sentBacks: [(at: Date, unit: String, round: Int?)] = []
            var currentReply: Int?
            var contactedAt: Date?
            var firstReplyAt: Date?
            var latestVisit: (at: Date, units: [String], satisfied: Bool, resolved: Bool)?
            /// The latest round a unit leads; one it leads or assists in.
            func led(_ unit: String) -> Int? { rounds.lastIndex { $0.lead == unit } }
            func holding(_ unit: String) -> Int? { rounds.lastIndex { $0.lead == unit || $0.assists.contains(unit) } }
            /// The unit's reply deadline still open.
            func open(_ unit: String) -> Int? { replyDeadlines.lastIndex { $0.unit == unit && $0.met == nil } }
            for event in events {
                let round = rounds.count - 1
                switch event.kind {
                case "dispatched", "passed_down":
                    let lead = event.details["lead_unit"] as! String
                    rounds.append(Round(lead: lead, assists: event.details["assist_units"] as? [String] ?? [],
                                        at: event.at, signDue: event.date("sign_due")!, opinionDue: event.date("opinion_due"),
                                        contactDue: event.date("contact_due")))
                    replyDeadlines.append((lead, event.date("reply_due")!, nil, rounds.count - 1))
                case "signed":
                    let held = holding(event.unit!) ?? round
                    if signed["\(held)/\(event.unit!)"] == nil { signed["\(held)/\(event.unit!)"] = event.at }
                case "contacted":
                    if contactedAt == nil { contactedAt = event.date("contacted_at") }
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
                    if let open = open(event.unit!) { replyDeadlines[open].met = event.at }
                    replies.append(Reply(at: event.at, unit: event.unit!, round: led(event.unit!),
                                         released: event.details["under_review"] as? Bool != true))
                    currentReply = event.details["reply_id"] as? Int
                    if firstReplyAt == nil { firstReplyAt = event.at }
                case "reply_approved":
                    // A level's approval is its own reply; the last approval releases the reply.
                    if event.details["reply_on_time"] != nil, let open = open(event.unit!) { replyDeadlines[open].met = event.at }
                    if event.details["released"] as? Bool == true { replies[replies.count - 1].released = true }
                case "reply_sent_back":
                    replies[replies.count - 1].sentBack = true
                    let writer = replies[replies.count - 1]
                    sentBacks.append((event.at, writer.unit, writer.round))
                    let below = event.details["unit"] as! String
                    replyDeadlines.append((below, event.date("reply_due")!, nil, led(below)))
                case "reply_received":
                    currentReply = event.details["reply_id"] as? Int
                case "reopened":
                    if event.details["left_master"] as? Bool == true {
                        replyDeadlines.append((event.unit!, event.date("reply_due")!, nil, nil))
                    } else if let dues = event.details["reply_dues"] as? [String: String] {
                        // The writer and each lead above it, each with its own reopen deadline.
                        for (unit, due) in dues { replyDeadlines.append((unit, Timestamp.parse(due)!, nil, led(unit) ?? (round < 0 ? nil : round))) }
                    } else {
                        replyDeadlines.append((event.unit!, event.date("reply_due")!, nil, round < 0 ? nil : round))
                    }
                    if inMonth(event.at) { tally[event.unit!, default: Tally()].reopen.0 += 1 }
                case "visited":
                    if inMonth(event.at) {
                        let satisfaction = event.details["satisfaction"] as! String
                        latestVisit = (event.at, raters[currentReply!] ?? [], satisfaction != "unsatisfied", event.details["resolved"] as! Bool)
                    }
                case "escalated":
                    escalations.append((event.at, event.unit!, round))
                default:
                    break
                }
            }
            // Reopens are over the replies that reached their citizens.
            for reply in replies where inMonth(reply.at) && reply.released && !reply.sentBack {
                tally[reply.unit, default: Tally()].reopen.1 += 1
            }
            for sent in sentBacks where inMonth(sent.at) && !(sent.round.map { rounds[$0].returned } ?? false) {
                tally[sent.unit, default: Tally()].sentBack += 1
            }
            if let visit = latestVisit, !exempt {
                for unit in Set(visit.units) {
                    tally[unit, default: Tally()].satisfied.0 += visit.satisfied ? 1 : 0
                    tally[unit, default: Tally()].satisfied.1 += 1
                    tally[unit, default: Tally()].resolved.0 += visit.resolved ? 1 : 0
                    tally[unit, default: Tally()].resolved.1 += 1
                }
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
                // Response: the lead signed on time and, where a first contact was owed, made it in
                // time. The contact deadline ends with the case's first reply (a contact not made)
                // or its merge (not owed, if before it passed); a missed contact counts even while
                // the signing is undecided; one still running waits.
                if inMonth(round.at) {
                    let signedInTime = judge(due: round.signDue, met: signed["\(index)/\(round.lead)"], mootAt: roundReply)
                    var contact: Bool? = true
                    if let due = round.contactDue {
                        let ended = [firstReplyAt, round.mergedAt].compactMap { $0 }.min()
                        // A contact recorded once the deadline had ended meets nothing.
                        var met = contactedAt
                        if let at = met, let ended, at > ended { met = nil }
                        if let met {
                            contact = met <= due
                        } else if let ended {
                            contact = ended == round.mergedAt && ended <= due
                        } else {
                            contact = due < now ? false : nil
                        }
                    }
                    let responded = signedInTime == true && contact == true
                    if responded || signedInTime == false || contact == false {
                        tally[round.lead, default: Tally()].response.0 += responded ? 1 : 0
                        tally[round.lead, default: Tally()].response.1 += 1
                    }
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
            got.resolved = pair("resolution"); got.reopen = pair("reopen"); got.response = pair("response")
            got.sentBack = line["sent_back"] as! Int
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
                totals.sentBack += tally.sentBack
                totals.response = (totals.response.0 + tally.response.0, totals.response.1 + tally.response.1)
                totals.overdue.formUnion(tally.overdue)
            }
            #expect(totals.sign.1 > 50)
            #expect(totals.satisfied.1 > 30)
            #expect(totals.reopen.0 > 0)
            #expect(totals.unreasonable > 0)
            #expect(!totals.overdue.isEmpty)
            #expect(totals.sentBack > 0)
            // Some leads responded and some did not.
            #expect(totals.response.0 > 0 && totals.response.0 < totals.response.1)
            // Every step of DOMAIN §5 that moves a figure happened in the month: merges (some of a
            // case already late), duplicates reopened on their own, extensions approved, rejected
            // and left to lapse, returns approved and rejected after days of waiting.
            let kinds = events.values.flatMap { $0.map(\.kind) }
            for kind in ["merged", "reply_received", "return_approved", "return_rejected", "extension_approved",
                         "extension_rejected", "reopened", "escalated", "closed_after_review", "exempted", "withdrawn",
                         "passed_down", "reply_approved", "reply_sent_back", "contacted"] {
                let happened = kinds.contains(kind)
                #expect(happened, "the month has no \(kind)")
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
        for name in ["on_time_sign", "on_time_reply", "satisfaction", "resolution", "reopen", "response"] {
            let value = indicators[name] as? [String: Any] ?? [:]
            out += [value["numerator"] as? Int ?? -1, value["denominator"] as? Int ?? -1]
        }
        return out + [line["unreasonable_returns"] as? Int ?? -1, line["escalations"] as? Int ?? -1, line["overdue"] as? Int ?? -1,
                      line["sent_back"] as? Int ?? -1]
    }
}
