import Foundation
import HotlineCore
import Testing

/// The official calendars, written out again here from the State Council's notices so that the
/// deadline engine is checked against a second, independent transcription.
enum OfficialCalendar {
    static let offDays: [String] = [
        // 2025 (国办发明电〔2024〕12号)
        "2025-01-01",
        "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02", "2025-02-03", "2025-02-04",
        "2025-04-04", "2025-04-05", "2025-04-06",
        "2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04", "2025-05-05",
        "2025-05-31", "2025-06-01", "2025-06-02",
        "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04", "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-08",
        // 2026 (国务院办公厅 2025年11月4日)
        "2026-01-01", "2026-01-02", "2026-01-03",
        "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
        "2026-04-04", "2026-04-05", "2026-04-06",
        "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
        "2026-06-19", "2026-06-20", "2026-06-21",
        "2026-09-25", "2026-09-26", "2026-09-27",
        "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
    ]
    static let makeUpDays: [String] = [
        "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ]

    static let shanghai: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }()

    static func key(_ date: Date) -> String {
        let c = shanghai.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    static func isWorking(_ date: Date) -> Bool {
        let k = key(date)
        if makeUpDays.contains(k) { return true }
        if offDays.contains(k) { return false }
        return !shanghai.isDateInWeekend(date)
    }

    /// The naive reading of DOMAIN §6, day by day with Foundation's calendar.
    static func deadline(fromDay day: Date, workingDays: Int) -> (String, Bool) {
        var date = day
        var counted = 0
        var provisional = false
        while counted < workingDays {
            date = shanghai.date(byAdding: .day, value: 1, to: date)!
            let year = shanghai.component(.year, from: date)
            if year != 2025 && year != 2026 { provisional = true }
            if isWorking(date) { counted += 1 }
        }
        return (key(date) + "T23:59:59+08:00", provisional)
    }
}

@Suite("Working-day calendar") struct CalendarTests {
    static func deadline(_ hotline: TestHotline, from: String, days: Int) async throws -> (String, Bool) {
        let from = from.replacingOccurrences(of: "+", with: "%2B")
        let response = try await hotline.request(.get, "/api/v1/calendar/deadline?from=\(from)&working_days=\(days)", as: "operator")
        guard response.status == .ok else { throw TestFailure("\(response.status): \(response.text)") }
        let object = try response.object()
        return (object["deadline"] as! String, object["provisional"] as! Bool)
    }

    @Test func theExampleOfTheSpecificationHolds() async throws {
        try await withHotline { hotline in
            let (deadline, provisional) = try await Self.deadline(hotline, from: "2026-02-12T10:00:00+08:00", days: 3)
            #expect(deadline == "2026-02-24T23:59:59+08:00")
            #expect(!provisional)
        }
    }

    /// Hand-computed deadlines at every holiday boundary of 2025 and 2026.
    @Test(arguments: [
        // 2025 New Year, Spring Festival, Qingming, Labour Day, Dragon Boat, National Day
        ("2024-12-31T10:00:00+08:00", 1, "2025-01-02"),
        ("2025-01-24T10:00:00+08:00", 1, "2025-01-26"),
        ("2025-01-26T10:00:00+08:00", 1, "2025-01-27"),
        ("2025-01-27T10:00:00+08:00", 1, "2025-02-05"),
        ("2025-01-30T10:00:00+08:00", 1, "2025-02-05"),
        ("2025-02-07T10:00:00+08:00", 1, "2025-02-08"),
        ("2025-02-08T10:00:00+08:00", 1, "2025-02-10"),
        ("2025-04-03T10:00:00+08:00", 1, "2025-04-07"),
        ("2025-04-25T10:00:00+08:00", 1, "2025-04-27"),
        ("2025-04-30T10:00:00+08:00", 1, "2025-05-06"),
        ("2025-04-30T10:00:00+08:00", 5, "2025-05-12"),
        ("2025-05-30T10:00:00+08:00", 1, "2025-06-03"),
        ("2025-09-26T10:00:00+08:00", 1, "2025-09-28"),
        ("2025-09-30T10:00:00+08:00", 1, "2025-10-09"),
        ("2025-10-09T10:00:00+08:00", 1, "2025-10-10"),
        ("2025-10-10T10:00:00+08:00", 1, "2025-10-11"),
        ("2025-10-11T10:00:00+08:00", 1, "2025-10-13"),
        // 2026
        ("2025-12-31T10:00:00+08:00", 1, "2026-01-04"),
        ("2025-12-31T10:00:00+08:00", 2, "2026-01-05"),
        ("2026-02-12T10:00:00+08:00", 3, "2026-02-24"),
        ("2026-02-13T10:00:00+08:00", 1, "2026-02-14"),
        ("2026-02-14T10:00:00+08:00", 1, "2026-02-24"),
        ("2026-02-15T10:00:00+08:00", 1, "2026-02-24"),
        ("2026-02-23T10:00:00+08:00", 1, "2026-02-24"),
        ("2026-02-27T10:00:00+08:00", 1, "2026-02-28"),
        ("2026-02-27T10:00:00+08:00", 2, "2026-03-02"),
        ("2026-04-03T10:00:00+08:00", 1, "2026-04-07"),
        ("2026-04-30T10:00:00+08:00", 1, "2026-05-06"),
        ("2026-05-08T10:00:00+08:00", 1, "2026-05-09"),
        ("2026-05-09T10:00:00+08:00", 1, "2026-05-11"),
        ("2026-06-18T10:00:00+08:00", 1, "2026-06-22"),
        ("2026-09-18T10:00:00+08:00", 1, "2026-09-20"),
        ("2026-09-24T10:00:00+08:00", 1, "2026-09-28"),
        ("2026-09-30T10:00:00+08:00", 1, "2026-10-08"),
        ("2026-10-09T10:00:00+08:00", 1, "2026-10-10"),
        ("2026-10-09T10:00:00+08:00", 2, "2026-10-12"),
        // The Shanghai day decides, whatever offset the time is written in.
        ("2026-02-13T15:59:59Z", 1, "2026-02-14"),
        ("2026-02-13T16:00:00Z", 1, "2026-02-24"),
        ("2026-02-12T23:30:00-05:00", 1, "2026-02-14"),
        ("2026-02-13T12:30:00-05:00", 1, "2026-02-24"),
    ])
    func holidayBoundaries(from: String, days: Int, due: String) async throws {
        try await withHotline { hotline in
            let (deadline, provisional) = try await Self.deadline(hotline, from: from, days: days)
            #expect(deadline == due + "T23:59:59+08:00")
            #expect(!provisional)
        }
    }

    @Test func everyStartDayOf2025And2026AgreesWithTheOfficialCalendar() async throws {
        try await withHotline { hotline in
            let start = OfficialCalendar.shanghai.date(from: DateComponents(year: 2025, month: 1, day: 1, hour: 10))!
            let cases: [(String, Date, Int)] = (0..<730).flatMap { offset -> [(String, Date, Int)] in
                let day = OfficialCalendar.shanghai.date(byAdding: .day, value: offset, to: start)!
                let from = OfficialCalendar.key(day) + "T10:00:00+08:00"
                return (1...15).map { (from, day, $0) }
            }
            var mismatches: [String] = []
            for chunk in stride(from: 0, to: cases.count, by: 8) {
                let results = try await withThrowingTaskGroup(of: String?.self) { group in
                    for (from, day, n) in cases[chunk..<min(chunk + 8, cases.count)] {
                        group.addTask {
                            let got = try await Self.deadline(hotline, from: from, days: n)
                            let want = OfficialCalendar.deadline(fromDay: day, workingDays: n)
                            return got == want ? nil : "\(from) +\(n): got \(got), want \(want)"
                        }
                    }
                    return try await group.compactMap { $0 }.reduce(into: [String]()) { $0.append($1) }
                }
                mismatches += results
            }
            #expect(cases.count == 10_950)
            #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
        }
    }

    @Test func beyondTheLoadedYearsMondayToFridayStandsInAndIsFlaggedProvisional() async throws {
        try await withHotline { hotline in
            let (deadline, provisional) = try await Self.deadline(hotline, from: "2026-12-31T10:00:00+08:00", days: 1)
            #expect(deadline == "2027-01-01T23:59:59+08:00")
            #expect(provisional)
            // Loading 2027 makes it official: New Year's Day off, so the 4th (a Monday).
            let put = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager", body: """
                {"source": "test notice", "off_days": [{"date": "2027-01-01", "name": "元旦"}, "2027-01-02", "2027-01-03"],
                 "make_up_working_days": []}
                """)
            #expect(put.status == .ok, "\(put.text)")
            let (official, nowProvisional) = try await Self.deadline(hotline, from: "2026-12-31T10:00:00+08:00", days: 1)
            #expect(official == "2027-01-04T23:59:59+08:00")
            #expect(!nowProvisional)
            let year = try await hotline.request(.get, "/api/v1/calendar/2027", as: "handler:water").object()
            #expect((year["off_days"] as? [[String: Any]])?.first?["name"] as? String == "元旦")
        }
    }

    @Test func hoursAreNaturalTimeToTheSecond() async throws {
        try await withHotline { hotline in
            let response = try await hotline.request(.get, "/api/v1/calendar/deadline?from=2026-02-14T10:00:05%2B08:00&hours=24", as: "operator")
            let object = try response.object()
            #expect(object["deadline"] as? String == "2026-02-15T10:00:05+08:00")
            #expect(object["provisional"] as? Bool == false)
        }
    }

    @Test func badDeadlineQuestionsAreRefusedClearly() async throws {
        try await withHotline { hotline in
            for query in ["", "?from=yesterday&working_days=3", "?from=2026-02-12T10:00:00%2B08:00",
                          "?from=2026-02-12T10:00:00%2B08:00&working_days=0", "?from=2026-02-12T10:00:00%2B08:00&working_days=x",
                          "?from=2026-02-12T10:00:00%2B08:00&working_days=3&hours=2", "?from=2026-02-30T10:00:00%2B08:00&hours=2"] {
                let response = try await hotline.request(.get, "/api/v1/calendar/deadline" + query, as: "operator")
                #expect(response.status == .badRequest, "\(query): \(response.text)")
                #expect(response.problemCode == "validation_failed")
            }
        }
    }

    @Test func onlyAManagerLoadsAYearAndABadYearChangesNothing() async throws {
        try await withHotline { hotline in
            let document = #"{"off_days": ["2027-01-01"], "make_up_working_days": []}"#
            let byOperator = try await hotline.request(.put, "/api/v1/calendar/2027", as: "operator", body: document)
            #expect(byOperator.status == .forbidden)
            for bad in [
                #"{"off_days": ["2027-02-30"], "make_up_working_days": []}"#,
                #"{"off_days": ["2029-01-01"], "make_up_working_days": []}"#,
                #"{"off_days": [], "make_up_working_days": ["2027-01-04"]}"#,
                #"{"off_days": ["2027-01-01", "2027-01-01"], "make_up_working_days": []}"#,
                #"{"year": 2028, "off_days": [], "make_up_working_days": []}"#,
                #"{"off_days": "2027-01-01", "make_up_working_days": []}"#,
            ] {
                let response = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager", body: bad)
                #expect(response.status == .badRequest, "\(bad): \(response.text)")
            }
            // A day another year's notice already gives is refused.
            let overlap = try await hotline.request(.put, "/api/v1/calendar/2027", as: "manager",
                                                    body: #"{"off_days": ["2026-12-31", "2026-01-01"], "make_up_working_days": []}"#)
            #expect(overlap.status == .badRequest || overlap.status == .unprocessableContent, "\(overlap.text)")
            let missing = try await hotline.request(.get, "/api/v1/calendar/2027", as: "manager")
            #expect(missing.status == .notFound)
        }
    }

    @Test func readinessWarnsWhenTheCalendarRunsOut() async throws {
        try await withHotline { hotline in
            let ready = try await hotline.request(.get, "/health/ready").object()
            #expect(ready["status"] as? String == "ready")
            #expect(ready["calendar_covered_until"] as? String == "2026-12-31")
            hotline.clock.set(Timestamp.parse("2026-11-15T09:00:00+08:00")!)
            let degraded = try await hotline.request(.get, "/health/ready")
            #expect(degraded.status == .ok)
            #expect(try degraded.object()["status"] as? String == "degraded")
        }
    }
}
