import Logging
import PostgresNIO

/// How far a reader sees into a case (DOMAIN §2, §10).
public enum Sight: Sendable, Equatable {
    /// The center and the supervisors: every case; identity masked, revealed on request.
    case center
    /// A handler of the case's current lead unit: identity masked, none on reports and
    /// confidential cases.
    case leadUnit
    /// A handler of an assisting unit, or of a unit the case was assigned to before: no identity.
    case otherUnit
}

/// The row of a case that access decisions need.
struct CaseHandle: Sendable {
    let id: Int64
    let number: String
    let status: CaseStatus
    let type: CaseType
    let urgency: Urgency
    let category: String
    let region: String?
    let anonymous: Bool
    let confidential: Bool
    let contactConsent: Bool
    let dispatchRound: Int
    let approvedReturns: Int
    let reopenCount: Int
    let mergedInto: Int64?
    let replyId: Int64?
    let exempt: Bool
    let statusBeforeReturn: CaseStatus?

    /// Report (举报) and confidential cases never show their citizen to any unit.
    var identityProtected: Bool { type == .report || confidential }
}

enum CaseAccess {
    /// The case and how this reader sees it; 404 when it does not exist *or* this reader's
    /// unit has never been assigned to it (a unit learns nothing of other units' cases).
    static func open(
        _ number: String, for staff: Staff, on connection: PostgresConnection, logger: Logger, lock: Bool = false
    ) async throws -> (CaseHandle, Sight) {
        guard let handle = try await find(number, on: connection, logger: logger, lock: lock) else {
            throw HotlineError.notFound("case")
        }
        if staff.readsAllCases { return (handle, .center) }
        // An exchange client reads the cases its system sent, as an assisting unit would (DOMAIN
        // §13): no identity; the platform that sent the case holds its own record of the caller.
        if staff.role == .exchange {
            guard let system = staff.system, try await connection.row(
                "SELECT 1 FROM case_sources WHERE case_id = \(handle.id) AND system = \(system)", logger: logger
            ) != nil else { throw HotlineError.notFound("case") }
            return (handle, .otherUnit)
        }
        guard let unit = staff.readingUnit else {
            throw HotlineError.forbidden("your role does not read cases")
        }
        guard let sight = try await sight(of: handle, unit: unit, on: connection, logger: logger) else {
            throw HotlineError.notFound("case")
        }
        return (handle, sight)
    }

    /// How a unit sees the case: as its lead while it leads it, else as an assisting unit; nil
    /// if it has never been given the case.
    static func sight(of handle: CaseHandle, unit: String, on connection: PostgresConnection, logger: Logger) async throws -> Sight? {
        let roles = try await connection.rows("""
            SELECT role, status FROM assignments WHERE case_id = \(handle.id) AND unit_code = \(unit)
            """, logger: logger)
        guard !roles.isEmpty else { return nil }
        for row in roles {
            let role: String = try row.value("role")
            let status: String = try row.value("status")
            if role == "lead", !["returned", "cancelled", "taken_back", "reassigned"].contains(status) { return .leadUnit }
        }
        return .otherUnit
    }

    /// Whether a unit has been assigned to the case, now or before.
    static func unitSees(_ handle: CaseHandle, unit: String?, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard let unit else { return false }
        return try await connection.row(
            "SELECT 1 FROM assignments WHERE case_id = \(handle.id) AND unit_code = \(unit) LIMIT 1", logger: logger
        ) != nil
    }

    static func find(
        _ number: String, on connection: PostgresConnection, logger: Logger, lock: Bool = false
    ) async throws -> CaseHandle? {
        // Case numbers are 14 digits; anything else cannot name a case.
        guard number.utf8.count == 14, number.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let query: PostgresQuery = lock
            ? "SELECT \(unescaped: columns) FROM cases WHERE number = \(number) FOR NO KEY UPDATE"
            : "SELECT \(unescaped: columns) FROM cases WHERE number = \(number)"
        guard let row = try await connection.row(query, logger: logger) else { return nil }
        return try handle(row)
    }

    static func find(id: Int64, on connection: PostgresConnection, logger: Logger, lock: Bool = false) async throws -> CaseHandle {
        let query: PostgresQuery = lock
            ? "SELECT \(unescaped: columns) FROM cases WHERE id = \(id) FOR NO KEY UPDATE"
            : "SELECT \(unescaped: columns) FROM cases WHERE id = \(id)"
        return try handle(try await connection.row(query, logger: logger)!)
    }

    private static let columns = """
        id, number, status, case_type, urgency, category, region, anonymous, confidential, contact_consent,
        dispatch_round, approved_returns, reopen_count, merged_into, reply_id, exempt_reason IS NOT NULL AS exempt,
        status_before_return
        """

    private static func handle(_ row: PostgresRandomAccessRow) throws -> CaseHandle {
        CaseHandle(
            id: try row.value("id"),
            number: try row.value("number"),
            status: CaseStatus(rawValue: try row.value("status"))!,
            type: CaseType(rawValue: try row.value("case_type"))!,
            urgency: Urgency(rawValue: try row.value("urgency"))!,
            category: try row.value("category"),
            region: try row.value("region"),
            anonymous: try row.value("anonymous"),
            confidential: try row.value("confidential"),
            contactConsent: try row.value("contact_consent"),
            dispatchRound: Int(try row.value("dispatch_round", as: Int32.self)),
            approvedReturns: Int(try row.value("approved_returns", as: Int32.self)),
            reopenCount: Int(try row.value("reopen_count", as: Int32.self)),
            mergedInto: try row.value("merged_into"),
            replyId: try row.value("reply_id"),
            exempt: try row.value("exempt"),
            statusBeforeReturn: (try row.value("status_before_return", as: String?.self)).flatMap(CaseStatus.init(rawValue:))
        )
    }
}
