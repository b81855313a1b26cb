import Foundation
import Logging
import PostgresNIO

/// A reproducible stream of random numbers (SplitMix64): the same seed, the same year.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

/// Generates a realistic stretch of a hotline's work through the service's own operations
/// (intake, dispatch, signing, returns, extensions, opinions, replies, visits, reopening,
/// exemption, withdrawal) with their own rules and deadlines: what a large 12345 hotline sees,
/// about 47 % consultations (most answered on the spot), 30 % help, 15 % suggestions, the rest
/// complaints and reports, with some lateness, returns, extensions, failed calls and reopens.
public struct YearSimulation: Sendable {
    public struct Progress: Sendable {
        public let done: Int
        public let total: Int
        public let failed: Int
        public let elapsed: Duration
    }

    public var cases: Int
    public var from: Date
    public var to: Date
    public var seed: UInt64
    /// Towns to add under the districts until the unit tree has about this many units.
    public var units: Int

    public init(cases: Int, from: Date, to: Date, seed: UInt64 = 12345, units: Int = 0) {
        self.cases = cases
        self.from = from
        self.to = to
        self.seed = seed
        self.units = units
    }

    struct Cast {
        let operatorStaff: Staff
        let dispatcher: Staff
        var handlers: [String: Staff]
        /// The sub-center dispatcher of each unit that has units below it, and those units.
        let subCenters: [String: Staff]
        let children: [String: [String]]
        let categories: [String]
        let regions: [String]
        let departments: [String]
        /// The published article a direct answer cites.
        let article: Int64
    }

    /// Runs the simulation; returns how many cases could not be generated (a rule refused a
    /// step), which should be none.
    @discardableResult
    public func run(
        database: Database, logger: Logger, progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Int {
        var cast = try await prepare(database: database, logger: logger)
        var random = SeededGenerator(state: seed)
        let started = ContinuousClock.now
        let span = to.timeIntervalSince(from)
        // Acceptance times spread over the period, in order, during the center's day.
        var times = (0..<cases).map { _ in Double.random(in: 0..<span, using: &random) }.sorted()
        times = times.map { offset in
            let instant = from.addingTimeInterval(offset)
            let day = LocalDate(instant)
            return day.startInstant.addingTimeInterval(8 * 3600 + Double.random(in: 0..<(12 * 3600), using: &random))
                .wholeSecond.timeIntervalSince(from)
        }
        var failed = 0
        for (index, offset) in times.enumerated() {
            let start = from.addingTimeInterval(offset)
            var caseRandom = SeededGenerator(state: seed &+ UInt64(index) &* 7919)
            do {
                try await database.transaction(logger: logger) { connection in
                    try await simulateCase(start: start, rising: offset >= span * 2 / 3, cast: &cast, random: &caseRandom,
                                           on: connection, logger: logger)
                }
            } catch {
                failed += 1
                logger.warning("simulated case failed", metadata: ["error": "\(DatabaseFailure.loggable(error))"])
            }
            if let progress, (index + 1) % 500 == 0 || index + 1 == cases {
                progress(Progress(done: index + 1, total: cases, failed: failed, elapsed: ContinuousClock.now - started))
            }
        }
        // Supervision as it would have run: a sweep at the end of every day of the period.
        var day = LocalDate(from)
        while day <= LocalDate(to) {
            _ = try await UrgingLadder.sweep(database: database, at: day.endOfDayInstant.addingTimeInterval(1), logger: logger)
            day = day.adding(days: 1)
        }
        return failed
    }

    func prepare(database: Database, logger: Logger) async throws -> Cast {
        try await database.transaction(logger: logger) { connection in
            try await DemoOrganisation.install(on: connection, logger: logger)
            // Grow the tree with towns under the districts, as a city of ~300 units has.
            let existing = try await connection.rows("SELECT count(*) AS n FROM units", logger: logger).first!.value("n", as: Int.self)
            if units > existing {
                let districts = DemoOrganisation.units.filter { $0.group == .district }.map(\.code)
                for index in 0..<(units - existing) {
                    let district = districts[index % districts.count]
                    try await connection.execute("""
                        INSERT INTO units (code, name, unit_group, parent) VALUES (\("\(district).town-\(index)"), \("模拟镇街\(index)"), 'town', \(district))
                        ON CONFLICT (code) DO NOTHING
                        """, logger: logger)
                }
            }
            func user(_ name: String, _ role: Role, _ unit: String?) async throws -> Staff {
                if let row = try await connection.row("SELECT id FROM users WHERE name = \(name)", logger: logger) {
                    return Staff(id: try row.value("id"), role: role, unit: unit)
                }
                let created = try await Users.create(NewUser(name: name, role: role, unit: unit), on: connection, logger: logger)
                return Staff(id: created.id, role: role, unit: unit)
            }
            var handlers: [String: Staff] = [:]
            var children: [String: [String]] = [:]
            for row in try await connection.rows("SELECT code, parent FROM units ORDER BY code", logger: logger) {
                let code: String = try row.value("code")
                handlers[code] = try await user("模拟承办人-\(code)", .handler, code)
                if let parent = try row.value("parent", as: String?.self) { children[parent, default: []].append(code) }
            }
            var subCenters: [String: Staff] = [:]
            for unit in children.keys.sorted() {
                subCenters[unit] = try await user("模拟分中心派单员-\(unit)", .dispatcher, unit)
            }
            let categories = try await connection.rows(
                "SELECT code FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent = c.code) ORDER BY code",
                logger: logger
            ).map { try $0.value("code", as: String.self) }
            let regions = try await connection.rows(
                "SELECT code FROM units WHERE unit_group IN ('district', 'functional_zone', 'town') ORDER BY code", logger: logger
            ).map { try $0.value("code", as: String.self) }
            let departments = DemoOrganisation.units.filter { $0.group == .cityDepartment }.map(\.code)
            // A direct answer cites a published article (DOMAIN §5): the simulation keeps one.
            let title = "模拟政策解答"
            let article: Int64
            if let row = try await connection.row("SELECT id FROM knowledge_articles WHERE title = \(title)", logger: logger) {
                article = try row.value("id")
            } else {
                let writer = handlers[departments[0]]!
                let created = try await KnowledgeBase.create(ArticleInput(title: title, body: "按现行政策解答市民咨询。", keywords: ["政策"]),
                                                             by: writer, at: from, on: connection, logger: logger)
                article = try await KnowledgeBase.setStatus(created.id, to: .published, by: writer, at: from,
                                                            on: connection, logger: logger).id
            }
            return Cast(operatorStaff: try await user("模拟话务员", .operator, nil), dispatcher: try await user("模拟派单员", .dispatcher, nil),
                        handlers: handlers, subCenters: subCenters, children: children, categories: categories, regions: regions, departments: departments, article: article)
        }
    }

    /// The hotspot that rises in the last third of the period (DOMAIN §15), when the
    /// organisation has it: heating in 泰山区.
    static let risingCell = (category: "utilities.heating", region: "taishan")

    func simulateCase(
        start: Date, rising: Bool, cast: inout Cast, random: inout SeededGenerator, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let roll = Double.random(in: 0..<1, using: &random)
        let type: CaseType = roll < 0.47 ? .consultation : roll < 0.77 ? .help : roll < 0.92 ? .suggestion : roll < 0.96 ? .complaint : .report
        let urgent = type == .help && random.chance(0.15)
        let anonymous = random.chance(0.05)
        var input = NewCase(
            channel: [.phone, .phone, .phone, .web, .app, .wechat, .sms].randomElement(using: &random)!,
            type: type, urgency: urgent ? .urgent : .normal,
            category: cast.categories.randomElement(using: &random)!,
            subject: "模拟工单", description: "市民来电反映的问题（模拟数据）。",
            location: Location(address: "泰安市", region: cast.regions.randomElement(using: &random)!),
            citizen: anonymous ? CitizenInput(anonymous: true)
                : CitizenInput(name: "市民", phone: "138\(String(format: "%08d", Int.random(in: 0..<100_000_000, using: &random)))",
                               confidential: random.chance(0.03), contactConsent: random.chance(0.6)),
            directAnswer: type == .consultation && random.chance(0.95) ? DirectAnswer(text: "已按政策解答。", articleIds: [cast.article]) : nil
        )
        // Repeats and a rising hotspot (DOMAIN §15), drawn apart so the rest of the case's stream
        // stays as it was: some citizens call often (a phone of a small pool), and in the last
        // third of the period a share of the calls are about the rising cell.
        var repeats = SeededGenerator(state: random.state ^ 0x2545_F491_4F6C_DD1D)
        if !input.citizen.anonymous, repeats.chance(0.12) {
            let pool = max(cases / 40, 20)
            input.citizen.phone = "137\(String(format: "%08d", Int.random(in: 0..<pool, using: &repeats)))"
        }
        if rising, repeats.chance(0.2), cast.categories.contains(Self.risingCell.category), cast.regions.contains(Self.risingCell.region) {
            input.category = Self.risingCell.category
            input.location?.region = Self.risingCell.region
            input.directAnswer = nil
            input.subject = "供暖温度不达标"
            input.description = "家中暖气不热，室温不足十六度（模拟数据）。"
        }
        let accepted = try await Intake.accept(input, by: cast.operatorStaff, at: start, on: connection, logger: logger)
        if input.directAnswer != nil { return }
        let number = accepted.number
        var now = start
        func later(_ minimum: TimeInterval, _ maximum: TimeInterval) -> Date {
            now = now.addingTimeInterval(Double.random(in: minimum...maximum, using: &random)).wholeSecond
            return now
        }
        if random.chance(0.01) {
            try await Withdrawal.withdraw(number, .init(reason: "市民撤回"), by: cast.operatorStaff, at: later(600, 7200),
                                          on: connection, logger: logger)
            return
        }
        // Dispatch along the category's routing, else to a department; sometimes with an assisting unit.
        var assists: [String]? = nil
        if random.chance(0.3) { assists = [cast.departments.randomElement(using: &random)!] }
        var lead: String? = nil
        if try await Dispatch.suggest(category: input.category, region: input.location?.region, on: connection, logger: logger) == nil {
            lead = cast.departments.randomElement(using: &random)!
        }
        // 分级办理: a good share of the work goes to the district of the place, for its sub-center to
        // pass down (drawn apart, so that the rest of the case's stream stays as it was).
        var place = SeededGenerator(state: random.state ^ 0x5851_F42D_4C95_7F2D)
        if let region = input.location?.region, let district = region.split(separator: ".").first.map(String.init),
           cast.subCenters[district] != nil, place.chance(0.3) {
            lead = district
        }
        if let chosen = lead, assists?.contains(chosen) == true { assists = [] }
        do {
            try await Dispatch.dispatch(number, .init(leadUnit: lead, assistUnits: assists), by: cast.dispatcher,
                                        at: later(300, 5400), on: connection, logger: logger)
        } catch let error as HotlineError where error.fields.first?.field == "assist_units" {
            try await Dispatch.dispatch(number, .init(leadUnit: lead, assistUnits: []), by: cast.dispatcher,
                                        at: later(60, 120), on: connection, logger: logger)
        }
        let handle = try await CaseAccess.find(number, on: connection, logger: logger)!
        let limits = try await Handling.limits(for: handle, on: connection, logger: logger)
        let calendar = try await CalendarStore.load(on: connection, logger: logger)

        // 并单: now and then the same matter is called in again and merged into this case; half
        // the time the duplicate was dispatched on its own first and found out only days later,
        // its own deadlines missed meanwhile (they stay missed).
        var duplicates: [String] = []
        if random.chance(0.06) {
            var again = input
            again.directAnswer = nil
            again.citizen = CitizenInput(name: "市民", phone: "139\(String(format: "%08d", Int.random(in: 0..<100_000_000, using: &random)))",
                                         contactConsent: true)
            let duplicate = try await Intake.accept(again, by: cast.operatorStaff, at: later(600, 3 * 3600), on: connection, logger: logger)
            if random.chance(0.5) {
                let elsewhere = cast.departments.randomElement(using: &random)!
                try await Dispatch.dispatch(duplicate.number, .init(leadUnit: elsewhere, assistUnits: []), by: cast.dispatcher,
                                            at: later(60, 600), on: connection, logger: logger)
                _ = later(86_400, 3 * 86_400)
            }
            try await Merging.merge(duplicate.number, .init(master: number), by: cast.dispatcher, at: later(60, 600),
                                    on: connection, logger: logger)
            duplicates.append(duplicate.number)
        }

        // 退单: a few units ask to give the case back at once.
        if random.chance(0.04), let current = try await Assignments.activeLead(caseId: handle.id, on: connection, logger: logger) {
            let unitStaff = cast.handlers[current.unit]!
            let requested = try await ReturnRequests.request(number, .init(reason: "非本单位职责", suggestedUnit: nil), by: unitStaff,
                                                      at: later(600, 3600), on: connection, logger: logger)
            // Some reviews take days, past the unit's sign deadline: its ladder waits meanwhile.
            if random.chance(0.4) { _ = later(86_400, 3 * 86_400) }
            if random.chance(0.6) {
                let other = cast.departments.filter { $0 != current.unit }.randomElement(using: &random)!
                try await ReturnRequests.approve(number, requestId: requested.id, .init(leadUnit: other, assistUnits: []),
                                          by: cast.dispatcher, at: later(600, 7200), on: connection, logger: logger)
            } else {
                try await ReturnRequests.reject(number, requestId: requested.id, .init(reason: "属本单位职责"), by: cast.dispatcher,
                                         at: later(600, 7200), on: connection, logger: logger)
            }
        }
        let lead0 = try await Assignments.activeLead(caseId: handle.id, on: connection, logger: logger)!
        let leadStaff = cast.handlers[lead0.unit]!
        let dispatched = lead0.dispatchedAt
        let signDue = calendar.adding(limits[.sign]!, to: dispatched).at
        let replyDue = calendar.adding(limits[.reply]!, to: dispatched).at
        // Signing: mostly in good time, sometimes late.
        now = max(now, dispatched)
        let signAt = random.chance(0.92)
            ? min(dispatched.addingTimeInterval(signDue.timeIntervalSince(dispatched) * Double.random(in: 0.05...0.8, using: &random)), signDue)
            : signDue.addingTimeInterval(Double.random(in: 3600...(2 * 86_400), using: &random))
        // A sign late by more than a few hours is urged by hand, and escalated by hand (督办) if
        // the lateness is long.
        if signAt.timeIntervalSince(signDue) > 4 * 3600, now < signDue {
            try await Supervision.urge(number, .init(assignment: lead0.id, step: .sign, note: "请尽快签收"), by: cast.dispatcher,
                                       at: signDue.addingTimeInterval(600), on: connection, logger: logger)
            if random.chance(0.5) {
                try await Supervision.escalate(number, .init(assignment: lead0.id, step: .sign, reason: "逾期未签收"), by: cast.dispatcher,
                                               at: signDue.addingTimeInterval(1200), on: connection, logger: logger)
            }
        }
        now = max(now, signAt).wholeSecond
        try await Signing.sign(number, by: leadStaff, at: now, on: connection, logger: logger)
        // 催单: now and then the citizen calls again while the case is in hand.
        if repeats.chance(0.04) {
            now = now.addingTimeInterval(300)
            try await Supplements.add(number, .init(text: "市民再次来电催办，询问处理进度。"), by: cast.operatorStaff, at: now,
                                      on: connection, logger: logger)
        }
        // Assisting units sign and give their opinion.
        for assist in try await Assignments.all(caseId: handle.id, on: connection, logger: logger)
        where assist.role == .assist && assist.status == .dispatched {
            let staff = cast.handlers[assist.unit]!
            try await Signing.sign(number, by: staff, at: later(60, 3600), on: connection, logger: logger)
            try await AssistingOpinions.give(number, .init(text: "协办意见：同意主办单位处理意见。"), by: staff,
                                             at: later(600, 86_400), on: connection, logger: logger)
        }
        // 分级办理: a sub-center passes about half the normal cases it leads down to a unit below
        // it, which may pass it on again; each level signs, mostly in good time.
        var handling = lead0
        var handlingStaff = leadStaff
        while handle.urgency == .normal, handling.parent == nil || random.chance(0.4),
              let below = cast.children[handling.unit], let subCenter = cast.subCenters[handling.unit], random.chance(0.5) {
            let child = below.randomElement(using: &random)!
            try await Tiers.passDown(number, .init(leadUnit: child, assistUnits: nil), by: subCenter, at: later(600, 7200),
                                     on: connection, logger: logger)
            now = random.chance(0.9) ? later(600, 4 * 3600) : later(2 * 86_400, 3 * 86_400)
            handlingStaff = cast.handlers[child]!
            try await Signing.sign(number, by: handlingStaff, at: now, on: connection, logger: logger)
            handling = try await Assignments.chain(caseId: handle.id, on: connection, logger: logger).handling!
        }
        // 先行联系: where the citizen consented, the handling unit calls, mostly within the day.
        if FirstContact.owed(handle), random.chance(0.85) {
            now = random.chance(0.8) ? later(300, 3 * 3600) : later(86_400, 2 * 86_400)
            try await FirstContact.record(number, .init(at: nil, method: .phone, note: nil), by: handlingStaff, at: now,
                                          on: connection, logger: logger)
        }
        var due = handling.parent == nil ? replyDue
            : try await ExtensionRequests.openReplyDeadline(handling.id, on: connection, logger: logger)!.due
        if handling.parent == nil, limits[.extension]!.amount > 0, random.chance(0.05), now < due {
            let requested = try await ExtensionRequests.request(number, .init(workingDays: 3, reason: "需协调相关部门"), by: leadStaff,
                                                         at: later(60, 600), on: connection, logger: logger)
            let review = Double.random(in: 0..<1, using: &random)
            if review < 0.15 {
                // Left unreviewed: the reply makes it lapse; it never moves a later deadline.
            } else if review < 0.8 {
                // Reviewed at once, or only as the deadline draws near.
                let room = due.timeIntervalSince(now)
                now = room > 7200 && random.chance(0.5)
                    ? now.addingTimeInterval(Double.random(in: (room / 2)...(room - 60), using: &random)).wholeSecond
                    : min(later(600, 3600), due)
                try await ExtensionRequests.approve(number, requestId: requested.id, .init(workingDays: 3), by: cast.dispatcher,
                                             at: now, on: connection, logger: logger)
                due = calendar.addingWorkingDays(3, to: due).at
            } else {
                try await ExtensionRequests.reject(number, requestId: requested.id, .init(reason: "可按期办结"), by: cast.dispatcher,
                                            at: later(600, 3600), on: connection, logger: logger)
            }
        }
        try await replyAndVisit(number, lead: handlingStaff, due: due, anonymous: anonymous, cast: cast, random: &random,
                                now: &now, limits: limits, calendar: calendar, on: connection, logger: logger)
        // Each duplicate received the reply and is visited on its own; rated unsatisfied, it may
        // be reopened as its own case, back to the unit that gave the reply.
        for duplicate in duplicates {
            let state = try await CaseAccess.find(duplicate, on: connection, logger: logger)!
            guard state.status == .replied else { continue }
            now = now.addingTimeInterval(Double.random(in: 600...86_400, using: &random)).wholeSecond
            let satisfied = random.chance(0.6)
            _ = try await ReturnVisits.record(duplicate, .init(reached: true, satisfaction: satisfied ? .satisfied : .unsatisfied,
                                                               resolved: satisfied, note: nil),
                                              by: cast.operatorStaff, at: now, on: connection, logger: logger)
            guard !satisfied else { continue }
            now = now.addingTimeInterval(Double.random(in: 600...7200, using: &random)).wholeSecond
            let unit = try await connection.row("SELECT r.unit_code FROM replies r WHERE r.id = \(state.replyId!)", logger: logger)!
                .value("unit_code", as: String.self)
            try await Review.reopen(duplicate, .init(reason: "市民不满意，重新办理"), by: cast.dispatcher, at: now, on: connection, logger: logger)
            try await replyAndVisit(duplicate, lead: cast.handlers[unit]!, due: calendar.adding(limits[.reopenReply]!, to: now).at,
                                    anonymous: false, cast: cast, random: &random, now: &now, limits: limits, calendar: calendar,
                                    on: connection, logger: logger, reopens: 1)
        }
        if random.chance(0.01) {
            try await Review.exempt(number, .init(reason: "诉求超出政策范围"), by: cast.dispatcher, at: later(60, 600),
                                    on: connection, logger: logger)
        }
    }

    func replyAndVisit(
        _ number: String, lead: Staff, due: Date, anonymous: Bool, cast: Cast, random: inout SeededGenerator,
        now: inout Date, limits: [LimitStep: Limit], calendar: WorkingCalendar, on connection: PostgresConnection,
        logger: Logger, reopens: Int = 0
    ) async throws {
        let replyAt = random.chance(0.9)
            ? max(now.addingTimeInterval(600), min(due, now.addingTimeInterval(due.timeIntervalSince(now) * Double.random(in: 0.1...0.9, using: &random))))
            : max(now, due).addingTimeInterval(Double.random(in: 3600...(4 * 86_400), using: &random))
        now = replyAt.wholeSecond
        try await Replies.reply(number, .init(outcome: [.resolved, .resolved, .resolved, .partlyResolved, .explained, .unresolved].randomElement(using: &random)!,
                                              text: "经核实，已按规定处理并答复市民。", contactedCitizen: random.chance(0.8),
                                              handlerName: "承办人", handlerPhone: "05388000000"),
                                by: lead, at: now, on: connection, logger: logger)
        // Each level above reviews in turn, then the center where its policy asks (complaints
        // and reports by default), within hours; now and then a reviewer sends the reply back
        // once, and the lead directly below it answers again.
        var writer = lead
        var sentBack = false
        while let review = try await connection.row("""
            SELECT p.id, r.unit_code AS reviewer, coalesce(b.unit_code, t.unit_code) AS below
            FROM replies p JOIN cases c ON c.id = p.case_id
            LEFT JOIN assignments r ON r.id = p.reviewer_assignment_id
            LEFT JOIN assignments b ON b.parent_id = p.reviewer_assignment_id AND b.role = 'lead' AND b.status = 'replied'
            LEFT JOIN assignments t ON p.reviewer_assignment_id IS NULL AND t.case_id = c.id AND t.parent_id IS NULL
                                   AND t.role = 'lead' AND t.status = 'replied'
            WHERE c.number = \(number) AND p.status = 'under_review'
            """, logger: logger) {
            now = now.addingTimeInterval(Double.random(in: 600...14_400, using: &random)).wholeSecond
            let replyId: Int64 = try review.value("id")
            let reviewer = try review.value("reviewer", as: String?.self).map { cast.subCenters[$0]! } ?? cast.dispatcher
            if !sentBack, random.chance(0.2), let below = try review.value("below", as: String?.self) {
                sentBack = true
                try await ReplyReviews.sendBack(number, replyId: replyId, .init(reason: "答复不完整，请补充办理情况"), by: reviewer, at: now,
                                                on: connection, logger: logger)
                now = now.addingTimeInterval(Double.random(in: 3600...86_400, using: &random)).wholeSecond
                writer = cast.handlers[below]!
                try await Replies.reply(number, .init(outcome: .resolved, text: "已补充办理情况并答复市民。", contactedCitizen: true,
                                                      handlerName: "承办人", handlerPhone: "05388000000"),
                                        by: writer, at: now, on: connection, logger: logger)
                continue
            }
            try await ReplyReviews.approve(number, replyId: replyId, .init(note: nil), by: reviewer, at: now, on: connection, logger: logger)
        }
        if anonymous { return }
        let visitDue = calendar.adding(limits[.visit]!, to: now).at
        if random.chance(0.03) {
            for _ in 0..<3 {
                now = now.addingTimeInterval(Double.random(in: 3600...86_400, using: &random)).wholeSecond
                _ = try await ReturnVisits.record(number, .init(reached: false, satisfaction: nil, resolved: nil, note: nil),
                                              by: cast.operatorStaff, at: now, on: connection, logger: logger)
            }
            return
        }
        now = random.chance(0.9)
            ? now.addingTimeInterval(max(600, visitDue.timeIntervalSince(now) * Double.random(in: 0.1...0.9, using: &random)))
            : visitDue.addingTimeInterval(Double.random(in: 3600...86_400, using: &random))
        now = now.wholeSecond
        let roll = Double.random(in: 0..<1, using: &random)
        let satisfaction: Satisfaction = roll < 0.7 ? .satisfied : roll < 0.88 ? .basicallySatisfied : .unsatisfied
        _ = try await ReturnVisits.record(number, .init(reached: true, satisfaction: satisfaction, resolved: satisfaction != .unsatisfied && random.chance(0.9), note: nil),
                                      by: cast.operatorStaff, at: now, on: connection, logger: logger)
        guard satisfaction == .unsatisfied else { return }
        now = now.addingTimeInterval(Double.random(in: 600...7200, using: &random)).wholeSecond
        if reopens < 2, random.chance(0.5) {
            try await Review.reopen(number, .init(reason: "市民不满意，重新办理"), by: cast.dispatcher, at: now, on: connection, logger: logger)
            let newDue = calendar.adding(limits[.reopenReply]!, to: now).at
            try await replyAndVisit(number, lead: writer, due: newDue, anonymous: anonymous, cast: cast, random: &random, now: &now,
                                    limits: limits, calendar: calendar, on: connection, logger: logger, reopens: reopens + 1)
        } else {
            try await Review.closeAfterReview(number, .init(reason: "单位已尽力"), by: cast.dispatcher, at: now, on: connection, logger: logger)
        }
    }
}

