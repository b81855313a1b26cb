import Foundation
import HotlineCore
import Hummingbird
import Logging
import PostgresNIO

/// The workbench's case pages (DOMAIN §16): the intake form, the lists each role works from, and
/// a case with its timeline and a form for every step the lifecycle table allows the reader now.
/// Every form posts to the domain operation its REST route runs (`CaseStepEndpoints`, `Intake`),
/// and a case is shown as `CaseQueries.view` shows it to this reader: masked as the API masks it.
struct CasePages {
    let services: AppServices
    let pages: WorkbenchPages

    func register(on signed: RouterGroup<HotlineRequestContext>) {
        signed.get("cases/:number") { request, context in
            let number = try context.parameters.require("number")
            let done = request.uri.queryParameters.get("done")
            let notice = done == "intake" ? "已受理" : done.flatMap { StepForms.named($0, StepChoices())?.title }.map { "已完成：\($0)" }
            let warnings = (request.uri.queryParameters.get("warn") ?? "").split(separator: ",").compactMap(Self.warning)
            return try await casePage(number, context, notice: notice, warnings: warnings)
        }
        signed.post("cases/:number/steps") { _, context in
            try await runStep(try context.parameters.require("number"), context)
        }
        // The audited reveal (DOMAIN §10): the contact is shown in this answer only, and the
        // reveal is on the timeline. Never replayed, like its REST route.
        signed.post("cases/:number/reveal") { _, context in
            let number = try context.parameters.require("number")
            let signedIn = try context.signedInToWorkbench()
            let now = services.clock.now()
            let revealed = try await services.database.transaction(logger: context.logger) {
                try await ContactReveal.reveal(number, by: signedIn.staff, at: now, on: $0, logger: context.logger)
            }
            return try await casePage(number, context, notice: "已查看联系方式（此次查看已记入办理过程）", revealed: revealed)
        }
        signed.get("intake") { _, context in
            try await intakePage(context, form: nil, problem: nil)
        }
        signed.post("intake") { _, context in
            try await file(context)
        }
        // As the operator types (workbench.js asks; without script the form works as it is).
        signed.get("intake/similar") { request, context in
            try await similarFragment(request, context)
        }
        signed.get("intake/knowledge") { request, context in
            try await knowledgeFragment(request, context)
        }
        signed.get("queue") { _, context in
            try await queuePage(context)
        }
        signed.get("inbox") { _, context in
            try await inboxPage(context)
        }
        signed.get("visits") { _, context in
            try await visitsPage(context)
        }
        signed.get("appraisal") { request, context in
            try await appraisalPage(request, context, problem: nil, notice: nil)
        }
        signed.post("appraisal/publish") { request, context in
            try await publish(request, context)
        }
        signed.post("appraisal/weights") { request, context in
            try await setWeights(request, context)
        }
        signed.get("escalations") { request, context in
            try await escalationsPage(request, context)
        }
        signed.get("ledger.csv") { _, context in
            try await ledger(context)
        }
    }

    // MARK: A case

    /// The case page; after a refused step, `failed` names its form, shown with the problem and
    /// with what was typed.
    func casePage(_ number: String, _ context: HotlineRequestContext, notice: String? = nil,
                  failed: (endpoint: String, form: WorkbenchForm, problem: Problem)? = nil,
                  revealed: RevealedContact? = nil, warnings: [String] = []) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let staff = signedIn.staff
        let now = services.clock.now()
        let logger = context.logger
        let read = try await services.database.read(logger: logger) { connection in
            let view = try await CaseQueries.view(number, for: staff, at: now, on: connection, logger: logger)
            let timeline = try await CaseQueries.timeline(number, for: staff, limit: 500, on: connection, logger: logger).items
            let steps = try await StepRunner.available(number, for: staff, on: connection, logger: logger)
            let units = try await Self.units(on: connection, logger: logger)
            var choices = StepChoices()
            choices.units = units.filter(\.active).map { ($0.code, $0.name) }
            if let unit = staff.unit { choices.below = units.filter { $0.parent == unit && $0.active }.map { ($0.code, $0.name) } }
            let names = Self.names(units)
            choices.assignments = view.assignments.filter { ["dispatched", "signed", "returned"].contains($0.status) }.map {
                ("\($0.id)", (names[$0.unit] ?? $0.unit) + "（" + WorkbenchWords.word(WorkbenchWords.role, $0.role) + "）")
            }
            if steps.contains(.dispatch) || steps.contains(.reassign) {
                choices.suggestion = try await Dispatch.suggestion(category: view.category, region: view.location?.region,
                                                                   on: connection, logger: logger)
            }
            let category = try? await Categories.get(view.category, on: connection, logger: logger).name
            return (view, timeline, steps, choices, names, category)
        }
        let (view, timeline, steps, choices, names, categoryName) = read
        let unitName = { (code: String?) -> String in code.map { names[$0] ?? $0 } ?? "" }
        var values: [String: Any] = Self.caseValues(view, unitName: unitName)
        if let categoryName { values["category"] = categoryName }
        values["timeline"] = timeline.map { event -> [String: Any] in
            ["at": WorkbenchWords.time(event.at), "kind": WorkbenchWords.word(WorkbenchWords.event, event.kind),
             "who": event.actor.name ?? WorkbenchWords.word(["system": "系统"], event.actor.role),
             "unit": event.unit.map { unitName($0) } ?? false]
        }
        var forms: [[String: Any]] = []
        for form in StepForms.all(choices) {
            let problem = failed?.endpoint == form.endpoint ? failed : nil
            // A refused form stays on the page with what was typed, even if the case has moved on.
            guard problem != nil || (!form.steps.isDisjoint(with: steps) && Self.offers(form, view, staff, choices)) else { continue }
            var id: Int64?
            if let kind = form.id {
                guard let found = problem.flatMap({ $0.form["_id"].flatMap { Int64($0) } }) ?? Self.id(kind, in: view, for: staff) else { continue }
                id = found
            }
            let found = (problem?.problem.errors ?? []).map { (field: $0.field, message: $0.message) }
            let problems = WorkbenchMessages.byField(found)
            var entry: [String: Any] = [
                "endpoint": form.endpoint, "title": form.title, "button": form.button, "csrf": signedIn.csrf,
                "once": Secrets.random(prefix: ""), "primary": form.primary, "open": problem != nil,
                "fields": form.fields.map { $0.render(problem?.form, problems: problems, prefix: form.endpoint.replacingOccurrences(of: "/", with: "-") + "-") },
                "anchor": "step-" + form.endpoint.replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: ":", with: ""),
            ]
            // Set even when empty, so that Mustache does not find the page's own.
            entry["id"] = id.map { "\($0)" } ?? false
            entry["problem"] = problem.map {
                WorkbenchMessages.summary(detail: $0.problem.detail, problems: found,
                                          labels: Dictionary(form.fields.map { ($0.name, $0.label) }, uniquingKeysWith: { a, _ in a }))
            } ?? false
            forms.append(entry)
        }
        values["forms"] = forms
        values["csrf"] = signedIn.csrf
        // Who may ask for the contact (ContactReveal decides; this only spares a button that would be refused).
        let leads = view.assignments.contains { $0.unit == staff.unit && $0.role == "lead" && $0.status != "cancelled" && $0.status != "taken_back" }
        let citizen = view.citizen
        let unitMay = staff.role == .handler && leads && citizen?.contactConsent == true && !(citizen?.confidential ?? true) && view.type != .report
        values["canReveal"] = revealed == nil && citizen?.anonymous == false && (staff.isCenter || unitMay)
        values["revealed"] = revealed.map { ["name": $0.name ?? "—", "phone": $0.phone ?? "—"] } ?? false
        values["hasForms"] = !forms.isEmpty
        if let notice { values["notice"] = notice }
        if signedIn.staff.isCenter, !warnings.isEmpty { values["warnings"] = warnings }
        if failed != nil { values["problem"] = "未能完成，请看下面标出的表单。" }
        let status = failed.map { HTTPResponse.Status(code: $0.problem.status) } ?? .ok
        return pages.page("case", title: "\(view.number) \(view.subject)", values, for: signedIn, status: status)
    }

    static func caseValues(_ view: CaseView, unitName: (String?) -> String) -> [String: Any] {
        var values: [String: Any] = [
            "number": view.number, "subject": view.subject, "description": view.description,
            "status": WorkbenchWords.word(WorkbenchWords.status, view.status.rawValue),
            "type": WorkbenchWords.word(WorkbenchWords.type, view.type.rawValue),
            "channel": WorkbenchWords.word(WorkbenchWords.channel, view.channel.rawValue),
            "urgency": WorkbenchWords.word(WorkbenchWords.urgency, view.urgency.rawValue),
            "urgent": view.urgency == .urgent,
            "category": view.category, "acceptedAt": WorkbenchWords.time(view.acceptedAt),
        ]
        if let closed = view.closedAt { values["closedAt"] = WorkbenchWords.time(closed) }
        if let address = view.location?.address { values["address"] = address }
        if let region = view.location?.region { values["region"] = unitName(region) }
        if let citizen = view.citizen {
            // Every key set (false when absent): Mustache would otherwise look for it in the page.
            values["citizen"] = ["name": citizen.name ?? "—", "phone": citizen.phone ?? false,
                                 "anonymous": citizen.anonymous, "confidential": citizen.confidential] as [String: Any]
        }
        values["requests"] = (view.returnRequests.map { ("退回", $0) } + view.extensionRequests.map { ("延期", $0) }).map { kind, request -> [String: Any] in
            ["kind": kind, "unit": unitName(request.unit), "status": WorkbenchWords.word(WorkbenchWords.request, request.status),
             "reason": request.reason, "at": WorkbenchWords.time(request.requestedAt),
             "days": request.workingDays.map { "\($0) 个工作日" } ?? false,
             "suggested": request.suggestedUnit.map { unitName($0) } ?? false,
             "review": request.reviewReason ?? false]
        }
        values["hasRequests"] = !view.returnRequests.isEmpty || !view.extensionRequests.isEmpty
        values["opinions"] = view.opinions.map { ["unit": unitName($0.unit), "text": $0.text, "at": WorkbenchWords.time($0.givenAt)] }
        values["hasOpinions"] = !view.opinions.isEmpty
        if let contact = view.firstContact {
            values["firstContact"] = ["unit": unitName(contact.unit), "at": WorkbenchWords.time(contact.at),
                                      "method": WorkbenchWords.word(WorkbenchWords.contactMethod, contact.method.rawValue),
                                      "note": contact.note ?? false] as [String: Any]
        }
        values["assignments"] = view.assignments.map { assignment -> [String: Any] in
            ["unit": unitName(assignment.unit), "role": WorkbenchWords.word(WorkbenchWords.role, assignment.role),
             "status": WorkbenchWords.word(WorkbenchWords.assignment, assignment.status),
             "deadlines": assignment.deadlines.map { deadline -> [String: Any] in
                 var entry: [String: Any] = ["step": WorkbenchWords.word(WorkbenchWords.deadline, deadline.step.rawValue),
                                             "due": WorkbenchWords.time(deadline.dueAt), "card": deadline.card.rawValue,
                                             "cardWord": WorkbenchWords.word(WorkbenchWords.card, deadline.card.rawValue)]
                 entry["met"] = deadline.metAt.map { WorkbenchWords.time($0) } ?? false
                 return entry
             }]
        }
        values["hasAssignments"] = !view.assignments.isEmpty
        values["replies"] = view.replies.map { reply -> [String: Any] in
            var entry: [String: Any] = ["unit": unitName(reply.unit), "outcome": WorkbenchWords.word(WorkbenchWords.outcome, reply.outcome.rawValue),
                                        "text": reply.text, "at": WorkbenchWords.time(reply.repliedAt), "status": reply.status]
            entry["reviewer"] = reply.reviewer.map { $0 == "center" ? "热线中心" : unitName($0) } ?? false
            return entry
        }
        values["hasReplies"] = !view.replies.isEmpty
        values["visits"] = view.visits.map { visit -> [String: Any] in
            var entry: [String: Any] = ["at": WorkbenchWords.time(visit.visitedAt), "reached": visit.reached ? "联系上" : "未接通"]
            entry["satisfaction"] = visit.satisfaction.map { WorkbenchWords.word(WorkbenchWords.satisfaction, $0.rawValue) } ?? false
            entry["note"] = visit.note ?? false
            return entry
        }
        values["hasVisits"] = !view.visits.isEmpty
        values["supplements"] = view.supplements.map { ["at": WorkbenchWords.time($0.at), "text": $0.text] }
        values["hasSupplements"] = !view.supplements.isEmpty
        return values
    }

    /// An intake warning (`field:code`) in words, or nil for one this page does not know.
    static func warning(_ text: Substring) -> String? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let field = ["subject": "标题", "description": "诉求内容"][String(parts[0])],
              let what = ["citizen_name_in_text": "市民的姓名", "citizen_phone_in_text": "市民的电话", "id_card_in_text": "身份证号"][String(parts[1])]
        else { return nil }
        return "\(field)中写有\(what)：承办单位看到的是遮盖后的，但这里本可不写。"
    }

    /// Whether a form the table allows has something to act on for this reader: a signature is
    /// owed only while the reader's own assignment waits for it, a pass-down needs units below.
    static func offers(_ form: StepForm, _ view: CaseView, _ staff: Staff, _ choices: StepChoices) -> Bool {
        switch form.endpoint {
        case "sign": return view.assignments.contains { $0.unit == staff.unit && $0.status == "dispatched" }
        case "pass-down": return !choices.below.isEmpty
        default: return true
        }
    }

    /// The `{id}` a step's path needs, from the case as this reader sees it: the reply waiting
    /// for this reader's review, the request still pending that this reader reviews (the level
    /// above the unit that asked: its parent's sub-center, or the center for a top lead).
    static func id(_ kind: StepForm.StepId, in view: CaseView, for staff: Staff) -> Int64? {
        let reviewer = staff.isUnitDispatcher ? staff.unit : "center"
        func reviews(_ request: RequestView) -> Bool {
            guard request.status == "pending",
                  let asking = view.assignments.last(where: { $0.unit == request.unit && $0.role == "lead" }) else { return false }
            let parent = asking.parent.flatMap { id in view.assignments.first { $0.id == id }?.unit }
            return (parent ?? "center") == reviewer
        }
        switch kind {
        case .replyUnderReview: return view.replies.last { $0.reviewer != nil && $0.reviewer == reviewer }?.id
        case .pendingReturn: return view.returnRequests.last(where: reviews)?.id
        case .pendingExtension: return view.extensionRequests.last(where: reviews)?.id
        }
    }

    /// A step's form posted: the same operation as POST /api/v1/cases/{number}/PATH, in one
    /// transaction; then the case page again (303), or the page with the problem beside the form.
    func runStep(_ number: String, _ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        guard let form = context.form, let path = form["_step"], let endpoint = CaseStepEndpoints.byPath[path],
              let schema = StepForms.named(path, StepChoices())
        else { throw HotlineError.validation(field: "_step", "没有这一步") }
        let now = services.clock.now()
        let logger = context.logger
        do {
            let body = try FormBody.json(schema.fields, from: form)
            let kept = services.configuration.idempotencyRetention
            try await services.database.transaction(logger: logger) { connection in
                _ = try await Self.once(form, path: "/workbench/cases/\(number)/steps/\(path)", body: body, staff: signedIn.staff, at: now,
                                        keptFor: kept, on: connection, logger: logger) {
                    var work = Mutation.Work(staff: signedIn.staff, body: RequestBody(bytes: body), now: now, connection: connection, logger: logger)
                    work.stepId = form["_id"]
                    try await endpoint.run(number, work)
                    return number
                }
            }
        } catch let error where Self.shownOnTheForm(error) {
            let problem = ProblemMiddleware.problem(for: error, context: context)
            return try await casePage(number, context, failed: (path, form, problem))
        }
        let done = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return Response(status: .seeOther, headers: [.location: "/workbench/cases/\(number)?done=\(done)"])
    }

    /// A form posted twice (a double click, a reload of the answer) changes once: its `once`
    /// field, random in each page, is claimed as an Idempotency-Key of the user's in the change's
    /// transaction (DOMAIN §13); the second post finds what the first made.
    static func once(
        _ form: WorkbenchForm, path: String, body: [UInt8], staff: Staff, at now: Date, keptFor retention: Duration,
        on connection: PostgresConnection, logger: Logger, _ change: () async throws -> String
    ) async throws -> String {
        guard let key = form.text("once") else { return try await change() }
        let scope = "user:\(staff.id)", claimed = "workbench:" + key
        if let stored = try await Idempotency.claim(scope: scope, key: claimed, fingerprint: Idempotency.fingerprint(method: "POST", path: path, body: body),
                                                    at: now, keptFor: retention, on: connection, logger: logger) {
            return stored.reference
        }
        let reference = try await change()
        try await Idempotency.complete(scope: scope, key: claimed, status: 200, reference: reference, on: connection, logger: logger)
        return reference
    }

    /// What the person can mend on the form (bad input, a state that has moved on): shown beside
    /// it. Anything else is the error page.
    static func shownOnTheForm(_ error: any Error) -> Bool {
        if error is DecodingError { return true }
        guard let error = error as? HotlineError else { return false }
        return [.badRequest, .conflict, .unprocessable, .forbidden, .tooManyRequests, .unavailable].contains(error.kind)
    }

    static func units(on connection: PostgresConnection, logger: Logger) async throws -> [HotlineCore.Unit] {
        var all: [HotlineCore.Unit] = []
        var cursor: String?
        repeat {
            let page = try await Units.list(limit: 500, cursor: cursor, on: connection, logger: logger)
            all += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }

    // MARK: Intake

    static func intakeFields(categories: [(String, String)], regions: [(String, String)]) -> [FormField] {
        [
            FormField(name: "channel", label: "来源渠道", kind: .select(WorkbenchWords.options(Channel.self, WorkbenchWords.channel,
                                                                                         except: ["open311", "upper_platform", "police_110"])), required: true),
            FormField(name: "type", label: "诉求类型", kind: .select(WorkbenchWords.options(CaseType.self, WorkbenchWords.type)), required: true),
            FormField(name: "urgency", label: "紧急程度", kind: .select(WorkbenchWords.options(Urgency.self, WorkbenchWords.urgency))),
            FormField(name: "category", label: "事项分类", kind: .select([("", "请选择")] + categories), required: true),
            FormField(name: "subject", label: "标题", kind: .text, required: true),
            FormField(name: "description", label: "诉求内容", kind: .textarea, required: true,
                      hint: "照市民所说记录；举报件中市民的姓名和电话不会给承办单位看到。"),
            FormField(name: "location.region", label: "所在区域", kind: .select([("", "未指定")] + regions)),
            FormField(name: "location.address", label: "地址", kind: .text),
            FormField(name: "citizen.name", label: "市民姓名", kind: .text),
            FormField(name: "citizen.phone", label: "联系电话", kind: .text),
            FormField(name: "citizen.anonymous", label: "匿名", kind: .checkbox),
            FormField(name: "citizen.confidential", label: "要求保密", kind: .checkbox),
            FormField(name: "citizen.contact_consent", label: "同意承办单位联系", kind: .checkbox),
            FormField(name: "direct_answer.text", label: "直接答复（咨询当场答复时填写，不再派单）", kind: .textarea),
            FormField(name: "direct_answer.article_ids", label: "引用的知识库条目编号", kind: .integers, hint: "以逗号分隔"),
        ]
    }

    func intakeChoices(_ context: HotlineRequestContext) async throws -> (categories: [(String, String)], regions: [(String, String)]) {
        let logger = context.logger
        return try await services.database.read(logger: logger) { connection in
            let categories = try await Categories.list(limit: 500, on: connection, logger: logger).items.filter(\.active)
            let units = try await Self.units(on: connection, logger: logger)
            return (categories.map { ($0.code, $0.name) }, units.filter { $0.active && $0.group.isArea }.map { ($0.code, $0.name) })
        }
    }

    func intakePage(_ context: HotlineRequestContext, form: WorkbenchForm?, problem: Problem?) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        try signedIn.staff.require(.operator, .dispatcher)
        let choices = try await intakeChoices(context)
        let found = (problem?.errors ?? []).map { (field: $0.field, message: $0.message) }
        let problems = WorkbenchMessages.byField(found)
        let fields = Self.intakeFields(categories: choices.categories, regions: choices.regions)
        // After a refusal the same `once`: the refused attempt changed nothing and claimed nothing.
        var values: [String: Any] = ["csrf": signedIn.csrf, "once": form?.text("once") ?? Secrets.random(prefix: ""),
                                     "fields": fields.map { $0.render(form, problems: problems, prefix: "intake-") }]
        if let problem {
            values["problem"] = "未能受理：" + WorkbenchMessages.summary(detail: problem.detail, problems: found,
                                                                   labels: Dictionary(fields.map { ($0.name, $0.label) }, uniquingKeysWith: { a, _ in a }))
        }
        return pages.page("intake", title: "受理", values, for: signedIn, current: "intake",
                          status: problem.map { HTTPResponse.Status(code: $0.status) } ?? .ok)
    }

    func file(_ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        // The center files cases (a sub-center's dispatcher does not: DOMAIN §5a).
        try signedIn.staff.require(.operator, .dispatcher)
        guard let form = context.form else { throw HotlineError.validation(field: "form", "没有表单") }
        let now = services.clock.now()
        let logger = context.logger
        let number: String
        let input: NewCase
        do {
            let choices = try await intakeChoices(context)
            let body = try FormBody.json(Self.intakeFields(categories: choices.categories, regions: choices.regions), from: form)
            input = try JSONCoding.decoder.decode(NewCase.self, from: Data(body))
            let kept = services.configuration.idempotencyRetention
            number = try await services.database.transaction(logger: logger) { connection in
                try await Self.once(form, path: "/workbench/intake", body: body, staff: signedIn.staff, at: now, keptFor: kept,
                                    on: connection, logger: logger) {
                    try await Intake.accept(input, body: body, by: signedIn.staff, at: now, on: connection, logger: logger).number
                }
            }
        } catch let error where Self.shownOnTheForm(error) {
            return try await intakePage(context, form: form, problem: ProblemMiddleware.problem(for: error, context: context))
        }
        // What the operator may rather not have written (the citizen's name or phone in the text)
        // goes with the redirect as codes: the case page says it in words.
        let warned = Intake.textWarnings(input).map { "\($0.field):\($0.code)" }.joined(separator: ",")
        return Response(status: .seeOther, headers: [.location: "/workbench/cases/\(number)?done=intake" + (warned.isEmpty ? "" : "&warn=\(warned)")])
    }

    /// The similar cases of what has been typed so far, as a piece of the intake page. Nothing
    /// to match on yet: an empty piece, not a problem.
    func similarFragment(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        try SimilarCases.authorise(signedIn.staff)
        let query = request.uri.queryParameters
        let asked = SimilarCases.Query(phone: query.get("phone").flatMap(Self.blankless), category: query.get("category").flatMap(Self.blankless),
                                       region: query.get("region").flatMap(Self.blankless), text: query.get("text").flatMap(Self.blankless))
        var values: [String: Any] = ["cases": [[String: Any]](), "empty": true]
        if asked.phone != nil || asked.text != nil || asked.category != nil {
            let valid = try SimilarCases.validate(asked)
            let now = services.clock.now()
            let found = try await services.database.read(logger: context.logger) {
                try await SimilarCases.find(valid, for: signedIn.staff, at: now, on: $0, logger: context.logger)
            }
            let why = ["same_phone": "同一来电号码", "similar_text": "内容相似", "nearby": "地点相近"]
            values["cases"] = found.map { similar -> [String: Any] in
                ["number": similar.number, "subject": similar.subject, "status": WorkbenchWords.word(WorkbenchWords.status, similar.status.rawValue),
                 "accepted": WorkbenchWords.time(similar.acceptedAt),
                 "why": similar.reasons.map { why[$0.kind] ?? $0.kind }.joined(separator: "、")]
            }
            values["empty"] = found.isEmpty
        }
        return pages.fragment("similar", values)
    }

    /// Knowledge articles for the words typed, to answer directly and cite.
    func knowledgeFragment(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        _ = try context.signedInToWorkbench()
        let words = request.uri.queryParameters.get("q").flatMap(Self.blankless)
        var values: [String: Any] = ["articles": [[String: Any]](), "empty": true]
        if let words {
            let now = services.clock.now()
            let hits = try await services.database.read(logger: context.logger) {
                try await KnowledgeBase.search(String(words.prefix(100)), limit: 5, at: now, on: $0, logger: context.logger)
            }
            values["articles"] = hits.map { ["id": "\($0.id)", "title": $0.title, "excerpt": $0.excerpt] }
            values["empty"] = hits.isEmpty
        }
        return pages.fragment("knowledge", values)
    }

    static func blankless(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    // MARK: Lists

    /// The center dispatcher's queue: accepted cases, oldest first, each with its routing suggestion.
    func queuePage(_ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let staff = signedIn.staff
        guard staff.isCenter, staff.role == .dispatcher else { throw HotlineError.forbidden("派单队列只属于热线中心的派单员") }
        let logger = context.logger
        let now = services.clock.now()
        let rows = try await services.database.read(logger: logger) { connection in
            let (cases, names) = try await Self.waiting(in: .accepted, for: staff, at: now, on: connection, logger: logger)
            var rows: [[String: String]] = []
            for summary in cases {
                let suggestion = try await Dispatch.suggestion(category: summary.category, region: summary.region, on: connection, logger: logger)
                var row = Self.summaryRow(summary, names: names)
                row["suggestion"] = suggestion.map { names[$0.lead] ?? $0.lead } ?? "—"
                rows.append(row)
            }
            return rows
        }
        return pages.page("queue", title: "待派单", ["cases": rows, "empty": rows.isEmpty], for: signedIn, current: "queue")
    }

    /// A unit's inbox (a handler's, a sub-center dispatcher's): what it owes, with the card of
    /// its next deadline.
    func inboxPage(_ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let logger = context.logger
        let now = services.clock.now()
        let items = try await services.database.read(logger: logger) { connection in
            try await Inbox.list(for: signedIn.staff, limit: 200, cursor: nil, at: now, on: connection, logger: logger).items
        }
        let rows = items.map { item -> [String: Any] in
            var row: [String: Any] = [
                "number": item.number, "subject": item.subject, "type": WorkbenchWords.word(WorkbenchWords.type, item.type.rawValue),
                "status": WorkbenchWords.word(WorkbenchWords.status, item.caseStatus.rawValue),
                "role": WorkbenchWords.word(WorkbenchWords.role, item.role), "card": item.card.rawValue,
                "cardWord": WorkbenchWords.word(WorkbenchWords.card, item.card.rawValue), "urgent": item.urgency == .urgent,
            ]
            row["next"] = item.nextStep.map { WorkbenchWords.word(WorkbenchWords.deadline, $0.rawValue) } ?? ""
            row["due"] = item.dueAt.map { WorkbenchWords.time($0) } ?? ""
            row["waiting"] = item.waiting.map { WorkbenchWords.word(WorkbenchWords.waiting, $0) } ?? false
            return row
        }
        return pages.page("inbox", title: "待办", ["items": rows, "empty": rows.isEmpty], for: signedIn, current: "inbox")
    }

    /// A unit's ledger (台账): every case it may read, as the case list shows them to it, as CSV.
    func ledger(_ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let staff = signedIn.staff
        guard staff.readingUnit != nil else { throw HotlineError.forbidden("台账是承办单位的：热线中心请用案件查询与统计") }
        let logger = context.logger
        let now = services.clock.now()
        let rows = try await services.reports.read(logger: logger) { connection in
            let names = Self.names(try await Self.units(on: connection, logger: logger))
            var rows = [["编号", "标题", "类型", "紧急程度", "分类", "区域", "状态", "受理时间", "办结时间"]]
            var filter = CaseFilter()
            filter.limit = 500
            filter.now = now
            repeat {
                let page = try await CaseQueries.list(filter, for: staff, on: connection, logger: logger)
                rows += page.items.map { summary in
                    [summary.number, summary.subject, WorkbenchWords.word(WorkbenchWords.type, summary.type.rawValue),
                     WorkbenchWords.word(WorkbenchWords.urgency, summary.urgency.rawValue), summary.category,
                     summary.region.map { names[$0] ?? $0 } ?? "未指定区域", WorkbenchWords.word(WorkbenchWords.status, summary.status.rawValue),
                     WorkbenchWords.time(summary.acceptedAt), WorkbenchWords.time(summary.closedAt)]
                }
                filter.cursor = page.nextCursor
            } while filter.cursor != nil && rows.count <= Self.ledgerRows
            return rows
        }
        let unit = staff.readingUnit ?? "unit"
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"ledger-\(unit).csv\""],
                        body: .init(byteBuffer: ByteBuffer(bytes: ReportFormats.csvDocument(rows))))
    }

    /// A month's appraisal for managers and supervisors: the report (printable, CSV), the
    /// revisions published, and for a manager the form that publishes the next (DOMAIN §9).
    func appraisalPage(_ request: Request, _ context: HotlineRequestContext, problem: String?, notice: String?,
                       period given: Period? = nil, weightsForm: WorkbenchForm? = nil, weightsProblem: Problem? = nil) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        try signedIn.staff.require(.manager, .supervisor)
        let period = try given ?? Period.parse(request.uri.queryParameters.get("period") ?? WorkbenchPages.month(services.clock.now()))
        let revisions = try await services.database.read(logger: context.logger) {
            try await AppraisalPublication.revisions(period, on: $0, logger: context.logger)
        }
        var values: [String: Any] = [
            "period": "\(period)", "csrf": signedIn.csrf, "mayPublish": signedIn.staff.role == .manager,
            "revisions": revisions.map { ["revision": "\($0.revision)", "at": WorkbenchWords.time($0.publishedAt), "reason": $0.reason ?? "—"] },
            "hasRevisions": !revisions.isEmpty,
        ]
        if let problem { values["problem"] = problem }
        if let notice { values["notice"] = notice }
        if signedIn.staff.role == .manager {
            let weights = try await services.database.read(logger: context.logger) {
                try await Appraisal.weights(on: $0, logger: context.logger)
            }
            let current = weightsForm ?? WorkbenchForm(pairs: Self.pairs(weights))
            let found = (weightsProblem?.errors ?? []).map { (field: $0.field, message: $0.message) }
            values["weights"] = Self.weightFields.map { $0.render(current, problems: WorkbenchMessages.byField(found), prefix: "weights-") }
            values["weightsProblem"] = weightsProblem.map { WorkbenchMessages.summary(detail: $0.detail, problems: found,
                labels: Dictionary(Self.weightFields.map { ($0.name, $0.label) }, uniquingKeysWith: { a, _ in a })) } ?? false
        }
        let refused = problem != nil || weightsProblem != nil
        return pages.page("appraisal", title: "\(period) 考评", values, for: signedIn, current: "appraisal",
                          status: refused ? .unprocessableContent : .ok)
    }

    /// The weights and the scheme (DOMAIN §9), as PUT /appraisal-weights takes them.
    static let weightFields: [FormField] = [
        FormField(name: "scheme", label: "考评方案", kind: .select([("default", "默认（及时签收、按时办结、解决、满意）"), ("three_rates", "三率（响应、解决、满意）")])),
        FormField(name: "on_time_sign", label: "及时签收率权重", kind: .decimal),
        FormField(name: "on_time_reply", label: "按时办结率权重", kind: .decimal),
        FormField(name: "resolution", label: "解决率权重", kind: .decimal),
        FormField(name: "satisfaction", label: "满意率权重", kind: .decimal),
        FormField(name: "unreasonable_return", label: "不合理退单每件扣分", kind: .decimal),
        FormField(name: "escalation", label: "升级督办每件扣分", kind: .decimal),
        FormField(name: "three_rates.response", label: "三率：响应率权重", kind: .decimal),
        FormField(name: "three_rates.resolution", label: "三率：解决率权重", kind: .decimal),
        FormField(name: "three_rates.satisfaction", label: "三率：满意率权重", kind: .decimal),
    ]

    static func pairs(_ weights: AppraisalWeights) -> [(String, String)] {
        func text(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        var pairs: [(String, String)] = [
            ("scheme", weights.schemeInForce.rawValue), ("on_time_sign", text(weights.onTimeSign)), ("on_time_reply", text(weights.onTimeReply)),
            ("resolution", text(weights.resolution)), ("satisfaction", text(weights.satisfaction)),
            ("unreasonable_return", text(weights.unreasonableReturn)), ("escalation", text(weights.escalation)),
        ]
        if let three = weights.threeRates {
            pairs += [("three_rates.response", text(three.response)), ("three_rates.resolution", text(three.resolution)),
                      ("three_rates.satisfaction", text(three.satisfaction))]
        }
        return pairs
    }

    func setWeights(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        try signedIn.staff.require(.manager)
        guard let form = context.form else { throw HotlineError.validation(field: "form", "没有表单") }
        let now = services.clock.now()
        do {
            let body = try FormBody.json(Self.weightFields, from: form)
            let weights = try JSONCoding.decoder.decode(AppraisalWeights.self, from: Data(body))
            _ = try await services.database.transaction(logger: context.logger) {
                try await Appraisal.setWeights(weights, by: signedIn.staff, at: now, on: $0, logger: context.logger)
            }
        } catch let error where Self.shownOnTheForm(error) {
            return try await appraisalPage(request, context, problem: nil, notice: nil,
                                           weightsForm: form, weightsProblem: ProblemMiddleware.problem(for: error, context: context))
        }
        return try await appraisalPage(request, context, problem: nil, notice: "已保存考评方案与权重")
    }

    func publish(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let form = context.form
        let period = try Period.parse(form?["period"])
        let now = services.clock.now()
        let logger = context.logger
        let timeout = services.configuration.reportsStatementTimeout
        do {
            let published = try await services.database.transaction(logger: logger) { connection in
                // Publishing computes the whole report in this transaction: it has the reports' time limit.
                try await connection.query("SELECT set_config('statement_timeout', \(timeout), true)", logger: logger)
                return try await AppraisalPublication.publish(period, reason: form?.text("reason"), by: signedIn.staff, at: now,
                                                              on: connection, logger: logger)
            }
            return try await appraisalPage(request, context, problem: nil, notice: "已发布第 \(published.revision) 版", period: period)
        } catch let error where Self.shownOnTheForm(error) {
            let problem = ProblemMiddleware.problem(for: error, context: context)
            return try await appraisalPage(request, context, problem: "未能发布：" + WorkbenchMessages.chinese(problem.detail), notice: nil, period: period)
        }
    }

    /// Escalations (升级督办) and accountability (问责) of a month, for managers and supervisors:
    /// the cases escalated, and the units escalated again and again.
    func escalationsPage(_ request: Request, _ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let staff = signedIn.staff
        try staff.require(.manager, .supervisor)
        let now = services.clock.now()
        let period = try Period.parse(request.uri.queryParameters.get("period") ?? WorkbenchPages.month(now))
        let logger = context.logger
        let found = try await services.database.read(logger: logger) {
            try await Supervision.accountability(for: staff, period: period, limit: 200, at: now, on: $0, logger: logger)
        }
        let rows = found.escalations.map { escalation -> [String: Any] in
            ["number": escalation.number, "subject": escalation.subject, "unit": escalation.unitName,
             "step": WorkbenchWords.word(WorkbenchWords.deadline, escalation.step.rawValue), "due": WorkbenchWords.time(escalation.dueAt),
             "at": WorkbenchWords.time(escalation.escalatedAt), "how": escalation.manual ? "人工" : "自动",
             "reason": escalation.reason ?? false, "urgings": "\(escalation.urgings)", "overdue": "\(escalation.workingDaysOverdue)",
             "done": escalation.stepDone ? "已完成" : "未完成"]
        }
        let units = found.units.map { ["name": $0.name, "escalations": "\($0.escalations)"] }
        return pages.page("escalations", title: "\(period) 升级督办与问责",
                          ["cases": rows, "empty": rows.isEmpty, "units": units, "hasUnits": !units.isEmpty, "period": "\(period)"],
                          for: signedIn, current: "escalations")
    }

    /// The most rows one ledger holds (a year of a busy street is some thousands).
    static let ledgerRows = 50_000

    /// The operator's return visits due: replied cases, the oldest reply first.
    func visitsPage(_ context: HotlineRequestContext) async throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let staff = signedIn.staff
        try staff.require(.operator, .dispatcher)
        let logger = context.logger
        let now = services.clock.now()
        let rows = try await services.database.read(logger: logger) { connection in
            let (cases, names) = try await Self.waiting(in: .replied, for: staff, at: now, on: connection, logger: logger)
            return cases.map { Self.summaryRow($0, names: names) }
        }
        return pages.page("visits", title: "待回访", ["cases": rows, "empty": rows.isEmpty], for: signedIn, current: "visits")
    }

    /// The cases in a state a queue works through, oldest first (at most 200), and the units' names.
    static func waiting(
        in status: CaseStatus, for staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> ([CaseSummary], [String: String]) {
        var filter = CaseFilter()
        filter.status = status
        filter.limit = 200
        filter.now = now
        let cases = try await CaseQueries.list(filter, for: staff, on: connection, logger: logger).items
        return (cases.sorted { $0.acceptedAt < $1.acceptedAt }, names(try await units(on: connection, logger: logger)))
    }

    static func names(_ units: [HotlineCore.Unit]) -> [String: String] {
        Dictionary(units.map { ($0.code, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    static func summaryRow(_ summary: CaseSummary, names: [String: String]) -> [String: String] {
        [
            "number": summary.number, "subject": summary.subject, "accepted": WorkbenchWords.time(summary.acceptedAt),
            "type": WorkbenchWords.word(WorkbenchWords.type, summary.type.rawValue), "category": summary.category,
            "region": summary.region.map { names[$0] ?? $0 } ?? "未指定区域",
            "status": WorkbenchWords.word(WorkbenchWords.status, summary.status.rawValue),
        ]
    }
}
