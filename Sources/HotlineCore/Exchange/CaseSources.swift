import Crypto
import Foundation
import Logging
import PostgresNIO

/// Where a case from another system came from, as sent with it (API.md: POST `/cases` with
/// `source`).
public struct SourceInput: Decodable, Sendable {
    public var system: String?
    public var id: String?
    /// The source's own deadline for the result: no deadline of the case passes it.
    public var deadline: Date?
    /// The code of the subscription the result is reported back to (never a URL).
    public var reportBack: String?

    enum CodingKeys: String, CodingKey {
        case system, id, deadline
        case reportBack = "report_back"
    }
}

/// A case's source as every reader of the case sees it.
public struct CaseSource: Codable, Sendable, Equatable {
    public var system: String
    public var id: String
    public var deadline: Date?
    public var reportBack: String?

    enum CodingKeys: String, CodingKey {
        case system, id, deadline
        case reportBack = "report_back"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(system, forKey: .system)
        try c.encode(id, forKey: .id)
        try c.encode(deadline, forKey: .deadline)
        try c.encode(reportBack, forKey: .reportBack)
    }
}

/// Cases exchanged with upper platforms and 110 (工单互转, DOMAIN §14).
enum CaseSources {
    /// The table's `^[a-z0-9][a-z0-9_.-]{0,31}$`, byte by byte: a regular expression's `$` here
    /// would also pass a code with a newline after it, which the table then refuses.
    static func isSystemCode(_ text: String) -> Bool {
        isCode(text, longest: 32)
    }

    static func isCode(_ text: String, longest: Int) -> Bool {
        let bytes = Array(text.utf8)
        func plain(_ b: UInt8) -> Bool { (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) }
        guard let first = bytes.first, plain(first), bytes.count <= longest else { return false }
        return bytes.dropFirst().allSatisfy { plain($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// SHA-256 of the body as sent, its keys sorted, so that the same case sent again with its
    /// fields in another order is still the same case.
    static func fingerprint(of body: [UInt8]) -> [UInt8] {
        let canonical = (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]))
            .flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
        return Array(SHA256.hash(data: canonical ?? Data(body)))
    }

    /// The source's fields, and the channel that goes with it; an exchange client sends only its
    /// own system's cases.
    static func check(
        _ source: SourceInput?, channel: Channel, directAnswer: Bool, by staff: Staff, into checker: inout FieldChecker
    ) {
        guard let source else {
            if channel.isExchange { checker.fail("source", "a case of the \(channel.rawValue) channel says where it came from") }
            if staff.role == .exchange { checker.fail("source", "an exchange client's case says where it came from") }
            return
        }
        if !channel.isExchange { checker.fail("channel", "a case with a source comes by upper_platform or police_110") }
        if directAnswer { checker.fail("direct_answer", "a case from another system is handled here, not answered on the spot") }
        if !isSystemCode(source.system ?? "") {
            checker.fail("source.system", "1 to 32 lowercase letters, digits, '.', '_' or '-'")
        }
        let id = source.id ?? ""
        // Counted as PostgreSQL's char_length counts: code points, not characters.
        if id.isEmpty || id.unicodeScalars.count > 100 || id.contains(where: { $0.isNewline || $0 == "\u{0}" }) {
            checker.fail("source.id", "the case's id in its system: 1 to 100 characters")
        }
        if let back = source.reportBack, !Subscriptions.isCode(back) {
            checker.fail("source.report_back", "the code of a subscription an administrator made for this system, not a URL")
        }
    }

    /// The subscription named to report back to must exist, be on, and be made for this system.
    static func checkReportBack(_ source: SourceInput, on connection: PostgresConnection, logger: Logger) async throws {
        guard let back = source.reportBack else { return }
        guard let row = try await connection.row(
            "SELECT system, active FROM subscriptions WHERE code = \(back)", logger: logger
        ), try row.value("active", as: Bool.self), try row.value("system", as: String?.self) == source.system else {
            throw HotlineError(.unprocessable, code: .unknownReference,
                               "source.report_back names no active subscription made for the system \(source.system ?? "")",
                               fields: [.init(field: "source.report_back", message: "the code of an active subscription of this system")])
        }
    }

    /// The case already stored under this source, and whether it was sent with the same body.
    static func existing(
        _ source: SourceInput, fingerprint: [UInt8], on connection: PostgresConnection, logger: Logger
    ) async throws -> (number: String, same: Bool)? {
        guard let row = try await connection.row("""
            SELECT c.number, s.fingerprint = \(ByteBuffer(bytes: fingerprint)) AS same
            FROM case_sources s JOIN cases c ON c.id = s.case_id
            WHERE s.system = \(source.system!) AND s.source_id = \(source.id!)
            """, logger: logger) else { return nil }
        return (try row.value("number"), try row.value("same"))
    }

    /// Stores the source of a new case; false if another case holds this source already (one sent
    /// at the same moment, which has committed).
    static func record(
        caseId: Int64, _ source: SourceInput, fingerprint: [UInt8], on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        try await connection.row("""
            INSERT INTO case_sources (case_id, system, source_id, deadline, report_back, fingerprint)
            VALUES (\(caseId), \(source.system!), \(source.id!), \(source.deadline?.wholeSecond), \(source.reportBack),
                    \(ByteBuffer(bytes: fingerprint)))
            ON CONFLICT (system, source_id) DO NOTHING
            RETURNING case_id
            """, logger: logger) != nil
    }

    static func of(caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> CaseSource? {
        guard let row = try await connection.row(
            "SELECT system, source_id, deadline, report_back FROM case_sources WHERE case_id = \(caseId)", logger: logger
        ) else { return nil }
        return CaseSource(system: try row.value("system"), id: try row.value("source_id"), deadline: try row.value("deadline"),
                          reportBack: try row.value("report_back"))
    }

    /// The source's deadline, which caps every deadline of the case.
    static func deadline(ofCase caseId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Date? {
        try await connection.row("SELECT deadline FROM case_sources WHERE case_id = \(caseId)", logger: logger)?
            .value("deadline", as: Date?.self)
    }
}
