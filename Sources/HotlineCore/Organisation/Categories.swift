import Logging
import PostgresNIO

/// Where a category's cases go in one region: its lead unit and assisting units.
public struct CategoryRoute: Codable, Sendable, Equatable {
    public var region: String
    public var leadUnit: String
    public var assistUnits: [String]

    public init(region: String, leadUnit: String, assistUnits: [String] = []) {
        self.region = region
        self.leadUnit = leadUnit
        self.assistUnits = assistUnits
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        region = try c.decode(String.self, forKey: .region)
        leadUnit = try c.decode(String.self, forKey: .leadUnit)
        assistUnits = try c.decodeIfPresent([String].self, forKey: .assistUnits) ?? []
    }

    enum CodingKeys: String, CodingKey {
        case region
        case leadUnit = "lead_unit"
        case assistUnits = "assist_units"
    }
}

/// A kind of matter (事项分类): a tree, each with its default routing and limit overrides.
public struct Category: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var parent: String?
    public var defaultLeadUnit: String?
    public var defaultAssistUnits: [String]
    public var routes: [CategoryRoute]
    public var timeLimits: [CategoryTimeLimit]
    public var active: Bool
    /// Whether a case's description (identity removed) may be shown to the public through Open311.
    public var publicDescription: Bool

    public init(
        code: String, name: String, parent: String? = nil, defaultLeadUnit: String? = nil,
        defaultAssistUnits: [String] = [], routes: [CategoryRoute] = [],
        timeLimits: [CategoryTimeLimit] = [], active: Bool = true, publicDescription: Bool = false
    ) {
        self.code = code
        self.name = name
        self.parent = parent
        self.defaultLeadUnit = defaultLeadUnit
        self.defaultAssistUnits = defaultAssistUnits
        self.routes = routes
        self.timeLimits = timeLimits
        self.active = active
        self.publicDescription = publicDescription
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decode(String.self, forKey: .code)
        name = try c.decode(String.self, forKey: .name)
        parent = try c.decodeIfPresent(String.self, forKey: .parent)
        defaultLeadUnit = try c.decodeIfPresent(String.self, forKey: .defaultLeadUnit)
        defaultAssistUnits = try c.decodeIfPresent([String].self, forKey: .defaultAssistUnits) ?? []
        routes = try c.decodeIfPresent([CategoryRoute].self, forKey: .routes) ?? []
        timeLimits = try c.decodeIfPresent([CategoryTimeLimit].self, forKey: .timeLimits) ?? []
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
        publicDescription = try c.decodeIfPresent(Bool.self, forKey: .publicDescription) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(name, forKey: .name)
        try c.encode(parent, forKey: .parent)
        try c.encode(defaultLeadUnit, forKey: .defaultLeadUnit)
        try c.encode(defaultAssistUnits, forKey: .defaultAssistUnits)
        try c.encode(routes, forKey: .routes)
        try c.encode(timeLimits, forKey: .timeLimits)
        try c.encode(active, forKey: .active)
        try c.encode(publicDescription, forKey: .publicDescription)
    }

    enum CodingKeys: String, CodingKey {
        case code, name, parent, routes, active
        case defaultLeadUnit = "default_lead_unit"
        case defaultAssistUnits = "default_assist_units"
        case timeLimits = "time_limits"
        case publicDescription = "public_description"
    }
}

/// PATCH of a category: fields sent replace the stored ones (`routes` and `time_limits` whole).
public struct CategoryPatch: Decodable, Sendable {
    public var name: String?
    public var parent: String??
    public var defaultLeadUnit: String??
    public var defaultAssistUnits: [String]?
    public var routes: [CategoryRoute]?
    public var timeLimits: [CategoryTimeLimit]?
    public var active: Bool?
    public var publicDescription: Bool?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Category.CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        if c.contains(.parent) { parent = .some(try c.decodeIfPresent(String.self, forKey: .parent)) }
        if c.contains(.defaultLeadUnit) {
            defaultLeadUnit = .some(try c.decodeIfPresent(String.self, forKey: .defaultLeadUnit))
        }
        defaultAssistUnits = try c.decodeIfPresent([String].self, forKey: .defaultAssistUnits)
        routes = try c.decodeIfPresent([CategoryRoute].self, forKey: .routes)
        timeLimits = try c.decodeIfPresent([CategoryTimeLimit].self, forKey: .timeLimits)
        active = try c.decodeIfPresent(Bool.self, forKey: .active)
        publicDescription = try c.decodeIfPresent(Bool.self, forKey: .publicDescription)
    }
}

public enum Categories {
    /// The categories by code, a page at a time, each with its routes and limit overrides.
    public static func list(limit: Int = 500, cursor: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> Page<Category> {
        try Cursor.check(limit: limit)
        let after = try cursor.map(Cursor.decodeKey)
        let all = try await connection.rows("""
            SELECT code, name, parent, default_lead_unit, default_assist_units, active, public_description FROM categories
            WHERE \(after)::text IS NULL OR code > \(after) ORDER BY code LIMIT \(limit + 1)
            """, logger: logger)
        let rows = Array(all.prefix(limit))
        let codes = try rows.map { try $0.value("code", as: String.self) }
        let routes = try await connection.rows("""
            SELECT category, region, lead_unit, assist_units FROM category_routes WHERE category = ANY(\(codes))
            ORDER BY category, region
            """, logger: logger)
        let limits = try await connection.rows("""
            SELECT category, urgency, step, amount, unit FROM category_time_limits WHERE category = ANY(\(codes))
            ORDER BY category, urgency, step
            """, logger: logger)
        var routesByCategory: [String: [CategoryRoute]] = [:]
        for row in routes { routesByCategory[try row.value("category"), default: []].append(try route(row)) }
        var limitsByCategory: [String: [CategoryTimeLimit]] = [:]
        for row in limits { limitsByCategory[try row.value("category"), default: []].append(try Self.limit(row)) }
        let items = try rows.map { row in
            var category = try self.category(row)
            category.routes = routesByCategory[category.code] ?? []
            category.timeLimits = limitsByCategory[category.code] ?? []
            return category
        }
        return Page(items: items, nextCursor: all.count > limit ? items.last.map { Cursor.encode(key: $0.code) } : nil)
    }

    public static func get(_ code: String, on connection: PostgresConnection, logger: Logger) async throws -> Category {
        guard let row = try await connection.row("""
            SELECT code, name, parent, default_lead_unit, default_assist_units, active, public_description FROM categories WHERE code = \(code)
            """, logger: logger) else { throw HotlineError.notFound("category") }
        var category = try self.category(row)
        category.routes = try await connection.rows("""
            SELECT region, lead_unit, assist_units FROM category_routes WHERE category = \(code) ORDER BY region
            """, logger: logger).map(route)
        category.timeLimits = try await connection.rows("""
            SELECT urgency, step, amount, unit FROM category_time_limits WHERE category = \(code) ORDER BY urgency, step
            """, logger: logger).map(limit)
        return category
    }

    public static func create(_ input: Category, on connection: PostgresConnection, logger: Logger) async throws -> Category {
        var checker = FieldChecker()
        Codes.check(input.code, field: "code", into: &checker)
        var category = input
        category.name = checker.text(input.name, field: "name", max: 100) ?? ""
        try checker.check()
        try await validate(category, on: connection, logger: logger)
        guard try await connection.execute("""
            INSERT INTO categories (code, name, parent, default_lead_unit, default_assist_units, active, public_description)
            VALUES (\(category.code), \(category.name), \(category.parent), \(category.defaultLeadUnit),
                    \(category.defaultAssistUnits), \(category.active), \(category.publicDescription))
            ON CONFLICT (code) DO NOTHING RETURNING code
            """, logger: logger) == 1
        else { throw HotlineError(.conflict, code: .alreadyExists, "a category with this code exists") }
        try await replaceRoutesAndLimits(category, on: connection, logger: logger)
        return try await get(category.code, on: connection, logger: logger)
    }

    public static func update(
        _ code: String, _ patch: CategoryPatch, on connection: PostgresConnection, logger: Logger
    ) async throws -> Category {
        var category = try await get(code, on: connection, logger: logger)
        var checker = FieldChecker()
        if let name = patch.name { category.name = checker.text(name, field: "name", max: 100) ?? category.name }
        try checker.check()
        if let parent = patch.parent { category.parent = parent }
        if let lead = patch.defaultLeadUnit { category.defaultLeadUnit = lead }
        if let assist = patch.defaultAssistUnits { category.defaultAssistUnits = assist }
        if let routes = patch.routes { category.routes = routes }
        if let limits = patch.timeLimits { category.timeLimits = limits }
        if let active = patch.active { category.active = active }
        if let shown = patch.publicDescription { category.publicDescription = shown }
        try await validate(category, on: connection, logger: logger)
        do {
            try await connection.execute("""
                UPDATE categories SET name = \(category.name), parent = \(category.parent),
                       default_lead_unit = \(category.defaultLeadUnit),
                       default_assist_units = \(category.defaultAssistUnits), active = \(category.active),
                       public_description = \(category.publicDescription)
                WHERE code = \(code)
                """, logger: logger)
        } catch where DatabaseFailure.constraint(of: error) == "categories_no_cycle" {
            throw HotlineError(.unprocessable, code: .categoryCycle, "a category cannot be placed under one of its own descendants")
        }
        try await replaceRoutesAndLimits(category, on: connection, logger: logger)
        return try await get(code, on: connection, logger: logger)
    }

    /// References must name what exists, and no unit both leads and assists.
    static func validate(_ category: Category, on connection: PostgresConnection, logger: Logger) async throws {
        var checker = FieldChecker()
        if category.parent == category.code { checker.fail("parent", "a category cannot be its own parent") }
        checkTeam(lead: category.defaultLeadUnit, assist: category.defaultAssistUnits,
                  field: "default_assist_units", into: &checker)
        var regions = Set<String>()
        for (index, route) in category.routes.enumerated() {
            checkTeam(lead: route.leadUnit, assist: route.assistUnits, field: "routes[\(index)].assist_units", into: &checker)
            if !regions.insert(route.region).inserted { checker.fail("routes[\(index)].region", "appears twice") }
        }
        var steps = Set<String>()
        for (index, limit) in category.timeLimits.enumerated() {
            TimeLimits.check(Limit(amount: limit.amount, unit: limit.unit), step: limit.step,
                             field: "time_limits[\(index)]", into: &checker)
            if !steps.insert("\(limit.urgency)/\(limit.step)").inserted {
                checker.fail("time_limits[\(index)]", "repeats an urgency and step given before")
            }
        }
        try checker.check()

        if let parent = category.parent,
           try await connection.row("SELECT 1 FROM categories WHERE code = \(parent)", logger: logger) == nil {
            throw HotlineError(.unprocessable, code: .unknownCategory, "parent names no known category")
        }
        var units = Set(category.defaultAssistUnits)
        if let lead = category.defaultLeadUnit { units.insert(lead) }
        for route in category.routes {
            units.insert(route.leadUnit)
            units.formUnion(route.assistUnits)
        }
        let regionCodes = category.routes.map(\.region)
        let known = try await connection.rows("""
            SELECT code, unit_group FROM units WHERE code = ANY(\(Array(units.union(regionCodes))))
            """, logger: logger)
        var groups: [String: String] = [:]
        for row in known { groups[try row.value("code")] = try row.value("unit_group") }
        if let missing = units.union(regionCodes).sorted().first(where: { groups[$0] == nil }) {
            throw HotlineError(.unprocessable, code: .unknownUnit, "unit \(missing) is not known")
        }
        if let notArea = regionCodes.first(where: { UnitGroup(rawValue: groups[$0]!)?.isArea != true }) {
            throw HotlineError(.unprocessable, code: .notARegion,
                               "region \(notArea) is not a district, functional zone or town")
        }
    }

    static func checkTeam(lead: String?, assist: [String], field: String, into checker: inout FieldChecker) {
        if Set(assist).count != assist.count { checker.fail(field, "names a unit twice") }
        if let lead, assist.contains(lead) { checker.fail(field, "must not include the lead unit") }
        if assist.count > 20 { checker.fail(field, "at most 20 assisting units") }
    }

    static func replaceRoutesAndLimits(_ category: Category, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("DELETE FROM category_routes WHERE category = \(category.code)", logger: logger)
        for route in category.routes {
            try await connection.execute("""
                INSERT INTO category_routes (category, region, lead_unit, assist_units)
                VALUES (\(category.code), \(route.region), \(route.leadUnit), \(route.assistUnits))
                """, logger: logger)
        }
        try await connection.execute("DELETE FROM category_time_limits WHERE category = \(category.code)", logger: logger)
        for limit in category.timeLimits {
            try await connection.execute("""
                INSERT INTO category_time_limits (category, urgency, step, amount, unit)
                VALUES (\(category.code), \(limit.urgency.rawValue), \(limit.step.rawValue), \(limit.amount), \(limit.unit.rawValue))
                """, logger: logger)
        }
    }

    static func category(_ row: PostgresRandomAccessRow) throws -> Category {
        Category(
            code: try row.value("code"),
            name: try row.value("name"),
            parent: try row.value("parent"),
            defaultLeadUnit: try row.value("default_lead_unit"),
            defaultAssistUnits: try row.value("default_assist_units"),
            active: try row.value("active"),
            publicDescription: try row.value("public_description")
        )
    }

    static func route(_ row: PostgresRandomAccessRow) throws -> CategoryRoute {
        CategoryRoute(region: try row.value("region"), leadUnit: try row.value("lead_unit"), assistUnits: try row.value("assist_units"))
    }

    static func limit(_ row: PostgresRandomAccessRow) throws -> CategoryTimeLimit {
        CategoryTimeLimit(
            urgency: Urgency(rawValue: try row.value("urgency"))!,
            step: LimitStep(rawValue: try row.value("step"))!,
            amount: try row.value("amount"),
            unit: LimitUnit(rawValue: try row.value("unit"))!
        )
    }
}
