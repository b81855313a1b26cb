/// The lifecycle of a case as one table (DOMAIN §5): for every step, the states it may start
/// from, the state it leads to, who may take it and the timeline event it writes. Nothing here
/// touches the database: `StepRunner` reads this table for every step it runs, and a test
/// prints the whole state × step × actor matrix from it.
public enum CaseStep: String, CaseIterable, Sendable {
    case accept
    case answerDirectly = "answer_directly"
    case transfer
    case dispatch
    case sign
    case signAssisting = "sign_assisting"
    case requestReturn = "request_return"
    case approveReturn = "approve_return"
    case rejectReturn = "reject_return"
    case requestExtension = "request_extension"
    case approveExtension = "approve_extension"
    case rejectExtension = "reject_extension"
    case giveOpinion = "give_opinion"
    case addNote = "add_note"
    case reply
    case receiveReply = "receive_reply"
    case closeNoVisit = "close_no_visit"
    case visitSatisfied = "visit_satisfied"
    case visitUnsatisfied = "visit_unsatisfied"
    case visitFailed = "visit_failed"
    case closeUnreachable = "close_unreachable"
    case reopen
    case closeAfterReview = "close_after_review"
    case exempt
    case merge
    case releaseDuplicate = "release_duplicate"
    case withdraw
    case urge
    case escalate
    case disclose
    // Tiered handling and review (DOMAIN §5a, §5b).
    case passDown = "pass_down"
    case signPassedDown = "sign_passed_down"
    case takeBack = "take_back"
    case reassign
    case approveChildReturn = "approve_child_return"
    case submitReply = "submit_reply"
    case approveReply = "approve_reply"
    case releaseReply = "release_reply"
    case sendBackReply = "send_back_reply"
    case recordContact = "record_contact"
    // Repeats (DOMAIN §15).
    case supplement
}

/// Who takes a step, as the case sees them: a role and, for a unit's handler, its relation to
/// the case.
public enum StepActor: String, CaseIterable, Sendable {
    /// A center operator (话务员).
    case `operator`
    /// A dispatcher of the center (派单员).
    case centerDispatcher = "center_dispatcher"
    /// A handler of the lead unit that handles the case: the deepest active lead (DOMAIN §5a).
    case leadHandler = "lead_handler"
    /// A handler of another lead unit of the case's chain: a parent while its child handles, or
    /// a child whose reply has gone up.
    case tierHandler = "tier_handler"
    /// A handler of an active assisting unit.
    case assistingHandler = "assisting_handler"
    /// A dispatcher of a unit's sub-center (分中心) whose unit leads the case at some level.
    case unitDispatcher = "unit_dispatcher"
    /// The service itself, carrying a step on to other cases (a master's reply, its end).
    case system
    /// An outside system's exchange client (an upper platform, 110), sending its cases.
    case exchange
}

/// Where a step leads.
public enum StepTarget: Sendable, Equatable {
    /// The case stays in the state it is in.
    case stays
    case status(CaseStatus)
    case closed(Closure)
    /// Back to the state the case was in before the return was asked for.
    case statusBeforeReturn
}

public struct StepRule: Sendable {
    public let step: CaseStep
    /// Empty for the steps that create a case.
    public let from: Set<CaseStatus>
    public let to: StepTarget
    public let actors: Set<StepActor>
    public let event: EventKind
}

public enum Lifecycle {
    /// Every state a case is open in: not closed.
    static let open: Set<CaseStatus> = [.accepted, .dispatched, .inProgress, .returnRequested, .replyReview, .replied, .merged]
    /// While a unit owes the case a step.
    static let handling: Set<CaseStatus> = [.dispatched, .inProgress, .returnRequested]
    static let center: Set<StepActor> = [.operator, .centerDispatcher]
    /// Who reviews what a unit below asks or answers: the parent's sub-center, or the center.
    static let reviewers: Set<StepActor> = [.centerDispatcher, .unitDispatcher]

    /// The table. Read it with DOMAIN §5 beside it.
    public static let rules: [StepRule] = [
        StepRule(step: .accept, from: [], to: .status(.accepted), actors: center.union([.exchange]), event: .accepted),
        StepRule(step: .answerDirectly, from: [], to: .closed(.directAnswer), actors: center, event: .answeredDirectly),
        StepRule(step: .transfer, from: [.accepted], to: .closed(.emergencyTransfer), actors: center, event: .transferred),
        StepRule(step: .dispatch, from: [.accepted], to: .status(.dispatched), actors: [.centerDispatcher], event: .dispatched),
        StepRule(step: .sign, from: [.dispatched], to: .status(.inProgress), actors: [.leadHandler], event: .signed),
        StepRule(step: .signAssisting, from: handling, to: .stays, actors: [.assistingHandler], event: .signed),
        StepRule(step: .requestReturn, from: [.dispatched, .inProgress], to: .status(.returnRequested),
                 actors: [.leadHandler], event: .returnRequested),
        StepRule(step: .approveReturn, from: [.returnRequested], to: .status(.dispatched),
                 actors: [.centerDispatcher], event: .returnApproved),
        StepRule(step: .rejectReturn, from: [.returnRequested], to: .statusBeforeReturn,
                 actors: reviewers, event: .returnRejected),
        StepRule(step: .requestExtension, from: [.inProgress], to: .stays, actors: [.leadHandler], event: .extensionRequested),
        StepRule(step: .approveExtension, from: [.inProgress], to: .stays, actors: reviewers, event: .extensionApproved),
        StepRule(step: .rejectExtension, from: [.inProgress, .returnRequested], to: .stays,
                 actors: reviewers, event: .extensionRejected),
        StepRule(step: .giveOpinion, from: handling, to: .stays, actors: [.assistingHandler], event: .opinionGiven),
        StepRule(step: .addNote, from: handling.union([.replyReview, .replied]), to: .stays,
                 actors: [.leadHandler, .tierHandler, .assistingHandler], event: .note),
        StepRule(step: .reply, from: [.inProgress], to: .status(.replied), actors: [.leadHandler], event: .replied),
        StepRule(step: .receiveReply, from: [.merged], to: .status(.replied), actors: [.system], event: .replyReceived),
        StepRule(step: .closeNoVisit, from: [.replied], to: .closed(.noVisitNeeded), actors: [.system], event: .closedNoVisit),
        // The service records the citizen's own rating from the survey SMS (DOMAIN §14) as a visit.
        StepRule(step: .visitSatisfied, from: [.replied], to: .closed(.visited), actors: center.union([.system]), event: .visited),
        StepRule(step: .visitUnsatisfied, from: [.replied], to: .stays, actors: center.union([.system]), event: .visited),
        StepRule(step: .visitFailed, from: [.replied], to: .stays, actors: center, event: .visitFailed),
        StepRule(step: .closeUnreachable, from: [.replied], to: .closed(.unreachable), actors: center, event: .closedUnreachable),
        // A merged duplicate reopened leaves its master, as its own case (DOMAIN §5).
        StepRule(step: .reopen, from: [.replied], to: .status(.inProgress), actors: center, event: .reopened),
        StepRule(step: .closeAfterReview, from: [.replied], to: .closed(.visited), actors: [.centerDispatcher],
                 event: .closedAfterReview),
        StepRule(step: .exempt, from: Set(CaseStatus.allCases), to: .stays, actors: [.centerDispatcher], event: .exempted),
        StepRule(step: .merge, from: [.accepted, .dispatched, .inProgress, .returnRequested], to: .status(.merged),
                 actors: [.centerDispatcher], event: .merged),
        StepRule(step: .releaseDuplicate, from: [.merged], to: .status(.accepted), actors: [.system], event: .unmerged),
        StepRule(step: .withdraw, from: open, to: .closed(.withdrawn), actors: center, event: .withdrawn),
        StepRule(step: .urge, from: handling.union([.replyReview]), to: .stays, actors: reviewers, event: .urged),
        StepRule(step: .escalate, from: handling.union([.replyReview]), to: .stays, actors: reviewers, event: .escalated),
        StepRule(step: .disclose, from: [.closed], to: .stays, actors: [.centerDispatcher], event: .disclosed),
        // 分级办理: the sub-center of the unit that handles passes the case down to a unit directly
        // below it, which signs without moving the case; the parent may take it back; the center
        // may reassign its own lead (改派).
        StepRule(step: .passDown, from: [.inProgress], to: .stays, actors: [.unitDispatcher], event: .passedDown),
        StepRule(step: .signPassedDown, from: [.inProgress], to: .stays, actors: [.leadHandler], event: .signed),
        StepRule(step: .takeBack, from: [.inProgress, .returnRequested], to: .status(.inProgress),
                 actors: [.unitDispatcher], event: .takenBack),
        StepRule(step: .reassign, from: [.dispatched, .inProgress], to: .status(.dispatched),
                 actors: [.centerDispatcher], event: .reassigned),
        // A child's approved return gives the case back to its parent, which signed long since.
        StepRule(step: .approveChildReturn, from: [.returnRequested], to: .status(.inProgress),
                 actors: [.unitDispatcher], event: .returnApproved),
        // A reply that a level above must approve (DOMAIN §5b); the last approval releases it to
        // the citizen, a send-back gives the lead below the reviewer a new reply deadline.
        StepRule(step: .submitReply, from: [.inProgress], to: .status(.replyReview), actors: [.leadHandler], event: .replied),
        StepRule(step: .approveReply, from: [.replyReview], to: .stays, actors: [.unitDispatcher], event: .replyApproved),
        StepRule(step: .releaseReply, from: [.replyReview], to: .status(.replied), actors: reviewers, event: .replyApproved),
        StepRule(step: .sendBackReply, from: [.replyReview], to: .status(.inProgress), actors: reviewers, event: .replySentBack),
        StepRule(step: .recordContact, from: handling, to: .stays, actors: [.leadHandler, .tierHandler], event: .contacted),
        // The citizen calls again about an open case (催单, 补充诉求): the operator adds the call to
        // it. A merged duplicate's calls go to its master, where the work is.
        StepRule(step: .supplement, from: open.subtracting([.merged]), to: .stays, actors: [.operator], event: .supplemented),
    ]

    private static let byStep: [CaseStep: StepRule] = Dictionary(uniqueKeysWithValues: rules.map { ($0.step, $0) })

    public static func rule(_ step: CaseStep) -> StepRule { byStep[step]! }

    /// Whether `actor` may take `step` on a case that is `status`.
    public static func allows(_ step: CaseStep, from status: CaseStatus, by actor: StepActor) -> Bool {
        let rule = rule(step)
        return rule.from.contains(status) && rule.actors.contains(actor)
    }

    /// The roles that could be one of the step's actors, whatever their unit.
    static func roles(of step: CaseStep) -> Set<Role> {
        Set(rule(step).actors.compactMap { actor -> Role? in
            switch actor {
            case .operator: .operator
            case .centerDispatcher, .unitDispatcher: .dispatcher
            case .leadHandler, .tierHandler, .assistingHandler: .handler
            case .system: nil
            case .exchange: .exchange
            }
        })
    }
}
