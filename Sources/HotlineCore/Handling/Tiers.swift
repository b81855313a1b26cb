import Foundation
import Logging
import PostgresNIO

/// 分级办理 (DOMAIN §5a): a unit that leads a case passes it down to a unit directly below it,
/// through its own sub-center's dispatcher, and may take it back; the center reassigns (改派).
public enum Tiers {
    public struct Reassignment: Decodable, Sendable {
        public var leadUnit: String?
        public var assistUnits: [String]?
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case reason
            case leadUnit = "lead_unit"
            case assistUnits = "assist_units"
        }
    }

    public static func passDown(
        _ number: String, _ input: @autoclosure () throws -> Dispatch.Request, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.passDown, number, by: staff, at: now, on: connection, logger: logger) { step in
            let own = step.own!
            try requireHandles(own, in: step.chain, to: "pass it down")
            guard own.status == .signed else {
                throw HotlineError(.conflict, code: .invalidTransition, "sign the case before passing it down")
            }
            let request = try input()
            let note = try Dispatch.checkedNote(request.note)
            guard let lead = request.leadUnit else { throw HotlineError.validation(field: "lead_unit", "name the unit to pass the case down to") }
            let assists = request.assistUnits ?? []
            var checker = FieldChecker()
            Categories.checkTeam(lead: lead, assist: assists, field: "assist_units", into: &checker)
            try checker.check()
            for (unit, field) in [(lead, "lead_unit")] + assists.map({ ($0, "assist_units") }) {
                try await requireDirectChild(unit, of: own.unit, field: field, on: connection, logger: logger)
                // A unit already working on the case (an assisting unit, say) does not get a second part of it.
                if step.chain.assignments.contains(where: { $0.unit == unit && $0.isActive && $0.status != .replied }) {
                    throw HotlineError(.unprocessable, code: .sameUnit, "\(field) names a unit that already works on this case")
                }
            }
            guard let parentReply = try await ExtensionRequests.openReplyDeadline(own.id, on: connection, logger: logger) else {
                throw HotlineError(.conflict, code: .invalidTransition, "the unit has no reply pending to pass down")
            }
            let limits = try await Handling.limits(for: step.handle, on: connection, logger: logger)
            let calendar = try await CalendarStore.load(on: connection, logger: logger)
            let cap = calendar.tierCap(beforeParentDue: parentReply.due, urgent: step.handle.urgency == .urgent)
            let round = step.handle.dispatchRound + 1
            let window = limits[.returnWindow]!
            let returnUntil = min(calendar.adding(window, to: now).at, max(cap, now))
            let child = try await connection.row("""
                INSERT INTO assignments (case_id, parent_id, unit_code, role, status, dispatched_at, round, designated, return_until)
                VALUES (\(step.handle.id), \(own.id), \(lead), 'lead', 'dispatched', \(now), \(round), false, \(returnUntil))
                ON CONFLICT DO NOTHING
                RETURNING id
                """, logger: logger)
            guard let childId = try child?.value("id", as: Int64.self) else {
                throw HotlineError(.conflict, code: .passedDown, "the case has just been passed down: take it back first")
            }
            func open(_ id: Int64, _ unit: String, _ deadline: DeadlineStep, _ limit: LimitStep, cap: Date) async throws -> Date {
                try await DeadlineLedger.open(caseId: step.handle.id, assignmentId: id, unit: unit, step: deadline, start: now,
                                              limit: limits[limit]!, cap: cap, calendar: calendar, on: connection, logger: logger).due.at
            }
            let signDue = try await open(childId, lead, .sign, .passedDownSign, cap: cap)
            let replyDue = try await open(childId, lead, .reply, .passedDownReply, cap: cap)
            try await open(childId, lead, .returnWindow, .returnWindow, cap: cap)
            var opinionDue: Date?
            for unit in assists {
                let assist = try await connection.row("""
                    INSERT INTO assignments (case_id, parent_id, unit_code, role, status, dispatched_at, round)
                    VALUES (\(step.handle.id), \(own.id), \(unit), 'assist', 'dispatched', \(now), \(round))
                    RETURNING id
                    """, logger: logger)!.value("id", as: Int64.self)
                try await open(assist, unit, .sign, .passedDownSign, cap: cap)
                opinionDue = try await open(assist, unit, .opinion, .passedDownOpinion, cap: min(cap, replyDue))
            }
            step.change.nextRound = true
            step.unit = own.unit
            step.details = [
                "round": .number(Double(round)), "from_unit": .string(own.unit), "lead_unit": .string(lead),
                "assist_units": .array(assists.map { .string($0) }), "parent_reply_due": .string(Timestamp.format(parentReply.due)),
                "sign_due": .string(Timestamp.format(signDue)), "reply_due": .string(Timestamp.format(replyDue)),
                "opinion_due": JSONValue(opinionDue.map(Timestamp.format)), "note": JSONValue(note),
            ]
            logger.info("case passed down", metadata: ["case": "\(number)", "from": "\(own.unit)", "to": "\(lead)"])
        }
    }

    /// The parent handles again: every assignment below it that is still working on the case
    /// ends `taken_back` (what its units missed stays missed), and their pending requests lapse.
    public static func takeBack(
        _ number: String, _ input: @autoclosure () throws -> Review.Reason, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.takeBack, number, by: staff, at: now, on: connection, logger: logger) { step in
            let own = step.own!
            guard let child = step.chain.child(of: own), child.isHandling else {
                throw HotlineError(.conflict, code: .notPassedDown, "the case is not being handled below \(own.unit): nothing to take back")
            }
            let reason = try Handling.reason(try input().reason)
            let below = step.chain.assignments.filter {
                $0.isActive && [.dispatched, .signed, .done].contains($0.status) && step.chain.isBelow($0, own)
            }
            for assignment in below {
                try await Assignments.end(assignment, as: .takenBack, at: now, on: connection, logger: logger)
            }
            step.unit = own.unit
            step.details = ["from_unit": .string(child.unit), "reason": .string(reason)]
        }
    }

    /// 改派: the center gives its case to another lead without a return request; the first
    /// unit's part (and everything passed down below it) ends `reassigned`, which does not count
    /// against it.
    public static func reassign(
        _ number: String, _ input: @autoclosure () throws -> Reassignment, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(.reassign, number, by: staff, at: now, on: connection, logger: logger) { step in
            let request = try input()
            let reason = try Handling.reason(request.reason)
            guard let first = step.chain.leads.first else {
                throw HotlineError(.conflict, code: .invalidTransition, "this case has no lead unit to reassign")
            }
            let dispatch = Dispatch.Request(leadUnit: request.leadUnit, assistUnits: request.assistUnits)
            let team = try await Dispatch.team(for: step.handle, request: dispatch, excluding: nil, on: connection, logger: logger)
            if team.lead == first.unit {
                throw HotlineError(.unprocessable, code: .sameUnit, "a reassignment goes to another lead unit than \(first.unit)")
            }
            for assignment in step.chain.assignments where assignment.isActive && assignment.status != .replied {
                try await Assignments.end(assignment, as: .reassigned, at: now, on: connection, logger: logger)
            }
            step.details = ["from_unit": .string(first.unit), "reason": .string(reason)]
            step.follow(.dispatched, try await Dispatch.createRound(&step, team: team, note: nil, on: connection, logger: logger))
        }
    }

    /// The caller's unit must be the one handling the case now, not one whose child handles it.
    static func requireHandles(_ own: Assignment, in chain: LeadChain, to action: String) throws {
        if let child = chain.child(of: own), child.isHandling {
            throw HotlineError(.conflict, code: .passedDown,
                               "the case is passed down to \(child.unit), which handles it: take it back first to \(action)")
        }
        guard own.isHandling else {
            throw HotlineError(.conflict, code: .invalidTransition, "the assignment of \(own.unit) is \(own.status.rawValue)")
        }
    }

    /// A unit a case may be passed down to: active, and directly below `parent`.
    static func requireDirectChild(
        _ unit: String, of parent: String, field: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await Units.requireUnit(unit, field: field, on: connection, logger: logger, active: true)
        let above = try await connection.row("SELECT parent FROM units WHERE code = \(unit)", logger: logger)!
            .value("parent", as: String?.self)
        guard above == parent else {
            let message = unit == parent ? "a unit cannot pass a case down to itself"
                : "\(field) names a unit that is not directly below \(parent): a case goes down one level at a time"
            throw HotlineError(.unprocessable, code: .notBelow, message, fields: [.init(field: field, message: message)])
        }
    }

    /// Who reviews what an assignment asks or answers: the dispatcher of its parent's unit, or
    /// the center's for an assignment the center dispatched. Anyone else is refused.
    static func requireReviewer(of assignment: Assignment, _ step: StepContext, what: String) throws {
        let reviewer = assignment.parent
        switch step.actor {
        case .centerDispatcher where reviewer == nil: return
        case .unitDispatcher where reviewer != nil && reviewer == step.own?.id: return
        default:
            let who = reviewer.flatMap { id in step.chain.assignments.first { $0.id == id }?.unit }
            throw HotlineError(.forbidden, code: .notReviewer,
                               "\(what) of \(assignment.unit) is reviewed by " + (who.map { "the dispatcher of \($0)" } ?? "the center"))
        }
    }
}
