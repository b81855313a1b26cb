import Foundation
import HotlineCore
import Testing

/// DOMAIN §15: the hotspots of a generated quarter (and the March a year before) against a
/// recomputation here, from what the test filed and rated, never from the database.
@Suite("Hotspots") struct HotspotTests {
    struct Filed {
        let at: Date
        let category: String
        let region: String?
        let phone: String
        var repeatCall = false
        var satisfaction: String?
    }

    /// SplitMix64: the same quarter every run.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static let categories = ["utilities.water", "utilities.heating", "housing.property", "environment.noise"]
    static let regions: [String?] = ["taishan", "daiyue", "taishan.caiyuan", nil]
    static let rising = ("utilities.water", "taishan.caiyuan")

    /// Cases of March 2025, and of January to March 2026, with a cell that rises in March.
    static func quarter() -> [Filed] {
        var random = Generator(state: 15)
        var filed: [Filed] = []
        // Water and property twice as often as heating and noise: some cells reach 10, some do not.
        let weighted = [0, 0, 1, 2, 2, 3]
        for (year, month, cases) in [(2025, 3, 40), (2026, 1, 150), (2026, 2, 150), (2026, 3, 150)] {
            for _ in 0..<cases {
                let day = LocalDate(year: year, month: month, day: 1 + random.next(28))!
                let at = day.startInstant.addingTimeInterval(Double(9 * 3600 + random.next(8 * 3600)))
                filed.append(Filed(at: at, category: categories[weighted[random.next(weighted.count)]],
                                   region: regions[random.next(regions.count)], phone: "1370000\(String(format: "%04d", random.next(60)))"))
            }
        }
        for index in 0..<24 {  // the rising cell: 24 more in March
            let at = LocalDate(year: 2026, month: 3, day: 2 + index)!.startInstant.addingTimeInterval(10 * 3600 + Double(index))
            filed.append(Filed(at: at, category: rising.0, region: rising.1, phone: "1371111\(String(format: "%04d", index))"))
        }
        filed.sort { $0.at < $1.at }
        // A repeat call: the same phone filed a case in the 30 days before.
        for index in filed.indices {
            filed[index].repeatCall = filed[..<index].contains {
                $0.phone == filed[index].phone && $0.at >= filed[index].at.addingTimeInterval(-30 * 86_400)
            }
        }
        return filed
    }

    struct Cell: Hashable, Comparable {
        let category: String?
        let region: String?
        static func < (a: Cell, b: Cell) -> Bool {
            (a.category ?? "", a.region ?? "\u{10FFFF}") < (b.category ?? "", b.region ?? "\u{10FFFF}")
        }
    }

    struct Expected {
        var count = 0, repeats = 0, satisfied = 0, rated = 0
    }

    static func month(_ date: Date) -> String {
        let (year, month, _) = LocalDate(date).civil
        return String(format: "%04d-%02d", year, month)
    }

    static func figures(_ filed: [Filed], by cellOf: (Filed) -> Cell, in period: (Date) -> Bool) -> [Cell: Expected] {
        var out: [Cell: Expected] = [:]
        for f in filed where period(f.at) {
            out[cellOf(f), default: Expected()].count += 1
            if f.repeatCall { out[cellOf(f), default: Expected()].repeats += 1 }
        }
        return out
    }

    @Test func aGeneratedQuartersHotspotsEqualTheirRecomputation() async throws {
        try await withHotline(start: LocalDate(year: 2025, month: 3, day: 1)!.startInstant) { hotline in
            var filed = Self.quarter()
            var numbers: [String] = []
            for f in filed {
                hotline.clock.set(f.at)
                var body = CaseBodies.make(category: f.category, region: f.region, phone: f.phone)
                body["location"] = f.region.map { ["region": $0] }
                numbers.append(try await hotline.fileCase(json(body)))
            }
            // Rated visits in March on every fourth case of March: satisfied, basically, unsatisfied in turn.
            hotline.clock.set(Timestamp.parse("2026-03-30T09:00:00+08:00")!)
            let ratings = ["satisfied", "basically_satisfied", "unsatisfied"]
            var rated = 0
            for index in filed.indices where Self.month(filed[index].at) == "2026-03" && index % 4 == 0 {
                let number = numbers[index]
                try await hotline.dispatch(number)
                try await hotline.step(number, "sign", as: "handler:housing")
                try await hotline.reply(number)
                try await hotline.visit(number, satisfaction: ratings[rated % 3])
                filed[index].satisfaction = ratings[rated % 3]
                rated += 1
            }

            // Read live, then from the days kept by a sweep (through 29 March; the 30th's visits
            // still live): the same reports.
            var live: [String: String] = [:]
            for query in Self.keptQueries {
                live[query] = Self.undated(try await hotline.request(.get, "/api/v1/analysis/hotspots?\(query)", as: "manager").text)
            }
            #expect(try await hotline.count("hotspot_days") == 0)
            try await hotline.sweep(at: "2026-03-30T10:00:00+08:00")
            #expect(try await hotline.count("hotspot_days") > 0)
            for query in Self.keptQueries {
                let kept = Self.undated(try await hotline.request(.get, "/api/v1/analysis/hotspots?\(query)", as: "manager").text)
                #expect(kept == live[query], "\(query)")
            }

            // By category and region, for March 2026.
            let report = try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-03", as: "manager").object()
            let both = { (f: Filed) in Cell(category: f.category, region: f.region) }
            var march = Self.figures(filed, by: both) { Self.month($0) == "2026-03" }
            for f in filed where f.satisfaction != nil {
                march[both(f), default: Expected()].rated += 1
                if f.satisfaction != "unsatisfied" { march[both(f), default: Expected()].satisfied += 1 }
            }
            let february = Self.figures(filed, by: both) { Self.month($0) == "2026-02" }
            let january = Self.figures(filed, by: both) { Self.month($0) == "2026-01" }
            let lastYear = Self.figures(filed, by: both) { Self.month($0) == "2025-03" }
            let keys = Set(march.keys).union(february.keys).union(lastYear.keys)
            func change(_ now: Int, _ then: Int) -> Double? { then == 0 ? nil : (Double(now - then) / Double(then) * 10_000).rounded() / 10_000 }
            struct Line: Equatable { let cell: Cell; let figures: [Int]; let change: Double?; let yearChange: Double? }
            func line(_ key: Cell) -> Line {
                let m = march[key] ?? Expected()
                let (feb, jan, year) = (february[key]?.count ?? 0, january[key]?.count ?? 0, lastYear[key]?.count ?? 0)
                return Line(cell: key, figures: [m.count, feb, year, m.repeats, m.satisfied, m.rated, 0, 0, 0, jan, feb, m.count],
                            change: change(m.count, feb), yearChange: change(m.count, year))
            }
            let expected = keys.sorted { a, b in
                let (x, y) = (march[a]?.count ?? 0, march[b]?.count ?? 0)
                return x != y ? x > y : a < b
            }.map(line)
            let cells = try #require(report["cells"] as? [[String: Any]])
            func read(_ c: [String: Any]) -> Line {
                let satisfaction = c["satisfaction"] as? [String: Any], repeats = c["repeat_share"] as? [String: Any]
                return Line(cell: Cell(category: c["category"] as? String, region: c["region"] as? String),
                            figures: [c["count"] as? Int ?? -1, c["previous"] as? Int ?? -1, c["year_before"] as? Int ?? -1,
                                      repeats?["numerator"] as? Int ?? -1, satisfaction?["numerator"] as? Int ?? -1,
                                      satisfaction?["denominator"] as? Int ?? -1] + (c["trend"] as? [Int] ?? []),
                            change: c["change"] as? Double, yearChange: c["year_change"] as? Double)
            }
            let actual = cells.map(read)
            #expect(actual == expected)
            let total = march.values.reduce(0) { $0 + $1.count }
            #expect(report["total"] as? Int == total)
            #expect(report["trend_periods"] as? [String] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"])
            let unplaced = cells.filter { $0["region"] == nil && $0["region_name"] as? String == "未指定区域" }
            #expect(!unplaced.isEmpty)
            // The ten fastest rising among cells of at least 10: the rising cell first.
            let risingExpected = expected.filter { $0.figures[0] >= Hotspots.smallestCell && ($0.change ?? 1) > 0 }.sorted { a, b in
                let (x, y) = (a.change ?? .infinity, b.change ?? .infinity)
                return x != y ? x > y : (a.figures[0] != b.figures[0] ? a.figures[0] > b.figures[0] : a.cell < b.cell)
            }.prefix(10).map(\.cell)
            let risingActual = try #require(report["rising"] as? [[String: Any]]).map(read).map(\.cell)
            #expect(risingActual == Array(risingExpected))
            #expect(risingActual.count > 1, "\(risingActual)")
            let fell = expected.filter { $0.figures[0] >= Hotspots.smallestCell && ($0.change ?? 1) <= 0 }
            #expect(!fell.isEmpty, "the quarter has a large cell that fell, which rising must leave out")
            #expect(risingActual.first == Cell(category: Self.rising.0, region: Self.rising.1))
            // 每月一题: in the top ten by volume in each of January, February and March.
            func top(_ figures: [Cell: Expected], _ measure: (Expected) -> Double?) -> Set<Cell> {
                let scored = figures.compactMap { key, value in measure(value).flatMap { $0 > 0 ? (key, $0) : nil } }
                return Set(scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(10).map(\.0))
            }
            func inAllThree(_ measure: (Expected) -> Double?) -> Set<Cell> {
                top(january, measure).intersection(top(february, measure)).intersection(top(march, measure))
            }
            let candidates = try #require(report["candidates"] as? [[String: Any]])
            func listed(_ measure: String) -> Set<Cell> {
                Set(candidates.filter { ($0["measures"] as? [String] ?? []).contains(measure) }
                    .map { Cell(category: $0["category"] as? String, region: $0["region"] as? String) })
            }
            let byVolume = inAllThree { Double($0.count) }
            let byRepeats = inAllThree { $0.count >= 10 ? Double($0.repeats) / Double($0.count) : nil }
            let byDissatisfaction = inAllThree { $0.rated >= 10 ? 1 - Double($0.satisfied) / Double($0.rated) : nil }
            #expect(listed("volume") == byVolume && !byVolume.isEmpty, "\(byVolume)")
            #expect(listed("repeat_share") == byRepeats && !byRepeats.isEmpty, "\(byRepeats)")
            // Rated visits only in March: no cell has a dissatisfaction in all three.
            #expect(listed("dissatisfaction") == byDissatisfaction && byDissatisfaction.isEmpty)

            // By region alone.
            let regional = try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-03&by=region", as: "supervisor").object()
            let byRegion = Self.figures(filed, by: { Cell(category: nil, region: $0.region) }) { Self.month($0) == "2026-03" }
            let regionCounts = try #require(regional["cells"] as? [[String: Any]]).filter { ($0["count"] as? Int ?? 0) > 0 }
                .reduce(into: [Cell: Int]()) { $0[Cell(category: $1["category"] as? String, region: $1["region"] as? String)] = $1["count"] as? Int }
            #expect(regionCounts == byRegion.mapValues(\.count))
            // An ISO week: 2026-W10 is 2 to 8 March.
            let week = try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-W10&by=category", as: "dispatcher").object()
            let w10 = Self.figures(filed, by: { Cell(category: $0.category, region: nil) }) { date in
                let day = LocalDate(date)
                return day >= LocalDate(year: 2026, month: 3, day: 2)! && day <= LocalDate(year: 2026, month: 3, day: 8)!
            }
            let weekCounts = try #require(week["cells"] as? [[String: Any]]).filter { ($0["count"] as? Int ?? 0) > 0 }
                .reduce(into: [Cell: Int]()) { $0[Cell(category: $1["category"] as? String, region: nil)] = $1["count"] as? Int }
            #expect(weekCounts == w10.mapValues(\.count))
            #expect(week["previous_period"] as? String == "2026-W09" && week["year_before_period"] as? String == "2025-W10")
            // 2025-W10 is 3 to 9 March 2025.
            let w10LastYear = filed.filter { f in
                let day = LocalDate(f.at)
                return day >= LocalDate(year: 2025, month: 3, day: 3)! && day <= LocalDate(year: 2025, month: 3, day: 9)!
            }.count
            #expect(week["total_year_before"] as? Int == w10LastYear && w10LastYear > 0)

            // The spreadsheet and the page.
            let csv = try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-03&format=csv", as: "manager")
            #expect(Array(csv.body.readableBytesView.prefix(3)) == [0xEF, 0xBB, 0xBF])
            let rows = String(decoding: csv.body.readableBytesView.dropFirst(3), as: UTF8.self).components(separatedBy: "\r\n")
            #expect(rows.first?.hasPrefix("分类代码,分类,区域代码,区域,本期件数") == true)
            let filled = rows.filter { !$0.isEmpty }
            #expect(filled.count == expected.count + 1)
            let page = try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-03", as: "manager",
                                                 headers: [.accept: "text/html"])
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("<svg") && page.text.contains("<polyline") && page.text.contains("供水"))
            #expect(!page.text.contains("<script") && !page.text.contains("src=") && !page.text.contains("href="))
            try FileManager.default.createDirectory(atPath: ".build/pages", withIntermediateDirectories: true)
            try page.text.write(toFile: ".build/pages/hotspots-2026-03.html", atomically: true, encoding: .utf8)
        }
    }

    static let keptQueries = ["period=2026-03", "period=2026-03&by=region", "period=2026-02&by=category", "period=2026-W10&by=category"]

    static func undated(_ json: String) -> String {
        json.replacingOccurrences(of: #""generated_at" *: *"[^"]*""#, with: "", options: .regularExpression)
    }

    /// A day is kept once, after it is over; what came after the last kept day is read live.
    @Test func aDayIsKeptOnceWhenItIsOverAndTheDaysAfterAreReadLive() async throws {
        try await withHotline(start: Timestamp.parse("2026-03-02T09:00:00+08:00")!) { hotline in
            func water() async throws -> Int? {
                let report = try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-03&by=category", as: "manager").object()
                let cells = report["cells"] as? [[String: Any]] ?? []
                return cells.first { $0["category"] as? String == "utilities.water" }?["count"] as? Int
            }
            func keptCases() async throws -> Int {
                try await hotline.sql { connection in
                    try await connection.query("SELECT coalesce(sum(cases), 0)::int8 FROM hotspot_days", logger: TestDatabase.logger)
                        .collect().first!.decode(Int.self)
                }
            }
            for _ in 0..<2 { try await hotline.fileCase(json(CaseBodies.make(category: "utilities.water", region: "taishan", phone: "13800000001"))) }
            // 00:05 on the 3rd: the 2nd is not settled yet.
            try await hotline.sweep(at: "2026-03-03T00:05:00+08:00")
            #expect(try await keptCases() == 0)
            try await hotline.sweep(at: "2026-03-03T10:00:00+08:00")
            #expect(try await keptCases() == 2)
            try await hotline.fileCase(json(CaseBodies.make(category: "utilities.water", region: "taishan", phone: "13800000002")))
            #expect(try await water() == 3)
            try await hotline.sweep(at: "2026-03-03T11:00:00+08:00")
            #expect(try await keptCases() == 2)
            try await hotline.sweep(at: "2026-03-05T10:00:00+08:00")
            #expect(try await keptCases() == 3)
            #expect(try await water() == 3)
        }
    }

    @Test func aPeriodOrDimensionThatIsNotOneIsRefusedAndAUnitReadsNone() async throws {
        try await withHotline { hotline in
            for query in ["", "period=2026", "period=2026-13", "period=2026-W54", "period=2026-W00", "period=2026-3",
                          "period=2026-03&by=unit", "period=2026-03&by=category,category", "period=2026-03&format=pdf"] {
                let response = try await hotline.request(.get, "/api/v1/analysis/hotspots?\(query)", as: "manager")
                #expect(response.status == .badRequest, "\(query): \(response.status) \(response.text)")
            }
            #expect(try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-W53", as: "manager").status == .ok)
            for who in ["handler:housing", "dispatcher:taishan", "admin"] {
                #expect(try await hotline.request(.get, "/api/v1/analysis/hotspots?period=2026-03", as: who).status == .forbidden)
            }
        }
    }

    @Test func isoWeeksFollowTheirThursday() throws {
        #expect(HotspotPeriod("2026-W01")?.firstDay == LocalDate(year: 2025, month: 12, day: 29))
        #expect(HotspotPeriod("2020-W53")?.firstDay == LocalDate(year: 2020, month: 12, day: 28))
        #expect(HotspotPeriod("2021-W53") == nil)
        #expect(HotspotPeriod("2021-W01")?.previous.description == "2020-W53")
        #expect(HotspotPeriod("2020-W53")?.yearBefore.description == "2019-W52")
        #expect(HotspotPeriod("2026-01")?.previous.description == "2025-12")
        #expect(HotspotPeriod("2026-W10")?.end == LocalDate(year: 2026, month: 3, day: 9)!.startInstant)
    }
}
