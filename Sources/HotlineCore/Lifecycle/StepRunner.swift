import Foundation
import Logging
import PostgresNIO

/// What a step changes on the case row besides its status.
struct CaseChange: Sendable {
    var transferService: String?
    var replyId: Int64?
    var mergedInto: Int64?
    /// The case leaves its master (released, or reopened on its own).
    var leavesMerge = false
    var nextRound = false
    var reopened = false
    var approvedReturn = false
}

/// What a step's own work sees and hands back to the runner.
struct StepContext: Sendable {
    let step: CaseStep
    let handle: CaseHandle
    let actor: StepActor
    let staff: Staff?
    let now: Date
    /// The caller's unit's active assignment on the case, for a handler's or a unit
    /// dispatcher's step.
    let own: Assignment?
    /// The case's lead assignments, from the center's down.
    let chain: LeadChain
    /// A second case the step needs locked first (a merge's master).
    let other: CaseHandle?
    var change = CaseChange()
    /// The details of the step's timeline event, and the unit it concerns.
    var details: [String: JSONValue] = [:]
    var unit: String?
    /// Events the step writes after its own: a round opened by an approval, a master told of
    /// its new duplicate.
    var followUps: [FollowUp] = []

    struct FollowUp: Sendable {
        let caseId: Int64
        let kind: EventKind
        let details: [String: JSONValue]
    }

    mutating func follow(_ kind: EventKind, on caseId: Int64? = nil, _ details: [String: JSONValue] = [:]) {
        followUps.append(FollowUp(caseId: caseId ?? handle.id, kind: kind, details: details))
    }
}

/// Where the caller stands in a case, for a step that depends on it.
struct StepPlace: Sendable {
    let actor: StepActor?
    let own: Assignment?
    let handle: CaseHandle
    let chain: LeadChain
}

/// The one way a step is taken (DOMAIN §5): lock the case, authorise the caller from the table,
/// check the state, run the step's own work, move the status with one UPDATE guarded by the
/// step's from-states, and write the step's timeline event, all in the caller's transaction.
/// Of two people acting at once, the second waits on the lock and then finds the new state.
public enum StepRunner {
    @discardableResult
    static func run<Result: Sendable>(
        _ step: CaseStep, _ number: String, by staff: Staff, alsoLocking master: () throws -> String? = { nil }, at now: Date,
        on connection: PostgresConnection, logger: Logger,
        _ work: (inout StepContext) async throws -> Result
    ) async throws -> Result {
        try await run(among: [step], number, by: staff, alsoLocking: master, at: now, on: connection, logger: logger,
                      pick: { _ in step }, work)
    }

    /// A step that depends on who takes it and where the case stands (a lead's signature moves
    /// the case, an assisting unit's does not; a reply goes up for review or to the citizen):
    /// `pick` chooses among `steps` once the caller's place in the case is known.
    @discardableResult
    static func run<Result: Sendable>(
        among steps: [CaseStep], _ number: String, by staff: Staff, alsoLocking master: () throws -> String? = { nil }, at now: Date,
        on connection: PostgresConnection, logger: Logger, pick: (StepPlace) async throws -> CaseStep,
        _ work: (inout StepContext) async throws -> Result
    ) async throws -> Result {
        try authorise(steps, staff)
        // Master first, then duplicate: the order every step that touches both takes its locks in.
        // (`master` is read once the caller's role may take the step.)
        var other: CaseHandle?
        if let master = try master() {
            guard let found = try await CaseAccess.find(master, on: connection, logger: logger, lock: true) else {
                throw HotlineError(.unprocessable, code: .unknownMaster, "master names no case")
            }
            other = found
        }
        guard let handle = try await CaseAccess.find(number, on: connection, logger: logger, lock: true) else {
            throw HotlineError.notFound("case")
        }
        let chain = try await Assignments.chain(caseId: handle.id, on: connection, logger: logger)
        let (actor, own) = try actor(staff, in: chain)
        let rule = Lifecycle.rule(try await pick(StepPlace(actor: actor, own: own, handle: handle, chain: chain)))
        guard let actor, rule.actors.contains(actor) else { throw refusal(actors(of: steps), steps) }
        var context = StepContext(step: rule.step, handle: handle, actor: actor, staff: staff, now: now, own: own, chain: chain,
                                  other: other)
        return try await go(rule, &context, recordedBy: staff, on: connection, logger: logger, work)
    }

    /// The steps `staff` may take on the case now, as the table has them: its state and the
    /// caller's place in it (a step may still refuse for a reason of its own, such as a reply
    /// that waits for another level's review). What a workbench page offers.
    public static func available(_ number: String, for staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> [CaseStep] {
        guard let handle = try await CaseAccess.find(number, on: connection, logger: logger, lock: false) else {
            throw HotlineError.notFound("case")
        }
        let chain = try await Assignments.chain(caseId: handle.id, on: connection, logger: logger)
        guard let actor = try actor(staff, in: chain).0 else { return [] }
        return Lifecycle.rules.filter { $0.from.contains(handle.status) && $0.actors.contains(actor) }.map(\.step)
    }

    /// The state a case is created in by a step that creates one (accept, answer directly).
    static func creates(_ step: CaseStep) -> (CaseStatus, Closure?) {
        let rule = Lifecycle.rule(step)
        precondition(rule.from.isEmpty, "\(step) does not create a case")
        return target(rule.to, nil)!
    }

    /// The events of the steps that created a case, in the transaction that stored it.
    static func created(
        caseId: Int64, _ steps: [(CaseStep, [String: JSONValue])], by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        for (step, details) in steps {
            try await Timeline.record(caseId: caseId, kind: createdEvent(step), by: staff, at: now, details: details,
                                      on: connection, logger: logger)
        }
    }

    /// The event a step that creates a case records (intake writes it in the statement that
    /// stores the case).
    static func createdEvent(_ step: CaseStep) -> EventKind {
        let rule = Lifecycle.rule(step)
        precondition(rule.from.isEmpty, "\(step) does not create a case")
        return rule.event
    }

    /// Refuses at once a caller whose role can take none of `steps` on any case, before the
    /// case is looked up or what was sent is read.
    static func authorise(_ steps: [CaseStep], _ staff: Staff) throws {
        guard steps.contains(where: { Lifecycle.roles(of: $0).contains(staff.role) }) else {
            throw refusal(actors(of: steps), steps)
        }
    }

    private static func actors(of steps: [CaseStep]) -> Set<StepActor> {
        steps.reduce(into: []) { $0.formUnion(Lifecycle.rule($1).actors) }
    }

    /// A step the service carries on to a case this transaction reaches through another one (a
    /// master's duplicates); the event names `staff`, whose step caused it, where there is one.
    @discardableResult
    static func carry<Result: Sendable>(
        _ step: CaseStep, caseId: Int64, causedBy staff: Staff?, at now: Date,
        on connection: PostgresConnection, logger: Logger,
        _ work: (inout StepContext) async throws -> Result = { _ in () }
    ) async throws -> Result {
        let rule = Lifecycle.rule(step)
        precondition(rule.actors.contains(.system), "\(step) is not a step the service carries on")
        let handle = try await CaseAccess.find(id: caseId, on: connection, logger: logger, lock: true)
        let chain = try await Assignments.chain(caseId: handle.id, on: connection, logger: logger)
        var context = StepContext(step: step, handle: handle, actor: .system, staff: staff, now: now, own: nil, chain: chain,
                                  other: nil)
        return try await go(rule, &context, recordedBy: staff, on: connection, logger: logger, work)
    }

    private static func go<Result: Sendable>(
        _ rule: StepRule, _ context: inout StepContext, recordedBy staff: Staff?,
        on connection: PostgresConnection, logger: Logger,
        _ work: (inout StepContext) async throws -> Result
    ) async throws -> Result {
        let handle = context.handle
        guard rule.from.contains(handle.status) else {
            throw HotlineError.invalidTransition(current: handle.status.rawValue, action: rule.step.verb)
        }
        let result = try await work(&context)
        if let to = target(rule.to, handle) {
            try await move(handle, from: rule, to: to, context.change, at: context.now, on: connection, logger: logger)
        } else if context.change.nextRound {
            // A step that opens a round without moving the case (a pass-down): the round is counted
            // all the same, so that the next one is new.
            try await connection.execute(
                "UPDATE cases SET dispatch_round = dispatch_round + 1 WHERE id = \(handle.id)", logger: logger
            )
        }
        try await Timeline.record(caseId: handle.id, kind: rule.event, by: staff, at: context.now, unit: context.unit,
                                  details: context.details, on: connection, logger: logger)
        for event in context.followUps {
            try await Timeline.record(caseId: event.caseId, kind: event.kind, by: staff, at: context.now, details: event.details,
                                      on: connection, logger: logger)
        }
        return result
    }

    private static func target(_ to: StepTarget, _ handle: CaseHandle?) -> (CaseStatus, Closure?)? {
        switch to {
        case .stays: nil
        case .status(let status): (status, nil)
        case .closed(let closure): (.closed, closure)
        case .statusBeforeReturn: (handle?.statusBeforeReturn ?? .dispatched, nil)
        }
    }

    /// The one statement that changes a case's status, guarded by the step's from-states.
    private static func move(
        _ handle: CaseHandle, from rule: StepRule, to: (status: CaseStatus, closure: Closure?), _ change: CaseChange,
        at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let from = rule.from.map(\.rawValue)
        let moved = try await connection.execute("""
            UPDATE cases SET status = \(to.status.rawValue),
                   closure = CASE WHEN \(to.closure?.rawValue)::text IS NULL THEN closure ELSE \(to.closure?.rawValue) END,
                   closed_at = CASE WHEN \(to.closure?.rawValue)::text IS NULL THEN closed_at ELSE \(now) END,
                   status_before_return = CASE WHEN \(to.status.rawValue) = 'return_requested' THEN status END,
                   transfer_service = coalesce(\(change.transferService), transfer_service),
                   reply_id = coalesce(\(change.replyId), reply_id),
                   merged_into = CASE WHEN \(change.leavesMerge) THEN NULL ELSE coalesce(\(change.mergedInto), merged_into) END,
                   dispatch_round = dispatch_round + \(change.nextRound ? 1 : 0),
                   reopen_count = reopen_count + \(change.reopened ? 1 : 0),
                   approved_returns = approved_returns + \(change.approvedReturn ? 1 : 0)
            WHERE id = \(handle.id) AND status = ANY(\(from)) RETURNING id
            """, logger: logger)
        guard moved == 1 else {
            // Cannot happen while the row is locked; kept so that the guard is never silent.
            let now = try await CaseAccess.find(id: handle.id, on: connection, logger: logger)
            throw HotlineError.invalidTransition(current: now.status.rawValue, action: rule.step.verb)
        }
    }

    /// Who the caller is to this case. A unit (its handler or its dispatcher) that has never
    /// been assigned to it learns nothing, not even that it exists: 404, as for a case that does
    /// not exist.
    private static func actor(_ staff: Staff, in chain: LeadChain) throws -> (StepActor?, Assignment?) {
        switch staff.role {
        case .operator: return (.operator, nil)
        case .dispatcher where staff.unit == nil: return (.centerDispatcher, nil)
        case .dispatcher, .handler:
            guard chain.assignments.contains(where: { $0.unit == staff.unit }) else { throw HotlineError.notFound("case") }
            if let lead = chain.lead(of: staff.unit) {
                if staff.role == .dispatcher { return (.unitDispatcher, lead) }
                return (lead.id == chain.handling?.id ? .leadHandler : .tierHandler, lead)
            }
            if staff.role == .handler,
               let assist = chain.assignments.last(where: { $0.unit == staff.unit && $0.role == .assist && $0.isActive }) {
                return (.assistingHandler, assist)
            }
            return (nil, nil)
        case .manager, .supervisor, .admin, .exchange: return (nil, nil)
        }
    }

    /// The refusal for a caller the step's rule does not name, in the words of what it needs.
    static func refusal(_ rule: StepRule) -> HotlineError { refusal(rule.actors, [rule.step]) }

    static func refusal(_ actors: Set<StepActor>, _ steps: [CaseStep]) -> HotlineError {
        let handlers: Set<StepActor> = [.leadHandler, .tierHandler, .assistingHandler]
        switch actors {
        case [.leadHandler]:
            return HotlineError(.forbidden, code: .notLeadUnit, "only a handler of the lead unit that handles the case may do this")
        case [.leadHandler, .tierHandler]:
            return HotlineError(.forbidden, code: .notLeadUnit, "only a handler of a lead unit of the case may do this")
        case [.assistingHandler]:
            return HotlineError(.forbidden, code: .notAssistingUnit, "only a handler of an assisting unit may do this")
        case [.unitDispatcher]:
            return HotlineError(.forbidden, code: .notSubCenter, "only the dispatcher of a sub-center whose unit leads the case may do this")
        case let some where some.isSubset(of: handlers) && some.contains(.leadHandler) && some.contains(.assistingHandler):
            return HotlineError(.forbidden, code: .notAssigned, "only a handler of a unit assigned to the case may do this")
        default:
            return HotlineError.forbidden("this needs the role "
                + Set(steps.flatMap(Lifecycle.roles(of:))).map(\.rawValue).sorted().joined(separator: " or "))
        }
    }
}

extension CaseStep {
    /// The verb of "cannot … a case that is …".
    var verb: String {
        switch self {
        case .accept: "accept"
        case .answerDirectly: "answer"
        case .transfer: "transfer"
        case .dispatch: "dispatch"
        case .sign, .signAssisting: "sign"
        case .requestReturn: "return"
        case .approveReturn: "approve a return of"
        case .rejectReturn: "reject a return of"
        case .requestExtension, .approveExtension: "extend"
        case .rejectExtension: "reject an extension of"
        case .giveOpinion: "give an opinion on"
        case .addNote: "add a note to"
        case .reply: "reply to"
        case .receiveReply: "pass a reply to"
        case .closeNoVisit, .closeUnreachable: "close"
        case .visitSatisfied, .visitUnsatisfied, .visitFailed: "visit"
        case .reopen: "reopen"
        case .closeAfterReview: "close after review"
        case .exempt: "exempt"
        case .merge: "merge"
        case .releaseDuplicate: "release"
        case .withdraw: "withdraw"
        case .urge: "urge"
        case .escalate: "escalate"
        case .disclose: "disclose"
        case .passDown: "pass down"
        case .signPassedDown: "sign"
        case .takeBack: "take back"
        case .reassign: "reassign"
        case .approveChildReturn: "approve a return of"
        case .submitReply: "reply to"
        case .approveReply, .releaseReply: "approve a reply to"
        case .sendBackReply: "send back a reply to"
        case .recordContact: "record a first contact on"
        case .supplement: "add a supplement to"
        }
    }
}
