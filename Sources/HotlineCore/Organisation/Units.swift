import Logging
import PostgresNIO

public enum UnitGroup: String, Vocabulary {
    case cityDepartment = "city_department"
    case district
    case functionalZone = "functional_zone"
    case town
    case community
    case enterprise

    /// Groups whose units are places: a case's region is one of them.
    public var isArea: Bool {
        self == .district || self == .functionalZone || self == .town || self == .community
    }

    /// The groups that are places, as stored.
    static let areas = allCases.filter(\.isArea).map(\.rawValue)
}

public struct Unit: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var group: UnitGroup
    public var parent: String?
    public var active: Bool

    public init(code: String, name: String, group: UnitGroup, parent: String?, active: Bool = true) {
        self.code = code
        self.name = name
        self.group = group
        self.parent = parent
        self.active = active
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decode(String.self, forKey: .code)
        name = try c.decode(String.self, forKey: .name)
        group = try c.decode(UnitGroup.self, forKey: .group)
        parent = try c.decodeIfPresent(String.self, forKey: .parent)
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(name, forKey: .name)
        try c.encode(group, forKey: .group)
        try c.encode(parent, forKey: .parent)
        try c.encode(active, forKey: .active)
    }

    enum CodingKeys: String, CodingKey { case code, name, group, parent, active }
}

/// PATCH of a unit: only the fields sent change. `parent` may be set to null (a root).
public struct UnitPatch: Decodable, Sendable {
    public var name: String?
    public var group: UnitGroup?
    public var parent: String??
    public var active: Bool?

    public init(name: String? = nil, group: UnitGroup? = nil, parent: String?? = nil, active: Bool? = nil) {
        self.name = name
        self.group = group
        self.parent = parent
        self.active = active
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Unit.CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        group = try c.decodeIfPresent(UnitGroup.self, forKey: .group)
        if c.contains(.parent) {
            parent = .some(try c.decodeIfPresent(String.self, forKey: .parent))
        }
        active = try c.decodeIfPresent(Bool.self, forKey: .active)
    }
}

enum Codes {
    /// Unit and category codes: short, lower-case ASCII, stable in URLs and spreadsheets.
    static func check(_ code: String, field: String, into checker: inout FieldChecker) {
        let scalars = Array(code.unicodeScalars)
        let valid = !scalars.isEmpty && scalars.count <= 64
            && scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "." || $0 == "-" }
            && (("a"..."z").contains(scalars[0]) || ("0"..."9").contains(scalars[0]))
        if !valid {
            checker.fail(field, "must be 1–64 characters of a–z, 0–9, '_', '.' or '-', starting with a letter or digit")
        }
    }
}

/// The unit tree (DOMAIN §3). Admins write it; everyone signed in reads it.
public enum Units {
    /// The units by code, a page at a time.
    public static func list(limit: Int = 500, cursor: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> Page<Unit> {
        try Cursor.check(limit: limit)
        let after = try cursor.map(Cursor.decodeKey)
        let rows = try await connection.rows("""
            SELECT code, name, unit_group, parent, active FROM units
            WHERE \(after)::text IS NULL OR code > \(after) ORDER BY code LIMIT \(limit + 1)
            """, logger: logger)
        let items = try rows.prefix(limit).map(unit)
        return Page(items: items, nextCursor: rows.count > limit ? items.last.map { Cursor.encode(key: $0.code) } : nil)
    }

    public static func get(_ code: String, on connection: PostgresConnection, logger: Logger) async throws -> Unit {
        guard let row = try await connection.row(
            "SELECT code, name, unit_group, parent, active FROM units WHERE code = \(code)", logger: logger
        ) else { throw HotlineError.notFound("unit") }
        return try unit(row)
    }

    public static func create(_ input: Unit, on connection: PostgresConnection, logger: Logger) async throws -> Unit {
        var checker = FieldChecker()
        Codes.check(input.code, field: "code", into: &checker)
        let name = checker.text(input.name, field: "name", max: 100)
        try checker.check()
        if let parent = input.parent { try await requireUnit(parent, field: "parent", on: connection, logger: logger) }
        let inserted = try await connection.execute("""
            INSERT INTO units (code, name, unit_group, parent, active)
            VALUES (\(input.code), \(name!), \(input.group.rawValue), \(input.parent), \(input.active))
            ON CONFLICT (code) DO NOTHING RETURNING code
            """, logger: logger)
        guard inserted == 1 else {
            throw HotlineError(.conflict, code: .alreadyExists, "a unit with this code exists")
        }
        return try await get(input.code, on: connection, logger: logger)
    }

    public static func update(
        _ code: String, _ patch: UnitPatch, on connection: PostgresConnection, logger: Logger
    ) async throws -> Unit {
        var current = try await get(code, on: connection, logger: logger)
        var checker = FieldChecker()
        if let name = patch.name { current.name = checker.text(name, field: "name", max: 100) ?? current.name }
        try checker.check()
        if let group = patch.group { current.group = group }
        if let active = patch.active { current.active = active }
        if let parent = patch.parent {
            if let parent { try await requireUnit(parent, field: "parent", on: connection, logger: logger) }
            current.parent = parent
        }
        if current.parent == code {
            throw HotlineError(.unprocessable, code: .unitCycle, "a unit cannot be its own parent")
        }
        do {
            try await connection.execute("""
                UPDATE units SET name = \(current.name), unit_group = \(current.group.rawValue),
                       parent = \(current.parent), active = \(current.active)
                WHERE code = \(code)
                """, logger: logger)
        } catch where DatabaseFailure.constraint(of: error) == "units_no_cycle" {
            throw HotlineError(.unprocessable, code: .unitCycle, "a unit cannot be placed under one of its own descendants")
        }
        return current
    }

    /// 422 unless `code` names an existing unit.
    static func requireUnit(
        _ code: String, field: String, on connection: PostgresConnection, logger: Logger,
        active: Bool = false
    ) async throws {
        let found = try await connection.row(
            "SELECT active FROM units WHERE code = \(code)", logger: logger
        )
        guard let found else {
            throw HotlineError(.unprocessable, code: .unknownUnit, "\(field) names no known unit",
                               fields: [.init(field: field, message: "names no known unit")])
        }
        if active, try !found.value("active", as: Bool.self) {
            throw HotlineError(.unprocessable, code: .inactiveUnit, "\(field) names a unit that is no longer active",
                               fields: [.init(field: field, message: "names a unit that is no longer active")])
        }
    }

    static func unit(_ row: PostgresRandomAccessRow) throws -> Unit {
        Unit(
            code: try row.value("code"),
            name: try row.value("name"),
            group: UnitGroup(rawValue: try row.value("unit_group"))!,
            parent: try row.value("parent"),
            active: try row.value("active")
        )
    }
}
