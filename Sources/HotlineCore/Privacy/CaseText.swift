import Logging
import PostgresNIO

/// The free text of one case as one reader sees it: every field a unit can read goes through
/// this, so that what DOMAIN §10 says of free text holds in one place.
struct CaseText: Sendable {
    let sight: TextSight
    var identities: [CitizenIdentity]

    static let original = CaseText(sight: .original, identities: [])

    func callAsFunction(_ text: String) -> String {
        FreeText.shown(text, to: sight, identities: identities)
    }

    func callAsFunction(_ text: String?) -> String? {
        FreeText.shown(text, to: sight, identities: identities)
    }

    func callAsFunction(_ value: JSONValue) -> JSONValue {
        FreeText.shown(value, to: sight, identities: identities)
    }

    /// The case's text for this reader; the citizen is read only when something must be hidden.
    static func of(
        _ handle: CaseHandle, sight: Sight, for staff: Staff, on connection: PostgresConnection, logger: Logger
    ) async throws -> CaseText {
        try await of(caseId: handle.id, sight: staff.textSight(identityProtected: handle.identityProtected, leads: sight == .leadUnit),
                     on: connection, logger: logger)
    }

    static func of(caseId: Int64, sight: TextSight, on connection: PostgresConnection, logger: Logger) async throws -> CaseText {
        guard sight != .original else { return .original }
        return CaseText(sight: sight, identities: try await identities(of: [caseId], on: connection, logger: logger)[caseId].map { [$0] } ?? [])
    }

    /// A page of cases for one reader, with one read of their citizens.
    static func page(
        _ cases: [(id: Int64, identityProtected: Bool, leads: Bool)], for staff: Staff, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Int64: CaseText] {
        let sights = cases.map { ($0.id, staff.textSight(identityProtected: $0.identityProtected, leads: $0.leads)) }
        let hidden = sights.filter { $0.1 != .original }.map(\.0)
        let known = hidden.isEmpty ? [:] : try await identities(of: hidden, on: connection, logger: logger)
        var out: [Int64: CaseText] = [:]
        for (id, sight) in sights {
            out[id] = CaseText(sight: sight, identities: known[id].map { [$0] } ?? [])
        }
        return out
    }

    /// A row's case, whether its citizen is kept from units (columns id, case_type, confidential),
    /// and whether the reader's unit leads it (column unit_leads, where the reader is a unit).
    static func protection(_ row: PostgresRandomAccessRow) throws -> (id: Int64, identityProtected: Bool, leads: Bool) {
        (id: try row.value("id"),
         identityProtected: try row.value("case_type", as: String.self) == CaseType.report.rawValue || row.value("confidential"),
         leads: row.contains("unit_leads") ? try row.value("unit_leads", as: Bool.self) : false)
    }

    static func identities(of caseIds: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int64: CitizenIdentity] {
        var out: [Int64: CitizenIdentity] = [:]
        for row in try await connection.rows(
            "SELECT case_id, name, phone FROM case_contacts WHERE case_id = ANY(\(caseIds))", logger: logger
        ) {
            out[try row.value("case_id")] = CitizenIdentity(name: try row.value("name"), phone: try row.value("phone"))
        }
        return out
    }
}
