import Foundation
import Logging
import PostgresNIO

/// Filters of GET /api/v1/cases.
public struct CaseFilter: Sendable {
    public var status: CaseStatus?
    public var type: CaseType?
    public var urgency: Urgency?
    /// A category code; its sub-categories match too.
    public var category: String?
    /// Text to find in the number, subject, description or address.
    public var text: String?
    public var acceptedFrom: Date?
    public var acceptedTo: Date?
    /// The unit that leads the case now.
    public var leadUnit: String?
    /// A step a unit owes is past its deadline now (a red card), or none is.
    public var overdue: Bool?
    /// The case has been escalated (升级督办), or never has.
    public var escalated: Bool?
    /// The moment `overdue` is judged at.
    public var now = Date(timeIntervalSince1970: 0)
    public var limit: Int = 50
    public var cursor: String?

    public init() {}
}

/// Reading cases: one case, a list, a timeline, each as the reader may see it.
public enum CaseQueries {
    public static func view(
        _ number: String, for staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> CaseView {
        let (handle, sight) = try await CaseAccess.open(number, for: staff, on: connection, logger: logger)
        return try await view(handle, sight: sight, viewer: staff, at: now, on: connection, logger: logger)
    }

    static func view(
        _ handle: CaseHandle, sight: Sight, viewer: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> CaseView {
        let row = try await connection.row("""
            SELECT c.number, c.status, c.closure, c.channel, c.case_type, c.urgency, c.category, c.subject, c.description,
                   c.address, c.region, c.latitude, c.longitude, c.accepted_at, c.closed_at, c.direct_answer,
                   ARRAY(SELECT article_id FROM case_articles WHERE case_id = c.id ORDER BY position) AS articles,
                   c.transfer_service, c.reopen_count, c.approved_returns, c.exempt_reason,
                   m.number AS master,
                   ARRAY(SELECT d.number FROM cases d WHERE d.merged_into = c.id ORDER BY d.id) AS duplicates,
                   k.unit_code AS contact_unit, k.contacted_at, k.method AS contact_method, k.note AS contact_note,
                   -- What a case has of each kind below: most have none of most, and each read skipped
                   -- is a round trip a case page does not wait for.
                   EXISTS (SELECT FROM replies r WHERE r.case_id = c.id) AS has_replies,
                   EXISTS (SELECT FROM visits v WHERE v.case_id = c.id) AS has_visits,
                   EXISTS (SELECT FROM opinions o WHERE o.case_id = c.id) AS has_opinions,
                   EXISTS (SELECT FROM return_requests r WHERE r.case_id = c.id) AS has_returns,
                   EXISTS (SELECT FROM extension_requests r WHERE r.case_id = c.id) AS has_extensions,
                   EXISTS (SELECT FROM case_sources s WHERE s.case_id = c.id) AS has_source,
                   EXISTS (SELECT FROM supplements s WHERE s.case_id = c.id) AS has_supplements,
                   ARRAY(SELECT r.number FROM cases r WHERE r.id = ANY (c.repeat_of) ORDER BY r.id) AS repeats
            FROM cases c LEFT JOIN cases m ON m.id = c.merged_into LEFT JOIN contacts k ON k.case_id = c.id
            WHERE c.id = \(handle.id)
            """, logger: logger)!
        let has = { (kind: String) throws -> Bool in try row.value("has_\(kind)", as: Bool.self) }
        let text = try await CaseText.of(handle, sight: sight, for: viewer, on: connection, logger: logger)
        let location = Location(
            address: text(try row.value("address", as: String?.self)), region: try row.value("region"),
            latitude: try row.value("latitude"), longitude: try row.value("longitude")
        )
        let closedAt: Date? = try row.value("closed_at")
        let directAnswer: String? = try row.value("direct_answer")
        let transfer: String? = try row.value("transfer_service")
        let deadlines = try await connection.rows("""
            SELECT assignment_id, step, due_at, warn_at, provisional, met_at, closed_at FROM deadlines
            WHERE case_id = \(handle.id) ORDER BY id
            """, logger: logger)
        var byAssignment: [Int64?: [(view: DeadlineView, pending: Bool)]] = [:]
        for d in deadlines {
            let met: Date? = try d.value("met_at")
            let closed: Date? = try d.value("closed_at")
            let due: Date = try d.value("due_at")
            let pending = met == nil && closed == nil
            let step = DeadlineStep(rawValue: try d.value("step"))!
            // A return window has no card: it is a right, not a step owed.
            let view = DeadlineView(
                step: step, dueAt: due, provisional: try d.value("provisional"), metAt: met,
                card: DeadlineLedger.card(warnAt: try d.value("warn_at"), dueAt: due, pending: pending && step != .returnWindow, now: now)
            )
            byAssignment[try d.value("assignment_id", as: Int64?.self), default: []].append((view, pending))
        }
        let assignments = try await connection.rows("""
            SELECT id, parent_id, unit_code, role, status, round, designated, dispatched_at, signed_at, return_until
            FROM assignments WHERE case_id = \(handle.id) ORDER BY id
            """, logger: logger).map { a -> AssignmentView in
            let own = byAssignment[try a.value("id", as: Int64.self)] ?? []
            return AssignmentView(
                id: try a.value("id"), parent: try a.value("parent_id"), unit: try a.value("unit_code"), role: try a.value("role"), status: try a.value("status"),
                round: Int(try a.value("round", as: Int32.self)), designated: try a.value("designated"),
                dispatchedAt: try a.value("dispatched_at"), signedAt: try a.value("signed_at"),
                returnUntil: try a.value("return_until"), deadlines: own.map(\.view),
                card: own.map(\.view.card).max() ?? .none
            )
        }
        let reply = try await replyView(handle, text: text, on: connection, logger: logger)
        // A review is of a reply: none without one.
        let reviews = try !has("replies") ? [] : try await connection.rows("""
            SELECT r.reply_id, a.unit_code, r.decision, r.reason, r.reviewed_at
            FROM reply_reviews r LEFT JOIN assignments a ON a.id = r.assignment_id
            WHERE r.case_id = \(handle.id) ORDER BY r.id
            """, logger: logger)
        var reviewsOf: [Int64: [ReplyEntry.ReviewEntry]] = [:]
        for r in reviews {
            reviewsOf[try r.value("reply_id"), default: []].append(ReplyEntry.ReviewEntry(
                unit: try r.value("unit_code"), decision: try r.value("decision"),
                reason: text(try r.value("reason", as: String?.self)), reviewedAt: try r.value("reviewed_at")))
        }
        // An assisting unit reads the answer the citizen got, not the drafts going up for review.
        let replies: [ReplyEntry] = try sight == .otherUnit || !has("replies") ? [] : try await connection.rows("""
            SELECT p.id, p.unit_code, p.status, p.outcome, p.text, p.replied_at,
                   CASE WHEN p.status = 'under_review' THEN coalesce(a.unit_code, 'center') END AS reviewer
            FROM replies p LEFT JOIN assignments a ON a.id = p.reviewer_assignment_id
            WHERE p.case_id = \(handle.id) ORDER BY p.id
            """, logger: logger).map { p -> ReplyEntry in
            let id: Int64 = try p.value("id")
            return ReplyEntry(id: id, unit: try p.value("unit_code"), status: try p.value("status"), reviewer: try p.value("reviewer"),
                              outcome: ReplyOutcome(rawValue: try p.value("outcome"))!, text: text(try p.value("text", as: String.self)),
                              repliedAt: try p.value("replied_at"), reviews: reviewsOf[id] ?? [])
        }
        let visits = try !has("visits") ? [] : try await connection.rows("""
            SELECT id, visited_at, reached, satisfaction, resolved, note, method FROM visits WHERE case_id = \(handle.id) ORDER BY id
            """, logger: logger).map { v in
            VisitView(id: try v.value("id"), visitedAt: try v.value("visited_at"), reached: try v.value("reached"),
                      satisfaction: (try v.value("satisfaction", as: String?.self)).flatMap(Satisfaction.init(rawValue:)),
                      resolved: try v.value("resolved"), note: text(try v.value("note", as: String?.self)), method: try v.value("method"))
        }
        // An opinion is for the lead unit (and the center); another assisting unit sees only its
        // own, and a reader of no unit (a webhook without one) none.
        let ownUnitOnly: String? = sight == .otherUnit ? viewer.unit ?? "" : nil
        let opinions = try !has("opinions") ? [] : try await connection.rows("""
            SELECT id, unit_code, text, given_at FROM opinions
            WHERE case_id = \(handle.id) AND (\(ownUnitOnly)::text IS NULL OR unit_code = \(ownUnitOnly))
            ORDER BY id
            """, logger: logger).map { o in
            OpinionView(id: try o.value("id"), unit: try o.value("unit_code"), text: text(try o.value("text", as: String.self)),
                        givenAt: try o.value("given_at"))
        }
        let returns = try !has("returns") ? [] : try await connection.rows("""
            SELECT id, unit_code, status, reason, suggested_unit, requested_at, reviewed_at, review_reason
            FROM return_requests WHERE case_id = \(handle.id) ORDER BY id
            """, logger: logger).map { r in
            RequestView(id: try r.value("id"), unit: try r.value("unit_code"), status: try r.value("status"),
                        reason: text(try r.value("reason", as: String.self)), workingDays: nil, approvedDays: nil,
                        suggestedUnit: try r.value("suggested_unit"), requestedAt: try r.value("requested_at"),
                        reviewedAt: try r.value("reviewed_at"), reviewReason: text(try r.value("review_reason", as: String?.self)))
        }
        let extensions = try !has("extensions") ? [] : try await connection.rows("""
            SELECT id, unit_code, status, reason, working_days, approved_days, requested_at, reviewed_at, review_reason
            FROM extension_requests WHERE case_id = \(handle.id) ORDER BY id
            """, logger: logger).map { r in
            RequestView(id: try r.value("id"), unit: try r.value("unit_code"), status: try r.value("status"),
                        reason: text(try r.value("reason", as: String.self)),
                        workingDays: Int(try r.value("working_days", as: Int32.self)),
                        approvedDays: (try r.value("approved_days", as: Int32?.self)).map(Int.init), suggestedUnit: nil,
                        requestedAt: try r.value("requested_at"), reviewedAt: try r.value("reviewed_at"),
                        reviewReason: text(try r.value("review_reason", as: String?.self)))
        }
        let supplements = try !has("supplements") ? [] : try await connection.rows("""
            SELECT id, recorded_at, text FROM supplements WHERE case_id = \(handle.id) ORDER BY id
            """, logger: logger).map { s in
            SupplementView(id: try s.value("id"), at: try s.value("recorded_at"), text: text(try s.value("text", as: String.self)))
        }
        let visitDeadline = byAssignment[nil]?.last.map(\.view)
        return CaseView(
            number: try row.value("number"),
            status: CaseStatus(rawValue: try row.value("status"))!,
            closure: (try row.value("closure", as: String?.self)).flatMap(Closure.init(rawValue:)),
            channel: Channel(rawValue: try row.value("channel"))!,
            type: CaseType(rawValue: try row.value("case_type"))!,
            urgency: Urgency(rawValue: try row.value("urgency"))!,
            category: try row.value("category"),
            subject: text(try row.value("subject", as: String.self)),
            description: text(try row.value("description", as: String.self)),
            location: location.isEmpty ? nil : location,
            // The text's reading of the citizen, where it made one, is the same row.
            citizen: try await citizen(handle, sight: sight, known: text.sight == .original ? nil : text.identities.first ?? .none,
                                       on: connection, logger: logger),
            directAnswer: try directAnswer.map { DirectAnswer(text: text($0), articleIds: try row.value("articles")) },
            transfer: transfer.flatMap(EmergencyService.init(rawValue:)).map { TransferView(service: $0, at: closedAt!) },
            acceptedAt: try row.value("accepted_at"),
            closedAt: closedAt,
            assignments: assignments,
            reply: reply,
            replies: replies,
            firstContact: try (row.value("contact_unit", as: String?.self)).map { unit in
                ContactView(unit: unit, at: try row.value("contacted_at"),
                            method: ContactMethod(rawValue: try row.value("contact_method"))!,
                            note: text(try row.value("contact_note", as: String?.self)))
            },
            visitDeadline: visitDeadline,
            visits: visits,
            opinions: opinions,
            returnRequests: returns,
            extensionRequests: extensions,
            reopenCount: Int(try row.value("reopen_count", as: Int32.self)),
            approvedReturns: Int(try row.value("approved_returns", as: Int32.self)),
            exemptReason: text(try row.value("exempt_reason", as: String?.self)),
            mergedInto: try row.value("master"),
            duplicates: try row.value("duplicates"),
            source: try has("source") ? try await CaseSources.of(caseId: handle.id, on: connection, logger: logger) : nil,
            supplements: supplements,
            // Numbers only, and only for the center: which cases a phone made is the center's to know.
            repeatOf: viewer.isCenter ? try row.value("repeats") : nil
        )
    }

    /// The reply the case's citizen received: its own, or its master's (whose citizen the
    /// text may name too).
    static func replyView(
        _ handle: CaseHandle, text: CaseText, on connection: PostgresConnection, logger: Logger
    ) async throws -> ReplyView? {
        guard let replyId = handle.replyId, let r = try await connection.row("""
            SELECT case_id, unit_code, outcome, text, contacted_citizen, handler_name, handler_phone, replied_at
            FROM replies WHERE id = \(replyId)
            """, logger: logger) else { return nil }
        var text = text
        let writtenFor: Int64 = try r.value("case_id")
        if writtenFor != handle.id, text.sight != .original {
            // A unit reading a duplicate is no longer its lead (its part ended at the merge), so it
            // reads the master's citizen removed, whatever the master's case.
            text.identities += try await CaseText.identities(of: [writtenFor], on: connection, logger: logger).values
        }
        return ReplyView(unit: try r.value("unit_code"), outcome: ReplyOutcome(rawValue: try r.value("outcome"))!,
                         text: text(try r.value("text", as: String.self)), contactedCitizen: try r.value("contacted_citizen"),
                         handlerName: try r.value("handler_name"), handlerPhone: try r.value("handler_phone"),
                         repliedAt: try r.value("replied_at"))
    }

    /// The citizen, masked; nothing at all where the reader may not see identity. The contact
    /// table is read only when something of it may be shown.
    static func citizen(
        _ handle: CaseHandle, sight: Sight, known: CitizenIdentity? = nil, on connection: PostgresConnection, logger: Logger
    ) async throws -> CitizenView? {
        switch sight {
        case .otherUnit: return nil
        case .leadUnit where handle.identityProtected: return nil
        case .center, .leadUnit: break
        }
        var (name, phone): (String?, String?) = (nil, nil)
        if !handle.anonymous, let known {
            (name, phone) = (known.name, known.phone)
        } else if !handle.anonymous, let contact = try await connection.row(
            "SELECT name, phone FROM case_contacts WHERE case_id = \(handle.id)", logger: logger
        ) {
            (name, phone) = (try contact.value("name"), try contact.value("phone"))
        }
        return .masked(name: name, phone: phone, anonymous: handle.anonymous,
                       confidential: handle.confidential, contactConsent: handle.contactConsent)
    }

    public static func list(
        _ filter: CaseFilter, for staff: Staff, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<CaseSummary> {
        try await list(filter, for: staff, walk: nil, on: connection, logger: logger)
    }

    /// The list walked from `walk` (nil: the narrowest the filter gives; `.all` is the oracle the
    /// tests hold the walks to).
    static func list(
        _ filter: CaseFilter, for staff: Staff, walk: CaseWalk?, on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<CaseSummary> {
        let unit: String?
        if staff.readsAllCases {
            unit = nil
        } else if let own = staff.readingUnit {
            unit = own
        } else {
            throw HotlineError.forbidden("your role does not read cases")
        }
        guard (1...500).contains(filter.limit) else {
            throw HotlineError.validation(field: "limit", "must be between 1 and 500")
        }
        let after = try filter.cursor.map(Cursor.decode)
        // The center searches the text as written; anyone else only as they read it.
        let rows = try await connection.rows(listQuery(filter, unit: unit, searchCenter: staff.isCenter, after: after, walk: walk),
                                             logger: logger)
        let page = Array(rows.prefix(filter.limit))
        let texts = try await CaseText.page(try page.map(CaseText.protection), for: staff, on: connection, logger: logger)
        var items: [CaseSummary] = []
        var lastId: Int64?
        for row in page {
            let id: Int64 = try row.value("id")
            lastId = id
            items.append(CaseSummary(
                number: try row.value("number"),
                status: CaseStatus(rawValue: try row.value("status"))!,
                closure: (try row.value("closure", as: String?.self)).flatMap(Closure.init(rawValue:)),
                channel: Channel(rawValue: try row.value("channel"))!,
                type: CaseType(rawValue: try row.value("case_type"))!,
                urgency: Urgency(rawValue: try row.value("urgency"))!,
                category: try row.value("category"),
                subject: texts[id]!(try row.value("subject", as: String.self)),
                region: try row.value("region"),
                acceptedAt: try row.value("accepted_at"),
                closedAt: try row.value("closed_at")
            ))
        }
        let more = rows.count > filter.limit
        return Page(items: items, nextCursor: more ? lastId.map(Cursor.encode) : nil)
    }

    /// The statement of a list: `q=` is the case number, or text as the reader sees it (a unit
    /// never finds a case by what it cannot read), through the bigram indexes. The matches are
    /// found first, through the indexes, and only then ordered: left to itself the planner
    /// would walk every case backwards by id hoping to meet a rare word soon. The cases are
    /// walked from `walk` (`CaseWalk.from`), newest first; `.all` is the whole record.
    static func listQuery(_ filter: CaseFilter, unit: String?, searchCenter: Bool, after: Int64?,
                          walk: CaseWalk? = nil) -> PostgresQuery {
        let walk = walk ?? CaseWalk.from(filter, unit: unit)
        // A case number is looked up as one: its digits as text would match (or be scanned for)
        // all over the record.
        let isNumber = filter.text.map { $0.utf8.count == 14 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } } ?? false
        let words = isNumber ? nil : filter.text.flatMap(ChineseText.query(allOf:))
        return """
            SELECT c.id, c.number, c.status, c.closure, c.channel, c.case_type, c.urgency, c.category, c.subject,
                   c.region, c.accepted_at, c.closed_at, c.confidential,
                   -- A probe per listed case (LIMIT 1 keeps the planner from hashing the unit's every lead first).
                   coalesce((SELECT true FROM assignments a WHERE a.case_id = c.id AND a.unit_code = \(unit) AND a.role = 'lead'
                             AND a.status NOT IN ('returned', 'cancelled', 'taken_back', 'reassigned') LIMIT 1), false) AS unit_leads
            FROM \(walk: walk, after: after)
            WHERE (\(filter.status?.rawValue)::text IS NULL OR c.status = \(filter.status?.rawValue))
              AND (\(filter.type?.rawValue)::text IS NULL OR c.case_type = \(filter.type?.rawValue))
              AND (\(filter.urgency?.rawValue)::text IS NULL OR c.urgency = \(filter.urgency?.rawValue))
              AND (\(filter.category)::text IS NULL OR c.category IN (
                    WITH RECURSIVE tree (code) AS (
                        SELECT \(filter.category)::text
                        UNION SELECT k.code FROM categories k JOIN tree ON k.parent = tree.code)
                    SELECT code FROM tree))
              AND (\(filter.text)::text IS NULL OR c.number = \(filter.text)
                   OR (NOT \(isNumber) AND (c.search_units @@ \(words)::tsquery
                                            OR (\(searchCenter) AND c.search_center @@ \(words)::tsquery))))
              AND (\(filter.acceptedFrom)::timestamptz IS NULL OR c.accepted_at >= \(filter.acceptedFrom))
              AND (\(filter.acceptedTo)::timestamptz IS NULL OR c.accepted_at <= \(filter.acceptedTo))
              AND (\(filter.leadUnit)::text IS NULL OR EXISTS (
                    SELECT 1 FROM assignments l WHERE l.case_id = c.id AND l.role = 'lead' AND l.unit_code = \(filter.leadUnit)
                      AND l.status IN ('dispatched', 'signed', 'replied')))
              AND (\(filter.overdue)::boolean IS NULL OR \(filter.overdue) = EXISTS (
                    SELECT 1 FROM deadlines d WHERE d.case_id = c.id AND d.step IN ('sign', 'reply', 'opinion', 'review', 'contact')
                      AND d.met_at IS NULL AND d.closed_at IS NULL AND d.due_at < \(filter.now)))
              AND (\(filter.escalated)::boolean IS NULL OR \(filter.escalated) = EXISTS (
                    SELECT 1 FROM escalations e WHERE e.case_id = c.id))
              AND (\(unit)::text IS NULL OR EXISTS (
                    SELECT 1 FROM assignments a WHERE a.case_id = c.id AND a.unit_code = \(unit)))
              AND (\(after)::bigint IS NULL OR c.id < \(after))
            ORDER BY \(unescaped: walk.order) DESC
            LIMIT \(filter.limit + 1)
            """
    }

    /// The events of a case, oldest first, a page at a time; their details as the reader may
    /// see the case's free text.
    public static func timeline(
        _ number: String, for staff: Staff, limit: Int = 50, cursor: String? = nil,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Page<TimelineEvent> {
        guard (1...500).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 500") }
        let after = try cursor.map(Cursor.decode)
        let (handle, sight) = try await CaseAccess.open(number, for: staff, on: connection, logger: logger)
        let text = try await CaseText.of(handle, sight: sight, for: staff, on: connection, logger: logger)
        let events = try await Timeline.events(caseId: handle.id, after: after, limit: limit + 1, on: connection, logger: logger)
        let items = events.prefix(limit).map { $0.with(details: text($0.details)) }
        return Page(items: Array(items), nextCursor: events.count > limit ? items.last.map { Cursor.encode($0.id) } : nil)
    }

}

/// Opaque list cursors: the position after which the next page starts.
public enum Cursor {
    public static func encode(_ id: Int64) -> String {
        Data("c\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A position after a text key (a unit's or a category's code).
    public static func encode(key: String) -> String {
        Data("k\(key)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decodeKey(_ cursor: String) throws -> String {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 120, let data = Data(base64Encoded: base64),
              let text = String(data: data, encoding: .utf8), text.hasPrefix("k"), text.count > 1
        else { throw HotlineError.validation(field: "cursor", "is not a cursor this service gave out") }
        return String(text.dropFirst())
    }

    /// `limit` checked against the range every list allows.
    public static func check(limit: Int) throws {
        guard (1...500).contains(limit) else { throw HotlineError.validation(field: "limit", "must be between 1 and 500") }
    }

    public static func decode(_ cursor: String) throws -> Int64 {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 40, let data = Data(base64Encoded: base64),
              let text = String(data: data, encoding: .utf8), text.hasPrefix("c"),
              let id = Int64(text.dropFirst()), id > 0
        else { throw HotlineError.validation(field: "cursor", "is not a cursor this service gave out") }
        return id
    }
}
