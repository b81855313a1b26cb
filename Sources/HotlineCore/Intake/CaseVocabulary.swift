/// The closed vocabularies of a case (API.md, "Vocabulary").

public enum Channel: String, Vocabulary {
    case phone, web, app, wechat, sms, email, letter, open311
    /// A case sent down by an upper platform (the province's, 互联网+督查, a leadership message board).
    case upperPlatform = "upper_platform"
    /// A case pushed by 110 (12345 与 110 对接).
    case police110 = "police_110"

    /// A case of these channels comes from another system and carries its `source`.
    public var isExchange: Bool { self == .upperPlatform || self == .police110 }
}

public enum CaseType: String, Vocabulary {
    case consultation, help, complaint, report, suggestion
}

public enum Urgency: String, Vocabulary {
    case normal, urgent
}

public enum CaseStatus: String, Vocabulary {
    case accepted, dispatched
    case inProgress = "in_progress"
    case returnRequested = "return_requested"
    /// A reply written, waiting for the level above to approve it (DOMAIN §5b).
    case replyReview = "reply_review"
    case replied, closed, merged
}

public enum Closure: String, Vocabulary {
    case visited
    case directAnswer = "direct_answer"
    case emergencyTransfer = "emergency_transfer"
    case withdrawn, unreachable
    case noVisitNeeded = "no_visit_needed"
}

/// The emergency services a call is handed to (110 police, 119 fire, 120 ambulance, 122 traffic).
public enum EmergencyService: String, Vocabulary {
    case police = "110"
    case fire = "119"
    case ambulance = "120"
    case traffic = "122"
}
