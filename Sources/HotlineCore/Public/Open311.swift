import Crypto
import Foundation
import Logging
import PostgresNIO

/// Open311 GeoReport v2 (DOMAIN §12): existing citizen apps and civic tools file and follow
/// requests. Services are the active leaf categories; a request is a case on the `open311`
/// channel. Only cases filed through Open311 are visible through it, and never a report (举报)
/// or a confidential one.
public enum Open311 {
    /// A failure in GeoReport's own form: `[{"code": 400, "description": "…"}]`.
    public struct Failure: Error, Sendable {
        public let status: Int
        public let description: String

        public init(_ status: Int, _ description: String) {
            self.status = status
            self.description = description
        }
    }

    public struct Service: Codable, Sendable, Equatable {
        public var serviceCode: String
        public var serviceName: String
        public var description: String
        public var metadata: Bool
        public var type: String
        public var keywords: String
        public var group: String

        enum CodingKeys: String, CodingKey {
            case description, metadata, type, keywords, group
            case serviceCode = "service_code"
            case serviceName = "service_name"
        }
    }

    public struct Attribute: Codable, Sendable, Equatable {
        public struct Value: Codable, Sendable, Equatable {
            public var key: String
            public var name: String
        }

        public var variable: Bool
        public var code: String
        public var datatype: String
        public var required: Bool
        public var datatypeDescription: String
        public var order: Int
        public var description: String
        public var values: [Value]

        enum CodingKeys: String, CodingKey {
            case variable, code, datatype, required, order, description, values
            case datatypeDescription = "datatype_description"
        }
    }

    public struct ServiceDefinition: Codable, Sendable, Equatable {
        public var serviceCode: String
        public var attributes: [Attribute]

        enum CodingKeys: String, CodingKey {
            case attributes
            case serviceCode = "service_code"
        }
    }

    public struct Request: Codable, Sendable, Equatable {
        public var serviceRequestId: String
        public var status: String
        public var statusNotes: String?
        public var serviceName: String
        public var serviceCode: String
        /// Only for a category whose descriptions may be public; the citizen removed.
        public var description: String?
        public var agencyResponsible: String?
        public var serviceNotice: String?
        public var requestedDatetime: Date
        public var updatedDatetime: Date
        public var expectedDatetime: Date?
        public var address: String?
        public var addressId: String?
        public var zipcode: String?
        public var lat: Double?
        public var long: Double?
        public var mediaUrl: String?

        enum CodingKeys: String, CodingKey {
            case status, description, address, zipcode, lat, long
            case serviceRequestId = "service_request_id"
            case statusNotes = "status_notes"
            case serviceName = "service_name"
            case serviceCode = "service_code"
            case agencyResponsible = "agency_responsible"
            case serviceNotice = "service_notice"
            case requestedDatetime = "requested_datetime"
            case updatedDatetime = "updated_datetime"
            case expectedDatetime = "expected_datetime"
            case addressId = "address_id"
            case mediaUrl = "media_url"
        }

        /// GeoReport clients expect every field, null where there is nothing.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(serviceRequestId, forKey: .serviceRequestId)
            try c.encode(status, forKey: .status)
            try c.encode(statusNotes, forKey: .statusNotes)
            try c.encode(serviceName, forKey: .serviceName)
            try c.encode(serviceCode, forKey: .serviceCode)
            try c.encode(description, forKey: .description)
            try c.encode(agencyResponsible, forKey: .agencyResponsible)
            try c.encode(serviceNotice, forKey: .serviceNotice)
            try c.encode(requestedDatetime, forKey: .requestedDatetime)
            try c.encode(updatedDatetime, forKey: .updatedDatetime)
            try c.encode(expectedDatetime, forKey: .expectedDatetime)
            try c.encode(address, forKey: .address)
            try c.encode(addressId, forKey: .addressId)
            try c.encode(zipcode, forKey: .zipcode)
            try c.encode(lat, forKey: .lat)
            try c.encode(long, forKey: .long)
            try c.encode(mediaUrl, forKey: .mediaUrl)
        }
    }

    public struct Created: Codable, Sendable, Equatable {
        public var serviceRequestId: String
        public var serviceNotice: String?
        public var accountId: String?

        enum CodingKeys: String, CodingKey {
            case serviceRequestId = "service_request_id"
            case serviceNotice = "service_notice"
            case accountId = "account_id"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(serviceRequestId, forKey: .serviceRequestId)
            try c.encode(serviceNotice, forKey: .serviceNotice)
            try c.encode(accountId, forKey: .accountId)
        }
    }

    // MARK: Services

    static let requestTypes: [(CaseType, String)] = [
        (.help, "求助 help"), (.complaint, "投诉 complaint"), (.consultation, "咨询 consultation"), (.suggestion, "建议 suggestion"),
    ]

    public static func services(on connection: PostgresConnection, logger: Logger) async throws -> [Service] {
        try await connection.rows("""
            SELECT c.code, c.name, coalesce(p.name, '') AS group_name
            FROM categories c LEFT JOIN categories p ON p.code = c.parent
            WHERE c.active AND NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent = c.code)
            ORDER BY c.code
            """, logger: logger).map { row in
            let name: String = try row.value("name")
            return Service(serviceCode: try row.value("code"), serviceName: name, description: name, metadata: true,
                           type: "realtime", keywords: "", group: try row.value("group_name"))
        }
    }

    /// Every service asks what kind of request it is; a public utility also asks whether the
    /// supply is cut off, which makes the case urgent.
    public static func definition(_ code: String, on connection: PostgresConnection, logger: Logger) async throws -> ServiceDefinition {
        guard try await connection.row("""
            SELECT 1 FROM categories c WHERE c.code = \(code) AND c.active
              AND NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent = c.code)
            """, logger: logger) != nil else { throw Failure(404, "service_code \(code.prefix(64)) was not found") }
        var attributes = [Attribute(
            variable: true, code: "request_type", datatype: "singlevaluelist", required: false,
            datatypeDescription: "求助、投诉、咨询或建议（默认求助）", order: 1, description: "诉求类型 Kind of request",
            values: requestTypes.map { Attribute.Value(key: $0.0.rawValue, name: $0.1) }
        )]
        if code.hasPrefix("utilities.") {
            attributes.append(Attribute(
                variable: true, code: "supply_cut_off", datatype: "singlevaluelist", required: false,
                datatypeDescription: "是否已完全停供", order: 2, description: "是否已完全停水、停电、停气或停暖 Is the supply cut off?",
                values: [.init(key: "true", name: "是 yes"), .init(key: "false", name: "否 no")]
            ))
        }
        return ServiceDefinition(serviceCode: code, attributes: attributes)
    }

    // MARK: Filing

    /// The parameters of POST requests.json, form-encoded as GeoReport sends them.
    static func file(
        _ form: [String: String], as client: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Created {
        guard let code = form["service_code"], !code.isEmpty else { throw Failure(400, "service_code was not provided") }
        let definition = try await definition(code, on: connection, logger: logger)
        let name = try await connection.row("SELECT name FROM categories WHERE code = \(code)", logger: logger)!.value("name", as: String.self)
        var type = CaseType.help
        if let raw = form["attribute[request_type]"] {
            guard let chosen = requestTypes.first(where: { $0.0.rawValue == raw })?.0 else {
                throw Failure(400, "attribute[request_type] must be one of help, complaint, consultation, suggestion")
            }
            type = chosen
        }
        var urgent = false
        if definition.attributes.contains(where: { $0.code == "supply_cut_off" }), let raw = form["attribute[supply_cut_off]"] {
            guard raw == "true" || raw == "false" else { throw Failure(400, "attribute[supply_cut_off] must be true or false") }
            urgent = raw == "true"
        }
        let (lat, long) = (form["lat"].flatMap(Double.init), form["long"].flatMap(Double.init))
        if (form["lat"] != nil && lat == nil) || (form["long"] != nil && long == nil) {
            throw Failure(400, "lat and long must be numbers")
        }
        let address = form["address_string"].flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 }
        guard (lat != nil && long != nil) || address != nil else {
            throw Failure(400, "a location is required: lat and long, or address_string")
        }
        let description = form["description"].flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 } ?? name
        let fullName = [form["last_name"], form["first_name"]].compactMap { $0?.trimmingWhitespace() }.filter { !$0.isEmpty }.joined()
        let phone = form["phone"].flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 }
        let citizen = phone == nil
            ? CitizenInput(anonymous: true)  // no way to call back: the case is anonymous, and any name is dropped
            : CitizenInput(name: fullName.isEmpty ? nil : fullName, phone: phone)
        let subject = String("\(name)：\(description)".prefix(60))
        let input = NewCase(channel: .open311, type: type, urgency: urgent ? .urgent : .normal, category: code,
                            subject: subject, description: description,
                            location: Location(address: address, latitude: lat, longitude: long), citizen: citizen)
        do {
            let accepted = try await Intake.accept(input, by: client, at: now, on: connection, logger: logger)
            return Created(serviceRequestId: accepted.number, serviceNotice: acceptedNotice, accountId: nil)
        } catch let error as HotlineError {
            throw Failure(error.kind == .forbidden ? 403 : 400, error.fields.first.map { "\($0.field): \($0.message)" } ?? error.message)
        }
    }

    // MARK: Following

    public struct Query: Sendable {
        public var ids: [String]?
        public var serviceCodes: [String]?
        public var start: Date?
        public var end: Date?
        public var status: String?

        public init() {}
    }

    public static func requests(_ query: Query, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> [Request] {
        if let status = query.status, status != "open", status != "closed" { throw Failure(400, "status must be open or closed") }
        // Without ids, the 90 days GeoReport specifies by default.
        let end = query.end ?? now
        let start = query.start ?? end.addingTimeInterval(-90 * 86_400)
        if query.ids == nil, end.timeIntervalSince(start) > 90 * 86_400 { throw Failure(400, "start_date to end_date spans at most 90 days") }
        // A public list (no key is needed to read it): what a public page may show, the citizen's
        // identity removed from every text, and never a reply written for another case.
        let rows = try await connection.rows("""
            SELECT c.number, c.status, c.category, k.name AS service_name, k.public_description, c.description, c.address,
                   c.latitude, c.longitude, c.accepted_at, lead.name AS agency, c.closure, c.merged_into IS NOT NULL AS merged,
                   CASE WHEN p.case_id = c.id THEN p.text END AS reply_text,
                   contact.name AS citizen_name, contact.phone AS citizen_phone,
                   (SELECT max(e.at) FROM case_events e WHERE e.case_id = c.id) AS updated_at,
                   (SELECT d.due_at FROM deadlines d JOIN assignments a ON a.id = d.assignment_id
                     WHERE a.case_id = coalesce(c.merged_into, c.id) AND a.role = 'lead' AND a.parent_id IS NULL AND d.step = 'reply'
                     ORDER BY d.id DESC LIMIT 1) AS expected
            FROM cases c
            JOIN categories k ON k.code = c.category
            LEFT JOIN LATERAL (
                SELECT u.name FROM assignments a JOIN units u ON u.code = a.unit_code
                WHERE a.case_id = coalesce(c.merged_into, c.id) AND a.role = 'lead' AND a.status IN ('dispatched', 'signed', 'replied')
                  AND a.parent_id IS NULL
                ORDER BY a.id DESC LIMIT 1
            ) lead ON true
            LEFT JOIN replies p ON p.id = c.reply_id
            LEFT JOIN case_contacts contact ON contact.case_id = c.id
            WHERE c.channel = 'open311' AND c.case_type <> 'report' AND NOT c.confidential
              AND (\(query.ids)::text[] IS NULL OR c.number = ANY(\(query.ids)))
              AND (\(query.ids)::text[] IS NOT NULL OR (c.accepted_at >= \(start) AND c.accepted_at <= \(end)))
              AND (\(query.serviceCodes)::text[] IS NULL OR c.category = ANY(\(query.serviceCodes)))
              AND (\(query.status)::text IS NULL OR (c.status = 'closed') = (\(query.status) = 'closed'))
            ORDER BY c.accepted_at DESC, c.id DESC
            LIMIT 1000
            """, logger: logger)
        return try rows.map { row in
            let status: String = try row.value("status")
            let closure: String? = try row.value("closure")
            let identity = [CitizenIdentity(name: try row.value("citizen_name"), phone: try row.value("citizen_phone"))]
            func shown(_ text: String?) -> String? { FreeText.shown(text, to: .removed, identities: identity) }
            let reply = shown(try row.value("reply_text", as: String?.self))
            let merged: Bool = try row.value("merged")
            let notes = reply ?? (closure == "withdrawn" ? "市民已撤回诉求。" : merged ? "已与同一事项的诉求合并办理。" : nil)
            // Where the matter is and what it is about only where the category's descriptions may be public.
            let open: Bool = try row.value("public_description")
            return Request(
                serviceRequestId: try row.value("number"),
                status: status == "closed" ? "closed" : "open",
                statusNotes: notes,
                serviceName: try row.value("service_name"), serviceCode: try row.value("category"),
                description: open ? shown(try row.value("description", as: String.self)) : nil,
                agencyResponsible: try row.value("agency"), serviceNotice: nil,
                requestedDatetime: try row.value("accepted_at"), updatedDatetime: try row.value("updated_at"),
                expectedDatetime: try row.value("expected"), address: open ? shown(try row.value("address", as: String?.self)) : nil,
                addressId: nil, zipcode: nil,
                lat: open ? try row.value("latitude") : nil, long: open ? try row.value("longitude") : nil, mediaUrl: nil
            )
        }
    }

    // MARK: Keys

    public struct Key: Codable, Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var createdAt: Date
        public var revokedAt: Date?
        /// Only in the answer that creates the key.
        public var apiKey: String?

        enum CodingKeys: String, CodingKey {
            case id, name
            case createdAt = "created_at"
            case revokedAt = "revoked_at"
            case apiKey = "api_key"
        }
    }

    public struct NewKey: Decodable, Sendable {
        public var name: String
    }

    public static func createKey(
        _ input: @autoclosure () throws -> NewKey, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Key {
        try staff.require(.admin)
        var checker = FieldChecker()
        let name = checker.text(try input().name, field: "name", max: 80)
        try checker.check()
        let user = try await Users.create(NewUser(name: "Open311：\(name!)", role: .operator, unit: nil), on: connection, logger: logger)
        // The account files cases and nothing else: it has no bearer token.
        let key = "o311_" + randomToken()
        let row = try await connection.row("""
            INSERT INTO open311_keys (name, user_id, key_hash, created_at) VALUES (\(name!), \(user.id), \(hash(key)), \(now))
            RETURNING id
            """, logger: logger)!
        return Key(id: try row.value("id"), name: name!, createdAt: now, revokedAt: nil, apiKey: key)
    }

    public static func keys(by staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> [Key] {
        try staff.require(.admin)
        return try await connection.rows("SELECT id, name, created_at, revoked_at FROM open311_keys ORDER BY id", logger: logger).map { row in
            Key(id: try row.value("id"), name: try row.value("name"), createdAt: try row.value("created_at"),
                revokedAt: try row.value("revoked_at"), apiKey: nil)
        }
    }

    public static func revokeKey(_ id: Int64, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try staff.require(.admin)
        guard try await connection.row(
            "UPDATE open311_keys SET revoked_at = coalesce(revoked_at, \(now)) WHERE id = \(id) RETURNING id", logger: logger
        ) != nil else { throw HotlineError.notFound("key") }
    }

    /// The client a live API key belongs to, acting as its own operator account, and the key's id.
    public static func client(apiKey: String, on connection: PostgresConnection, logger: Logger) async throws -> (staff: Staff, keyId: Int64)? {
        guard apiKey.utf8.count <= 200, let row = try await connection.row("""
            SELECT id, user_id FROM open311_keys WHERE key_hash = \(hash(apiKey)) AND revoked_at IS NULL
            """, logger: logger) else { return nil }
        return (Staff(id: try row.value("user_id"), role: .operator, unit: nil), try row.value("id"))
    }

    /// Files a request under a key: at most so many a minute per key, and once per
    /// `Idempotency-Key` (a retry answers the request filed first).
    public static func file(
        _ form: [String: String], apiKey: String, idempotencyKey: String?, fingerprint: [UInt8], limits: PublicLimits,
        retention: Duration, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Created {
        guard let (client, keyId) = try await client(apiKey: apiKey, on: connection, logger: logger) else {
            throw Failure(403, "api_key is not valid")
        }
        guard try await RateLimits.allow("open311:\(keyId)", limit: limits.open311PostsPerMinute, at: now,
                                         on: connection, logger: logger) else {
            throw Failure(429, "this api_key filed too many requests this minute; wait a minute")
        }
        let scope = "open311:\(keyId)"
        if let idempotencyKey, let record = try await Idempotency.claim(
            scope: scope, key: idempotencyKey, fingerprint: fingerprint, at: now, keptFor: retention, on: connection, logger: logger
        ) {
            return Created(serviceRequestId: record.reference, serviceNotice: acceptedNotice, accountId: nil)
        }
        let created = try await file(form, as: client, at: now, on: connection, logger: logger)
        if let idempotencyKey {
            try await Idempotency.complete(scope: scope, key: idempotencyKey, status: 201, reference: created.serviceRequestId,
                                           on: connection, logger: logger)
        }
        return created
    }

    static let acceptedNotice = "已受理，将按规定时限办理答复。"

    static func hash(_ key: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(key.utf8)))
    }

    static func randomToken() -> String {
        Secrets.random(prefix: "")
    }
}
