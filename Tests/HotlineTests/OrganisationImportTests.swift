import Foundation
import HotlineCore
import Testing

/// `hotline import units|users|categories FILE.csv` (issue 17): the whole file or nothing, and
/// a bad row named with its reason.
@Suite("Organisation import") struct OrganisationImportTests {
    static func load(_ hotline: TestHotline, _ kind: OrganisationImport.Kind, _ csv: String) async throws -> OrganisationImport.Imported {
        try await hotline.database.transaction(logger: TestDatabase.logger) { connection in
            try await OrganisationImport.load(kind, csv: csv, on: connection, logger: TestDatabase.logger)
        }
    }

    static func failure(_ hotline: TestHotline, _ kind: OrganisationImport.Kind, _ csv: String) async -> OrganisationImport.Failure? {
        do {
            _ = try await load(hotline, kind, csv)
            return nil
        } catch let failure as OrganisationImport.Failure {
            return failure
        } catch {
            Issue.record("expected a row's failure, got \(String(reflecting: error))")
            return nil
        }
    }

    @Test func aFileWithABadRowChangesNothingAndSaysWhichRowAndWhy() async throws {
        try await withHotline { hotline in
            let units = try await hotline.count("units")
            // Row 4 names a group that does not exist: rows 2 and 3 do not go in either.
            let bad = "\u{FEFF}code,name,group,parent\r\nningyang.a,\"宁阳县文庙街道\",town,ningyang\r\nningyang.a.b,八仙桥社区,community,ningyang.a\r\nningyang.c,\"某某, 单位\",township,ningyang\r\n"
            let failure = try #require(await Self.failure(hotline, .units, bad))
            #expect(failure.row == 4 && failure.field == "group", "\(failure)")
            #expect(try await hotline.count("units") == units)
            // A parent that is not there, a quote left open, an unknown column: each named.
            let orphan = try #require(await Self.failure(hotline, .units, "code,name,group,parent\nx.y,某街道,town,nowhere\n"))
            #expect(orphan.row == 2 && orphan.field == "parent", "\(orphan)")
            let open = try #require(await Self.failure(hotline, .units, "code,name,group\n\"x,某街道,town\n"))
            #expect(open.row == 2 && open.message.contains("not closed"), "\(open)")
            let column = try #require(await Self.failure(hotline, .units, "code,name,kind\nx,某街道,town\n"))
            #expect(column.row == 1 && column.field == "kind", "\(column)")

            let good = bad.replacingOccurrences(of: "township", with: "town")
            let imported = try await Self.load(hotline, .units, good)
            #expect(imported.rows == 3)
            #expect(try await hotline.count("units") == units + 3)
            let child = try await hotline.request(.get, "/api/v1/units/ningyang.a.b", as: "admin").object()
            #expect(child["parent"] as? String == "ningyang.a" && child["name"] as? String == "八仙桥社区")
            let comma = try await hotline.request(.get, "/api/v1/units/ningyang.c", as: "admin").object()
            #expect(comma["name"] as? String == "某某, 单位")
        }
    }

    @Test func usersComeWithAPasswordShownOnceAndCategoriesWithTheirRouting() async throws {
        try await withHotline { hotline in
            let users = try await hotline.count("users")
            let bad = "name,role,unit,login\n赵一,handler,housing,zhao.yi\n钱二,cook,,qian.er\n"
            let failure = try #require(await Self.failure(hotline, .users, bad))
            #expect(failure.row == 3 && failure.field == "role", "\(failure)")
            #expect(try await hotline.count("users") == users)

            let imported = try await Self.load(hotline, .users, "name,role,unit,login\n赵一,handler,housing,zhao.yi\n钱二,operator,,qian.er\n孙三,manager,,\n")
            #expect(imported.rows == 3 && imported.passwords.map(\.login) == ["zhao.yi", "qian.er"])
            let (login, password) = try #require(imported.passwords.first)
            let signedIn = try await Users.authenticate(login: login, password: password, database: hotline.database, logger: TestDatabase.logger)
            #expect(signedIn?.role == .handler && signedIn?.unit == "housing")
            // The same login again: the row is named, nothing goes in.
            let again = try #require(await Self.failure(hotline, .users, "name,role,login\n李四,operator,lisi\n周五,operator,zhao.yi\n"))
            #expect(again.row == 3 && again.field == "login", "\(again)")
            #expect(try await hotline.count("users") == users + 3)

            let categories = try await Self.load(hotline, .categories,
                                                 "code,name,parent,default_lead_unit,default_assist_units\nhousing.elevator,电梯维修,housing,housing,environment;water\n")
            #expect(categories.rows == 1)
            let category = try await hotline.request(.get, "/api/v1/categories/housing.elevator", as: "admin").object()
            #expect(category["default_lead_unit"] as? String == "housing" && category["default_assist_units"] as? [String] == ["environment", "water"])
            let unknown = try #require(await Self.failure(hotline, .categories, "code,name,default_lead_unit\nx.y,某事项,no.such.unit\n"))
            #expect(unknown.row == 2 && unknown.message.contains("no.such.unit"), "\(unknown)")
        }
    }
}
