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
}

/// Who takes a step, as the case sees them: a role and, for a unit's handler, its relation to
/// the case.
public enum StepActor: String, CaseIterable, Sendable {
    /// A center operator (话务员).
    case `operator`
    /// A dispatcher of the center (派单员).
    case centerDispatcher = "center_dispatcher"
    /// A handler of the case's active lead unit.
    case leadHandler = "lead_handler"
    /// A handler of an active assisting unit.
    case assistingHandler = "assisting_handler"
    /// The service itself, carrying a step on to other cases (a master's reply, its end).
    case system
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
    static let open: Set<CaseStatus> = [.accepted, .dispatched, .inProgress, .returnRequested, .replied, .merged]
    /// While a unit owes the case a step.
    static let handling: Set<CaseStatus> = [.dispatched, .inProgress, .returnRequested]
    static let center: Set<StepActor> = [.operator, .centerDispatcher]

    /// The table. Read it with DOMAIN §5 beside it.
    public static let rules: [StepRule] = [
        StepRule(step: .accept, from: [], to: .status(.accepted), actors: center, event: .accepted),
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
                 actors: [.centerDispatcher], event: .returnRejected),
        StepRule(step: .requestExtension, from: [.inProgress], to: .stays, actors: [.leadHandler], event: .extensionRequested),
        StepRule(step: .approveExtension, from: [.inProgress], to: .stays, actors: [.centerDispatcher], event: .extensionApproved),
        StepRule(step: .rejectExtension, from: [.inProgress, .returnRequested], to: .stays,
                 actors: [.centerDispatcher], event: .extensionRejected),
        StepRule(step: .giveOpinion, from: handling, to: .stays, actors: [.assistingHandler], event: .opinionGiven),
        StepRule(step: .addNote, from: handling.union([.replied]), to: .stays,
                 actors: [.leadHandler, .assistingHandler], event: .note),
        StepRule(step: .reply, from: [.inProgress], to: .status(.replied), actors: [.leadHandler], event: .replied),
        StepRule(step: .receiveReply, from: [.merged], to: .status(.replied), actors: [.system], event: .replyReceived),
        StepRule(step: .closeNoVisit, from: [.replied], to: .closed(.noVisitNeeded), actors: [.system], event: .closedNoVisit),
        StepRule(step: .visitSatisfied, from: [.replied], to: .closed(.visited), actors: center, event: .visited),
        StepRule(step: .visitUnsatisfied, from: [.replied], to: .stays, actors: center, event: .visited),
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
        StepRule(step: .urge, from: handling, to: .stays, actors: [.centerDispatcher], event: .urged),
        StepRule(step: .escalate, from: handling, to: .stays, actors: [.centerDispatcher], event: .escalated),
        StepRule(step: .disclose, from: [.closed], to: .stays, actors: [.centerDispatcher], event: .disclosed),
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
            case .centerDispatcher: .dispatcher
            case .leadHandler, .assistingHandler: .handler
            case .system: nil
            }
        })
    }
}
