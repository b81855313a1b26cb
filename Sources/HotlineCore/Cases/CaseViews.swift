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
}

public struct AssignmentView: Codable, Sendable, Equatable {
    public var unit: String
    public var role: String
    public var status: String
    public var dispatchedAt: Date

    enum CodingKeys: String, CodingKey {
        case unit, role, status
        case dispatchedAt = "dispatched_at"
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

    enum CodingKeys: String, CodingKey {
        case number, status, closure, channel, type, urgency, category, subject, description, location
        case citizen, transfer, assignments
        case directAnswer = "direct_answer"
        case acceptedAt = "accepted_at"
        case closedAt = "closed_at"
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
