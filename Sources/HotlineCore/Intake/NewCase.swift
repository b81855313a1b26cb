/// A case as an operator sends it (DOMAIN §4).
public struct NewCase: Decodable, Sendable {
    public var channel: Channel
    public var type: CaseType
    public var urgency: Urgency
    public var category: String
    public var subject: String
    public var description: String
    public var location: Location?
    public var citizen: CitizenInput
    public var directAnswer: DirectAnswer?
    /// A case from another system: where it came from (DOMAIN §14).
    public var source: SourceInput?

    public init(
        channel: Channel, type: CaseType, urgency: Urgency = .normal, category: String, subject: String,
        description: String, location: Location? = nil, citizen: CitizenInput, directAnswer: DirectAnswer? = nil
    ) {
        self.channel = channel
        self.type = type
        self.urgency = urgency
        self.category = category
        self.subject = subject
        self.description = description
        self.location = location
        self.citizen = citizen
        self.directAnswer = directAnswer
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channel = try c.decode(Channel.self, forKey: .channel)
        type = try c.decode(CaseType.self, forKey: .type)
        urgency = try c.decodeIfPresent(Urgency.self, forKey: .urgency) ?? .normal
        category = try c.decode(String.self, forKey: .category)
        subject = try c.decode(String.self, forKey: .subject)
        description = try c.decode(String.self, forKey: .description)
        location = try c.decodeIfPresent(Location.self, forKey: .location)
        citizen = try c.decode(CitizenInput.self, forKey: .citizen)
        directAnswer = try c.decodeIfPresent(DirectAnswer.self, forKey: .directAnswer)
        source = try c.decodeIfPresent(SourceInput.self, forKey: .source)
    }

    enum CodingKeys: String, CodingKey {
        case channel, type, urgency, category, subject, description, location, citizen, source
        case directAnswer = "direct_answer"
    }
}

/// Where the matter is: an address, the district or town it lies in, and a point on the map.
public struct Location: Codable, Sendable, Equatable {
    public var address: String?
    public var region: String?
    public var latitude: Double?
    public var longitude: Double?

    public init(address: String? = nil, region: String? = nil, latitude: Double? = nil, longitude: Double? = nil) {
        self.address = address
        self.region = region
        self.latitude = latitude
        self.longitude = longitude
    }

    var isEmpty: Bool { address == nil && region == nil && latitude == nil && longitude == nil }
}

/// Who asks, as the operator records it. An anonymous caller gives no name or phone.
public struct CitizenInput: Decodable, Sendable {
    public var name: String?
    public var phone: String?
    public var anonymous: Bool
    public var confidential: Bool
    public var contactConsent: Bool

    public init(name: String? = nil, phone: String? = nil, anonymous: Bool = false, confidential: Bool = false, contactConsent: Bool = false) {
        self.name = name
        self.phone = phone
        self.anonymous = anonymous
        self.confidential = confidential
        self.contactConsent = contactConsent
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        phone = try c.decodeIfPresent(String.self, forKey: .phone)
        anonymous = try c.decodeIfPresent(Bool.self, forKey: .anonymous) ?? false
        confidential = try c.decodeIfPresent(Bool.self, forKey: .confidential) ?? false
        contactConsent = try c.decodeIfPresent(Bool.self, forKey: .contactConsent) ?? false
    }

    enum CodingKeys: String, CodingKey {
        case name, phone, anonymous, confidential
        case contactConsent = "contact_consent"
    }
}

/// An answer given on the spot from the knowledge base, citing the articles used.
public struct DirectAnswer: Codable, Sendable, Equatable {
    public var text: String
    public var articleIds: [Int64]

    public init(text: String, articleIds: [Int64] = []) {
        self.text = text
        self.articleIds = articleIds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decode(String.self, forKey: .text)
        articleIds = try c.decodeIfPresent([Int64].self, forKey: .articleIds) ?? []
    }

    enum CodingKeys: String, CodingKey {
        case text
        case articleIds = "article_ids"
    }
}
