import Foundation

/// The citizen as a reader may see them: masked, and absent altogether for readers who may
/// not see identity at all (DOMAIN §10).
public struct CitizenView: Codable, Sendable, Equatable {
    public var name: String?
    public var phone: String?
    public var anonymous: Bool
    public var confidential: Bool
    public var contactConsent: Bool

    enum CodingKeys: String, CodingKey {
        case name, phone, anonymous, confidential
        case contactConsent = "contact_consent"
    }

    /// A citizen as the center and the lead unit see them: name and phone masked.
    static func masked(
        name: String?, phone: String?, anonymous: Bool, confidential: Bool, contactConsent: Bool
    ) -> CitizenView {
        CitizenView(name: name.map(Contact.maskName), phone: phone.map(Contact.maskPhone),
                    anonymous: anonymous, confidential: confidential, contactConsent: contactConsent)
    }
}

public struct AssignmentView: Codable, Sendable, Equatable {
    /// What urging and escalating by hand name.
    public var id: Int64
    /// The parent assignment's id of a passed-down one (DOMAIN §5a); nil for the center's dispatch.
    public var parent: Int64?
    public var unit: String
    public var role: String
    public var status: String
    public var round: Int
    public var designated: Bool
    public var dispatchedAt: Date
    public var signedAt: Date?
    /// Until when the lead unit may ask to return the case.
    public var returnUntil: Date?
    public var deadlines: [DeadlineView]
    public var card: Card

    enum CodingKeys: String, CodingKey {
        case id, parent, unit, role, status, round, designated, deadlines, card
        case dispatchedAt = "dispatched_at"
        case signedAt = "signed_at"
        case returnUntil = "return_until"
    }
}

/// A reply as it goes up for review (DOMAIN §5b): every reply written on the case, with its
/// status and each level's review.
public struct ReplyEntry: Codable, Sendable, Equatable {
    public struct ReviewEntry: Codable, Sendable, Equatable {
        /// The reviewing unit; nil for the center.
        public var unit: String?
        public var decision: String
        public var reason: String?
        public var reviewedAt: Date

        enum CodingKeys: String, CodingKey {
            case unit, decision, reason
            case reviewedAt = "reviewed_at"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(unit, forKey: .unit)
            try c.encode(decision, forKey: .decision)
            try c.encode(reason, forKey: .reason)
            try c.encode(reviewedAt, forKey: .reviewedAt)
        }
    }

    public var id: Int64
    public var unit: String
    public var status: String
    /// Who reviews it now, while it is under review: a unit, or "center".
    public var reviewer: String?
    public var outcome: ReplyOutcome
    public var text: String
    public var repliedAt: Date
    public var reviews: [ReviewEntry]

    enum CodingKeys: String, CodingKey {
        case id, unit, status, reviewer, outcome, text, reviews
        case repliedAt = "replied_at"
    }
}

/// The first contact with the citizen (先行联系, DOMAIN §5b).
public struct ContactView: Codable, Sendable, Equatable {
    public var unit: String
    public var at: Date
    public var method: ContactMethod
    public var note: String?
}

/// The lead unit's answer to the citizen.
public struct ReplyView: Codable, Sendable, Equatable {
    public var unit: String
    public var outcome: ReplyOutcome
    public var text: String
    public var contactedCitizen: Bool
    public var handlerName: String
    public var handlerPhone: String
    public var repliedAt: Date

    enum CodingKeys: String, CodingKey {
        case unit, outcome, text
        case contactedCitizen = "contacted_citizen"
        case handlerName = "handler_name"
        case handlerPhone = "handler_phone"
        case repliedAt = "replied_at"
    }
}

public struct VisitView: Codable, Sendable, Equatable {
    public var id: Int64
    public var visitedAt: Date
    public var reached: Bool
    public var satisfaction: Satisfaction?
    public var resolved: Bool?
    public var note: String?
    /// `phone` (an operator called) or `sms` (the citizen answered the survey SMS).
    public var method: String

    enum CodingKeys: String, CodingKey {
        case id, reached, satisfaction, resolved, note, method
        case visitedAt = "visited_at"
    }
}

public struct OpinionView: Codable, Sendable, Equatable {
    public var id: Int64
    public var unit: String
    public var text: String
    public var givenAt: Date

    enum CodingKeys: String, CodingKey {
        case id, unit, text
        case givenAt = "given_at"
    }
}

/// A return or extension request and how it was decided.
public struct RequestView: Codable, Sendable, Equatable {
    public var id: Int64
    public var unit: String
    public var status: String
    public var reason: String
    public var workingDays: Int?
    public var approvedDays: Int?
    public var suggestedUnit: String?
    public var requestedAt: Date
    public var reviewedAt: Date?
    public var reviewReason: String?

    enum CodingKeys: String, CodingKey {
        case id, unit, status, reason
        case workingDays = "working_days"
        case approvedDays = "approved_days"
        case suggestedUnit = "suggested_unit"
        case requestedAt = "requested_at"
        case reviewedAt = "reviewed_at"
        case reviewReason = "review_reason"
    }
}

public struct TransferView: Codable, Sendable, Equatable {
    public var service: EmergencyService
    public var at: Date
}

/// A case as read (API.md, "case, as read").
public struct CaseView: Codable, Sendable, Equatable {
    public var number: String
    public var status: CaseStatus
    public var closure: Closure?
    public var channel: Channel
    public var type: CaseType
    public var urgency: Urgency
    public var category: String
    public var subject: String
    public var description: String
    public var location: Location?
    public var citizen: CitizenView?
    public var directAnswer: DirectAnswer?
    public var transfer: TransferView?
    public var acceptedAt: Date
    public var closedAt: Date?
    public var assignments: [AssignmentView]
    /// The reply the citizen received (once it is `replied`).
    public var reply: ReplyView?
    /// Every reply written, with its review.
    public var replies: [ReplyEntry]
    public var firstContact: ContactView?
    public var visitDeadline: DeadlineView?
    public var visits: [VisitView]
    public var opinions: [OpinionView]
    public var returnRequests: [RequestView]
    public var extensionRequests: [RequestView]
    public var reopenCount: Int
    public var approvedReturns: Int
    public var exemptReason: String?
    public var mergedInto: String?
    public var duplicates: [String]
    /// Where a case from another system came from (an upper platform, 110); absent otherwise.
    public var source: CaseSource? = nil
    /// Only in the answer to intake: identity the operator wrote into the text.
    public var warnings: [IntakeWarning]? = nil
    /// The citizen's calls about the case after it was filed (DOMAIN §15), oldest first.
    public var supplements: [SupplementView] = []
    /// The center's only: the earlier cases of the same phone in the 30 days before this one.
    public var repeatOf: [String]? = nil
    /// Only in the answer to intake, for the center: cases the citizen may be calling about again.
    public var similar: [SimilarCase]? = nil

    enum CodingKeys: String, CodingKey {
        case number, status, closure, channel, type, urgency, category, subject, description, location
        case citizen, transfer, assignments, reply, replies, visits, opinions, duplicates, source, warnings
        case supplements, similar
        case repeatOf = "repeat_of"
        case directAnswer = "direct_answer"
        case firstContact = "first_contact"
        case acceptedAt = "accepted_at"
        case closedAt = "closed_at"
        case visitDeadline = "visit_deadline"
        case returnRequests = "return_requests"
        case extensionRequests = "extension_requests"
        case reopenCount = "reopen_count"
        case approvedReturns = "approved_returns"
        case exemptReason = "exempt_reason"
        case mergedInto = "merged_into"
    }
}

/// A citizen's call about an open case, as the reader may see its text.
public struct SupplementView: Codable, Sendable, Equatable {
    public var id: Int64
    public var at: Date
    public var text: String
}

/// Something the operator should know about what was just filed (DOMAIN §10).
public struct IntakeWarning: Codable, Sendable, Equatable {
    public var code: String
    public var field: String
    public var message: String

    init(_ finding: FreeText.Finding, field: String) {
        self.field = field
        switch finding {
        case .citizenName:
            code = "citizen_name_in_text"
            message = "\(field) repeats the citizen's name; units see it masked, but it need not be written there"
        case .citizenPhone:
            code = "citizen_phone_in_text"
            message = "\(field) repeats the citizen's phone; units see it masked, but it need not be written there"
        case .idCard:
            code = "id_card_in_text"
            message = "\(field) holds an ID-card number; units see it masked, but it need not be written there"
        }
    }
}

/// A line of a case list: what a reader scans, never who the citizen is.
public struct CaseSummary: Codable, Sendable, Equatable {
    public var number: String
    public var status: CaseStatus
    public var closure: Closure?
    public var channel: Channel
    public var type: CaseType
    public var urgency: Urgency
    public var category: String
    public var subject: String
    public var region: String?
    public var acceptedAt: Date
    public var closedAt: Date?

    enum CodingKeys: String, CodingKey {
        case number, status, closure, channel, type, urgency, category, subject, region
        case acceptedAt = "accepted_at"
        case closedAt = "closed_at"
    }
}

/// A page of a list and the cursor of the next one (nil on the last page).
public struct Page<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }
}
