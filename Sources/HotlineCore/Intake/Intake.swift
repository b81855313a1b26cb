import Foundation
import Logging
import PostgresNIO

/// Accepting a citizen's request (DOMAIN §4, §5 "accept").
public enum Intake {
    public struct Accepted: Sendable {
        public let id: Int64
        public let number: String
        /// The new case as the center sees it (intake is the center's), equal to what GET
        /// answers for it; built from what was stored, not read back.
        public let view: CaseView
        /// The case was there already: the same source sent again (DOMAIN §14).
        public var existing = false
    }

    /// Validates and stores a new case with its first timeline event. A consultation answered
    /// on the spot closes at once as `direct_answer`. A case from another system is stored once
    /// per source id: sent again with the same body (`body`, as sent) it answers the case there
    /// is; with another, 409 `source_conflict`.
    public static func accept(
        _ input: NewCase, body: [UInt8] = [], by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Accepted {
        try StepRunner.authorise([.accept], staff)
        // The table's actors are the center and exchange clients: a sub-center's dispatcher is a
        // dispatcher by role but works its unit's cases only.
        if staff.isUnitDispatcher {
            throw HotlineError.forbidden("a unit's dispatcher does not file cases: the hotline center does")
        }
        let valid = try validate(input, by: staff)
        var fingerprint: [UInt8] = []
        if let source = valid.source {
            if staff.role == .exchange, source.system != staff.system {
                throw HotlineError.forbidden("an exchange client sends the cases of its own system only")
            }
            fingerprint = CaseSources.fingerprint(of: body.isEmpty ? Array(String(describing: input).utf8) : body)
            // The fast path for a repeat; the unique key below decides when two arrive at once.
            if let found = try await CaseSources.existing(source, fingerprint: fingerprint, on: connection, logger: logger) {
                return try await repeated(found, source, by: staff, at: now, on: connection, logger: logger)
            }
            try await CaseSources.checkReportBack(source, on: connection, logger: logger)
            try await connection.query("SAVEPOINT case_source", logger: logger)
        }
        // The number comes from a sequence (sql/0023): no row of the day is held to COMMIT, so
        // intakes of the same day do not wait for each other. The case, its contact and its first
        // event are one statement, which stores nothing unless the category is active and the
        // region a place: one round trip where a check of the references took another.
        let search = searchVectors(valid)
        let answered = valid.directAnswer != nil
        let (status, closure) = StepRunner.creates(answered ? .answerDirectly : .accept)
        let acceptance: [String: JSONValue] = [
            "channel": .string(valid.channel.rawValue), "type": .string(valid.type.rawValue),
            "urgency": .string(valid.urgency.rawValue), "category": .string(valid.category),
        ]
        // Prepared: a value that may be NULL is cast from text, or its first NULL would type it.
        // A phone with earlier cases in the last 30 days makes this one a repeat call (重复来电); the
        // units that replied in the last 30 days to an earlier case of its phone and category, a
        // repeat complaint of theirs.
        let stored = try await connection.row(Store(query: """
            WITH recent AS (
                SELECT k.case_id FROM case_contacts k WHERE k.phone = \(valid.citizen.phone)
                ORDER BY k.case_id DESC LIMIT \(Repeats.listed)
            ), repeats AS (
                SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}') AS ids, coalesce(array_agg(r.number ORDER BY r.id), '{}') AS numbers
                FROM (SELECT p.id, p.number FROM cases p
                      WHERE p.id IN (SELECT case_id FROM recent) AND p.accepted_at >= \(now.addingTimeInterval(-Repeats.window))) r
            ), answered AS (
                SELECT coalesce(array_agg(DISTINCT r.unit_code ORDER BY r.unit_code), '{}') AS units
                FROM cases p JOIN replies r ON r.case_id = p.id
                WHERE p.id IN (SELECT case_id FROM recent)
                  AND p.category = \(valid.category) AND r.status = 'approved'
                  AND r.replied_at >= \(now.addingTimeInterval(-Repeats.window)) AND r.replied_at < \(now)
            ), stored AS (
                INSERT INTO cases (number, channel, case_type, urgency, category, subject, description,
                                   address, region, latitude, longitude, anonymous, confidential, contact_consent,
                                   status, closure, accepted_at, accepted_by, closed_at, direct_answer,
                                   search_units, search_center, search_version, repeat_of, repeat_complaint_units)
                SELECT next_case_number(\(LocalDate(now).description)::date),
                       \(valid.channel.rawValue), \(valid.type.rawValue), \(valid.urgency.rawValue),
                       \(valid.category), \(valid.subject), \(valid.description),
                       \(valid.location?.address), \(valid.location?.region), \(valid.location?.latitude), \(valid.location?.longitude),
                       \(valid.citizen.anonymous), \(valid.citizen.confidential), \(valid.citizen.contactConsent),
                       \(status.rawValue), \(closure?.rawValue), \(now), \(staff.id), \(answered ? now : nil),
                       \(valid.directAnswer?.text), \(search.units)::text::tsvector, \(search.center)::text::tsvector, \(FreeText.version),
                       (SELECT ids FROM repeats), (SELECT units FROM answered)
                WHERE EXISTS (SELECT FROM categories k WHERE k.code = \(valid.category) AND k.active)
                  AND (\(valid.location?.region)::text IS NULL
                       OR EXISTS (SELECT FROM units u WHERE u.code = \(valid.location?.region) AND u.unit_group = ANY(\(UnitGroup.areas))))
                RETURNING id, number, accepted_at, closed_at
            ), contact AS (
                INSERT INTO case_contacts (case_id, name, phone)
                SELECT id, \(valid.citizen.name), \(valid.citizen.phone) FROM stored WHERE NOT \(valid.citizen.anonymous)
            ), accepted AS (
                INSERT INTO case_events (case_id, at, kind, actor_id, actor_role, unit_code, details)
                SELECT id, \(now), \(StepRunner.createdEvent(.accept).rawValue), \(staff.id), \(staff.role.rawValue), \(staff.unit),
                       \(JSONValue.object(acceptance))
                FROM stored
            )
            SELECT id, number, accepted_at, closed_at, (SELECT numbers FROM repeats) AS repeat_of FROM stored
            """), logger: logger)
        guard let row = stored else {
            // Nothing stored: which reference is wrong, said as the check before would have said it.
            try await checkReferences(valid, on: connection, logger: logger)
            // Only if a category or region changed between the two statements.
            throw HotlineError(.conflict, code: .conflict, "the category or the region changed while the case was stored; send it again")
        }
        let cited = try await KnowledgeBase.citable(valid.directAnswer?.articleIds ?? [], at: now, on: connection, logger: logger)
        let id: Int64 = try row.value("id")
        let number: String = try row.value("number")
        if let source = valid.source {
            guard try await CaseSources.record(caseId: id, source, fingerprint: fingerprint, on: connection, logger: logger) else {
                // Sent at the same moment through another request, which committed first: this
                // case was never made.
                try await connection.query("ROLLBACK TO SAVEPOINT case_source", logger: logger)
                let found = try await CaseSources.existing(source, fingerprint: fingerprint, on: connection, logger: logger)!
                return try await repeated(found, source, by: staff, at: now, on: connection, logger: logger)
            }
            try await connection.query("RELEASE SAVEPOINT case_source", logger: logger)
        }
        if let answer = valid.directAnswer {
            for (position, article) in answer.articleIds.enumerated() {
                try await connection.execute("""
                    INSERT INTO case_articles (case_id, article_id, version, position)
                    VALUES (\(id), \(article), \(cited[article]!), \(Int16(position)))
                    """, logger: logger)
            }
            try await StepRunner.created(caseId: id, [(.answerDirectly, ["article_ids": .array(answer.articleIds.map { JSONValue($0) })])],
                                         by: staff, at: now, on: connection, logger: logger)
        }
        logger.info("case accepted", metadata: ["case": "\(number)", "type": "\(valid.type.rawValue)"])
        let citizen = valid.citizen
        var view = CaseView(
            number: number, status: status, closure: closure, channel: valid.channel, type: valid.type,
            urgency: valid.urgency, category: valid.category, subject: valid.subject, description: valid.description,
            location: valid.location,
            // `validate` leaves an anonymous citizen without name or phone.
            citizen: .masked(name: citizen.name, phone: citizen.phone, anonymous: citizen.anonymous,
                             confidential: citizen.confidential, contactConsent: citizen.contactConsent),
            directAnswer: valid.directAnswer, transfer: nil,
            acceptedAt: try row.value("accepted_at"), closedAt: try row.value("closed_at"),
            assignments: [], reply: nil, replies: [], firstContact: nil, visitDeadline: nil, visits: [], opinions: [], returnRequests: [],
            extensionRequests: [], reopenCount: 0, approvedReturns: 0, exemptReason: nil, mergedInto: nil, duplicates: [],
            source: valid.source.map { CaseSource(system: $0.system!, id: $0.id!, deadline: $0.deadline?.wholeSecond, reportBack: $0.reportBack) },
            warnings: warnings(valid),
            // The center's only: an exchange client learns nothing of the phone's other cases.
            repeatOf: staff.isCenter ? try row.value("repeat_of") : nil
        )
        view.similar = try await similar(to: SimilarCases.Query(valid), excluding: id, for: staff, at: now,
                                         on: connection, logger: logger)
        return Accepted(id: id, number: number, view: view)
    }

    /// A source sent again: the same body answers the case it made; another is a conflict.
    static func repeated(
        _ found: (number: String, same: Bool), _ source: SourceInput, by staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Accepted {
        guard found.same else {
            throw HotlineError(.conflict, code: .sourceConflict,
                               "\(source.system!) case \(source.id!) was sent before with another body", resource: found.number)
        }
        let view = try await answer(found.number, for: staff, at: now, on: connection, logger: logger)
        let handle = try await CaseAccess.find(found.number, on: connection, logger: logger)!
        var accepted = Accepted(id: handle.id, number: found.number, view: view)
        accepted.existing = true
        return accepted
    }

    /// The answer to an intake, rebuilt for a retry: the case as the caller sees it now, with the
    /// warnings of what was filed.
    public static func answer(
        _ number: String, for staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> CaseView {
        var view = try await CaseQueries.view(number, for: staff, at: now, on: connection, logger: logger)
        guard let handle = try await CaseAccess.find(number, on: connection, logger: logger) else { throw HotlineError.notFound("case") }
        let identity = try await CaseText.identities(of: [handle.id], on: connection, logger: logger)[handle.id] ?? .none
        let original = try await connection.row("SELECT subject, description, address FROM cases WHERE id = \(handle.id)", logger: logger)!
        let (subject, description): (String, String) = (try original.value("subject"), try original.value("description"))
        view.warnings = warnings(subject: subject, description: description, identity: identity)
        let query = SimilarCases.Query(
            phone: identity.phone, category: view.category, region: view.location?.region,
            text: [subject, description, try original.value("address", as: String?.self)].compactMap { $0 }.joined(separator: "\n"),
            latitude: view.location?.latitude, longitude: view.location?.longitude)
        view.similar = try await similar(to: query, excluding: handle.id, for: staff, at: now, on: connection, logger: logger)
        return view
    }

    /// The similar cases the answer to an intake carries, for the center only (an exchange
    /// client files, and reads nothing of other cases).
    static func similar(
        to query: SimilarCases.Query, excluding id: Int64, for staff: Staff, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [SimilarCase]? {
        guard staff.isCenter else { return nil }
        var query = query
        query.excluding = id
        return try await SimilarCases.find(query, for: staff, at: now, on: connection, logger: logger)
    }

    /// What a unit's search and the center's search of `q=` match (DOMAIN §10): the text as a
    /// unit sees it, and the text as written where that differs.
    static func searchVectors(_ input: NewCase) -> (units: String, center: String?) {
        searchVectors(subject: input.subject, description: input.description, address: input.location?.address,
                      identity: CitizenIdentity(name: input.citizen.name, phone: input.citizen.phone),
                      protected: input.type == .report || input.citizen.confidential)
    }

    static func searchVectors(
        subject: String, description: String, address: String?, identity citizen: CitizenIdentity, protected: Bool
    ) -> (units: String, center: String?) {
        let identity = [citizen]
        let sight: TextSight = protected ? .removed : .masked
        let original = [(subject, Character("A")), (description, "C"), (address ?? "", "C")]
        let seen = original.map { (FreeText.shown($0.0, to: sight, identities: identity), $0.1) }
        let units = ChineseText.vector(seen.map { (text: $0.0, weight: $0.1) })
        let same = zip(original, seen).allSatisfy { $0.0.0 == $0.1.0 }
        return (units, same ? nil : ChineseText.vector(original.map { (text: $0.0, weight: $0.1) }))
    }

    /// The operator is told when the subject or description repeats the citizen's name or phone
    /// or holds an ID-card number: units will see them masked, but the operator may rather not
    /// write them down at all.
    /// The same, for a form that shows them after the case is filed (the workbench's intake).
    public static func textWarnings(_ input: NewCase) -> [IntakeWarning] {
        warnings(input) ?? []
    }

    static func warnings(_ input: NewCase) -> [IntakeWarning]? {
        warnings(subject: input.subject, description: input.description,
                 identity: CitizenIdentity(name: input.citizen.name, phone: input.citizen.phone))
    }

    static func warnings(subject: String, description: String, identity: CitizenIdentity) -> [IntakeWarning]? {
        var out: [IntakeWarning] = []
        for (field, text) in [("subject", subject), ("description", description)] {
            let found = FreeText.findings(text, identity: identity)
            for finding in FreeText.Finding.allCases where found.contains(finding) {
                out.append(IntakeWarning(finding, field: field))
            }
        }
        return out.isEmpty ? nil : out
    }

    /// The two statements of every intake: prepared.
    struct Store: PreparedStatement { let query: PostgresQuery }
    struct References: PreparedStatement { let query: PostgresQuery }

    /// Field rules of DOMAIN §4; returns the input trimmed and normalised.
    static func validate(_ input: NewCase, by staff: Staff) throws -> NewCase {
        var checker = FieldChecker()
        var valid = input
        CaseSources.check(input.source, channel: input.channel, directAnswer: input.directAnswer != nil, by: staff, into: &checker)
        valid.category = checker.text(input.category, field: "category", max: 64) ?? ""
        valid.subject = checker.text(input.subject, field: "subject", max: 200) ?? ""
        valid.description = checker.text(input.description, field: "description", max: 4000, multiline: true) ?? ""

        if let location = input.location {
            var place = Location()
            place.address = checker.text(location.address, field: "location.address", max: 500, required: false, multiline: false)
            place.region = checker.text(location.region, field: "location.region", max: 64, required: false)
            if let point = checker.point(latitude: location.latitude, longitude: location.longitude, in: "location") {
                (place.latitude, place.longitude) = point
            }
            valid.location = place.isEmpty ? nil : place
        }

        let citizen = input.citizen
        if citizen.anonymous {
            if citizen.name != nil || citizen.phone != nil {
                checker.fail("citizen", "an anonymous citizen gives no name or phone")
            }
            if citizen.contactConsent {
                checker.fail("citizen.contact_consent", "an anonymous citizen cannot be contacted")
            }
        } else {
            valid.citizen.name = checker.text(citizen.name, field: "citizen.name", max: 50, required: false)
            // A phone is optional (DOMAIN §4): a citizen may give a name and no number.
            valid.citizen.phone = checker.phone(citizen.phone, field: "citizen.phone")
        }

        if let answer = input.directAnswer {
            if input.type != .consultation {
                checker.fail("direct_answer", "only a consultation is answered directly")
            }
            let text = checker.text(answer.text, field: "direct_answer.text", max: 4000, multiline: true)
            if answer.articleIds.isEmpty { checker.fail("direct_answer.article_ids", "cite at least one published article") }
            if answer.articleIds.count > 20 { checker.fail("direct_answer.article_ids", "at most 20 articles") }
            if answer.articleIds.contains(where: { $0 <= 0 }) { checker.fail("direct_answer.article_ids", "ids are positive") }
            if Set(answer.articleIds).count != answer.articleIds.count { checker.fail("direct_answer.article_ids", "names an article twice") }
            valid.directAnswer = DirectAnswer(text: text ?? "", articleIds: answer.articleIds)
        }
        try checker.check()
        return valid
    }

    /// The category must be active and the region a district, functional zone or town.
    static func checkReferences(_ input: NewCase, on connection: PostgresConnection, logger: Logger) async throws {
        let region = input.location?.region
        let row = try await connection.row(References(query: """
            SELECT (SELECT active FROM categories WHERE code = \(input.category)) AS category_active,
                   (SELECT unit_group FROM units WHERE code = \(region)) AS region_group
            """), logger: logger)!
        guard try row.value("category_active", as: Bool?.self) == true else {
            throw HotlineError(.unprocessable, code: .unknownCategory, "category names no active category")
        }
        if region != nil {
            guard let group = try row.value("region_group", as: String?.self), UnitGroup(rawValue: group)?.isArea == true else {
                throw HotlineError(.unprocessable, code: .unknownRegion,
                                   "location.region names no district, functional zone or town")
            }
        }
    }
}
