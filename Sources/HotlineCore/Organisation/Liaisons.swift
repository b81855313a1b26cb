import Foundation
import Logging
import PostgresNIO

/// A unit's liaison (联络员): the phone its sign reminders and urgings go to by SMS (DOMAIN
/// §14). Set by an admin or by the unit's own handlers; read by them only.
public enum Liaisons {
    public struct Liaison: Codable, Sendable, Equatable {
        public let unit: String
        public let name: String
        public let phone: String
        public let updatedAt: Date
    }

    public struct Input: Decodable, Sendable {
        public var name: String?
        public var phone: String?
    }

    public static func get(_ unit: String, by staff: Staff, on connection: PostgresConnection, logger: Logger) async throws -> Liaison {
        try await authorise(unit, staff, on: connection, logger: logger)
        guard let row = try await connection.row("""
            SELECT unit_code, name, phone, updated_at FROM unit_liaisons WHERE unit_code = \(unit)
            """, logger: logger) else { throw HotlineError.notFound("liaison") }
        return Liaison(unit: try row.value("unit_code"), name: try row.value("name"), phone: try row.value("phone"),
                       updatedAt: try row.value("updated_at"))
    }

    public static func set(
        _ unit: String, _ input: @autoclosure () throws -> Input, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Liaison {
        try await authorise(unit, staff, on: connection, logger: logger)
        let input = try input()
        var checker = FieldChecker()
        let name = checker.text(input.name, field: "name", max: 50)
        var phone: String?
        if let given = input.phone {
            phone = Contact.normalisePhone(given)
            if phone == nil { checker.fail("phone", "must be a phone number: 5–20 digits, an optional leading +") }
        } else {
            checker.fail("phone", "is required")
        }
        try checker.check()
        try await connection.execute("""
            INSERT INTO unit_liaisons (unit_code, name, phone, updated_at, updated_by)
            VALUES (\(unit), \(name!), \(phone!), \(now), \(staff.id))
            ON CONFLICT (unit_code) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone,
                updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
            """, logger: logger)
        return Liaison(unit: unit, name: name!, phone: phone!, updatedAt: now)
    }

    /// An admin, or a handler of that very unit.
    static func authorise(_ unit: String, _ staff: Staff, on connection: PostgresConnection, logger: Logger) async throws {
        switch staff.role {
        case .admin:
            _ = try await Units.get(unit, on: connection, logger: logger)
        case .handler where staff.unit == unit:
            break
        case .handler:
            throw HotlineError.forbidden("a handler reads and sets the liaison of its own unit only")
        default:
            throw HotlineError.forbidden("an admin or the unit's own handlers set its liaison")
        }
    }
}
