import Logging
import PostgresNIO

/// A Tai'an-like organisation for trying the service and for tests: city departments,
/// districts with their streets and towns, functional zones, public utilities, and a
/// category tree routed to them. Installing it twice changes nothing.
public enum DemoOrganisation {
    public static let units: [Unit] = [
        // 市直部门
        Unit(code: "housing", name: "市住房和城乡建设局", group: .cityDepartment, parent: nil),
        Unit(code: "environment", name: "市生态环境局", group: .cityDepartment, parent: nil),
        Unit(code: "hrss", name: "市人力资源和社会保障局", group: .cityDepartment, parent: nil),
        Unit(code: "medical-insurance", name: "市医疗保障局", group: .cityDepartment, parent: nil),
        Unit(code: "public-security", name: "市公安局", group: .cityDepartment, parent: nil),
        Unit(code: "transport", name: "市交通运输局", group: .cityDepartment, parent: nil),
        Unit(code: "education", name: "市教育局", group: .cityDepartment, parent: nil),
        Unit(code: "market", name: "市市场监督管理局", group: .cityDepartment, parent: nil),
        Unit(code: "urban-management", name: "市城市管理局", group: .cityDepartment, parent: nil),
        Unit(code: "provident-fund", name: "市住房公积金管理中心", group: .cityDepartment, parent: nil),
        Unit(code: "health", name: "市卫生健康委员会", group: .cityDepartment, parent: nil),
        // 县市区
        Unit(code: "taishan", name: "泰山区", group: .district, parent: nil),
        Unit(code: "daiyue", name: "岱岳区", group: .district, parent: nil),
        Unit(code: "xintai", name: "新泰市", group: .district, parent: nil),
        Unit(code: "feicheng", name: "肥城市", group: .district, parent: nil),
        Unit(code: "ningyang", name: "宁阳县", group: .district, parent: nil),
        Unit(code: "dongping", name: "东平县", group: .district, parent: nil),
        // 功能区
        Unit(code: "hightech-zone", name: "泰安高新技术产业开发区", group: .functionalZone, parent: nil),
        Unit(code: "taishan-scenic", name: "泰山景区", group: .functionalZone, parent: nil),
        // 乡镇街道
        Unit(code: "taishan.caiyuan", name: "财源街道", group: .town, parent: "taishan"),
        Unit(code: "taishan.daimiao", name: "岱庙街道", group: .town, parent: "taishan"),
        Unit(code: "taishan.shanggao", name: "上高街道", group: .town, parent: "taishan"),
        Unit(code: "taishan.shengzhuang", name: "省庄镇", group: .town, parent: "taishan"),
        Unit(code: "daiyue.yuezhuang", name: "粥店街道", group: .town, parent: "daiyue"),
        Unit(code: "daiyue.tianping", name: "天平街道", group: .town, parent: "daiyue"),
        Unit(code: "daiyue.manzhuang", name: "满庄镇", group: .town, parent: "daiyue"),
        // 社区 (岱庙街道's communities: the fourth level of a passed-down case)
        Unit(code: "taishan.daimiao.hongmen", name: "红门社区", group: .community, parent: "taishan.daimiao"),
        Unit(code: "taishan.daimiao.daizong", name: "岱宗社区", group: .community, parent: "taishan.daimiao"),
        // 公共服务企业
        Unit(code: "water", name: "泰安市水务集团", group: .enterprise, parent: nil),
        Unit(code: "power", name: "国网泰安供电公司", group: .enterprise, parent: nil),
        Unit(code: "gas", name: "泰安港华燃气有限公司", group: .enterprise, parent: nil),
        Unit(code: "heating", name: "泰安市热力有限公司", group: .enterprise, parent: nil),
        Unit(code: "telecom", name: "中国移动泰安分公司", group: .enterprise, parent: nil),
    ]

    public static let categories: [Category] = [
        Category(code: "utilities", name: "公用事业"),
        // An outage is about the supply, not about a person's life: its description may be public.
        Category(code: "utilities.water", name: "供水", parent: "utilities", defaultLeadUnit: "water",
                 timeLimits: [CategoryTimeLimit(urgency: .urgent, step: .sign, amount: 15, unit: .minutes)],
                 publicDescription: true),
        Category(code: "utilities.power", name: "供电", parent: "utilities", defaultLeadUnit: "power",
                 timeLimits: [CategoryTimeLimit(urgency: .urgent, step: .sign, amount: 15, unit: .minutes)]),
        Category(code: "utilities.gas", name: "供气", parent: "utilities", defaultLeadUnit: "gas"),
        Category(code: "utilities.heating", name: "供暖", parent: "utilities", defaultLeadUnit: "heating",
                 defaultAssistUnits: ["housing"]),
        Category(code: "utilities.telecom", name: "通信", parent: "utilities", defaultLeadUnit: "telecom"),
        Category(code: "environment", name: "生态环境"),
        Category(code: "environment.noise", name: "噪音扰民", parent: "environment", defaultLeadUnit: "environment",
                 routes: [
                    CategoryRoute(region: "taishan", leadUnit: "taishan", assistUnits: ["environment"]),
                    CategoryRoute(region: "taishan.caiyuan", leadUnit: "taishan.caiyuan", assistUnits: ["environment"]),
                    CategoryRoute(region: "daiyue", leadUnit: "daiyue", assistUnits: ["environment"]),
                 ]),
        Category(code: "environment.air", name: "大气污染", parent: "environment", defaultLeadUnit: "environment"),
        Category(code: "social-security", name: "社会保障"),
        Category(code: "social-security.pension", name: "社保缴费与养老", parent: "social-security", defaultLeadUnit: "hrss"),
        Category(code: "social-security.medical", name: "医保报销", parent: "social-security", defaultLeadUnit: "medical-insurance"),
        Category(code: "housing", name: "城乡建设与住房"),
        Category(code: "housing.property", name: "物业管理", parent: "housing", defaultLeadUnit: "housing",
                 routes: [
                    CategoryRoute(region: "taishan", leadUnit: "taishan", assistUnits: ["housing"]),
                    CategoryRoute(region: "daiyue", leadUnit: "daiyue", assistUnits: ["housing"]),
                 ]),
        Category(code: "housing.provident-fund", name: "住房公积金", parent: "housing", defaultLeadUnit: "provident-fund"),
        Category(code: "public-security", name: "公安"),
        Category(code: "public-security.hukou", name: "户籍办理", parent: "public-security", defaultLeadUnit: "public-security"),
        Category(code: "transport", name: "交通出行"),
        Category(code: "transport.bus", name: "公交运营", parent: "transport", defaultLeadUnit: "transport"),
        Category(code: "education", name: "教育"),
        Category(code: "education.enrolment", name: "入学招生", parent: "education", defaultLeadUnit: "education"),
        Category(code: "market", name: "市场监管"),
        Category(code: "market.consumer", name: "消费维权", parent: "market", defaultLeadUnit: "market"),
        Category(code: "urban", name: "城市管理"),
        Category(code: "urban.street-vendors", name: "占道经营", parent: "urban", defaultLeadUnit: "urban-management",
                 routes: [CategoryRoute(region: "taishan", leadUnit: "taishan", assistUnits: ["urban-management"])]),
        Category(code: "health", name: "卫生健康"),
        Category(code: "health.hospital-service", name: "医疗服务", parent: "health", defaultLeadUnit: "health"),
    ]

    /// One user per role (the handler acts for the housing bureau), then the tiers of 泰山区: its
    /// sub-center's dispatcher and handler, 岱庙街道's, and a community's handler (DOMAIN §5a).
    /// Created only when the organisation is new.
    public static let users: [NewUser] = [
        NewUser(name: "话务员一", role: .operator, unit: nil),
        NewUser(name: "派单员一", role: .dispatcher, unit: nil),
        NewUser(name: "住建局承办人", role: .handler, unit: "housing"),
        NewUser(name: "中心负责人", role: .manager, unit: nil),
        NewUser(name: "监察室", role: .supervisor, unit: nil),
        NewUser(name: "系统管理员", role: .admin, unit: nil),
        NewUser(name: "泰山区分中心派单员", role: .dispatcher, unit: "taishan"),
        NewUser(name: "泰山区承办人", role: .handler, unit: "taishan"),
        NewUser(name: "岱庙街道派单员", role: .dispatcher, unit: "taishan.daimiao"),
        NewUser(name: "岱庙街道承办人", role: .handler, unit: "taishan.daimiao"),
        NewUser(name: "红门社区承办人", role: .handler, unit: "taishan.daimiao.hongmen"),
    ]

    /// Installs what is missing; returns whether anything was new.
    @discardableResult
    /// (`without` leaves out groups, for a database whose schema predates them.)
    public static func install(
        on connection: PostgresConnection, logger: Logger, without groups: Set<UnitGroup> = []
    ) async throws -> Bool {
        var changed = false
        for unit in units where !groups.contains(unit.group) {
            guard try await connection.row("SELECT 1 FROM units WHERE code = \(unit.code)", logger: logger) == nil else { continue }
            _ = try await Units.create(unit, on: connection, logger: logger)
            changed = true
        }
        for category in categories where try await connection.row(
            "SELECT 1 FROM categories WHERE code = \(category.code)", logger: logger
        ) == nil {
            _ = try await Categories.create(category, on: connection, logger: logger)
            changed = true
        }
        return changed
    }
}

extension DemoOrganisation {
    /// Creates the demo users if none of the center's roles exist yet; returns their tokens, each
    /// under its role, or `role@unit` for the users of the tiers after the first of each role.
    /// One user per role, each with a token and a workbench login and password (shown once, here).
    public static func installUsers(on connection: PostgresConnection, logger: Logger) async throws -> [DemoUser] {
        guard try await connection.row("SELECT 1 FROM users LIMIT 1", logger: logger) == nil else { return [] }
        var made: [DemoUser] = []
        var seen = Set<Role>()
        for var input in users {
            let label = seen.insert(input.role).inserted ? input.role.rawValue : "\(input.role.rawValue)@\(input.unit!)"
            input.login = label.replacingOccurrences(of: "@", with: ".")
            let user = try await Users.create(input, on: connection, logger: logger)
            let password = Passwords.generate()
            _ = try await Users.update(user.id, UserPatch(password: password), on: connection, logger: logger)
            let token = try await Users.issueToken(forUser: user.id, on: connection, logger: logger).token
            made.append(DemoUser(label: label, token: token, login: input.login!, password: password))
        }
        return made
    }

    public struct DemoUser: Sendable {
        public let label, token, login, password: String
    }
}
