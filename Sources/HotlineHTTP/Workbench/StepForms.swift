import Foundation
import HotlineCore

/// A control of a workbench form. Its `name` is the field's path in the JSON body of the REST
/// operation the form stands for (`citizen.phone`), so a problem the operation names for a
/// field is shown beside that control.
struct FormField: Sendable {
    enum Kind: Sendable {
        /// `number`: a whole number.
        case text, textarea, number
        /// One of these (value, words); `""` first when the field may be left out.
        case select([(String, String)])
        /// Several of these (value, words), sent as a list.
        case multiple([(String, String)])
        /// A box: true when ticked, false when not.
        case checkbox
        /// A choice of yes or no (these words; `""` first when it may be left out), sent as a boolean.
        case yesNo([(String, String)])
        /// One of these ids (an assignment's), sent as a number.
        case idSelect([(String, String)])
        /// Whole numbers separated by commas or spaces, sent as a list (article ids).
        case integers
        /// Words separated by commas, sent as a list of strings (keywords).
        case words
        /// A number that may have decimals (a weight), sent as a number.
        case decimal
    }

    let name: String
    let label: String
    let kind: Kind
    var required = false
    var hint: String? = nil

    /// What the template draws: the control with what was typed and the problem beside it.
    func render(_ form: WorkbenchForm?, problems: [String: String], prefix: String) -> [String: Any] {
        let id = prefix + name.replacingOccurrences(of: ".", with: "-")
        // Every key the partial reads is set, false when empty: Mustache would otherwise find the
        // same key in the page around the field (the page's own problem, the form's id).
        var values: [String: Any] = ["name": name, "id": id, "label": label, "required": required,
                                     "hint": hint ?? false, "problem": problems[name] ?? false, "checked": false]
        for flag in ["isText", "isNumber", "isTextarea", "isCheckbox", "isSelect", "isMultiple"] { values[flag] = false }
        let typed = form?[name]
        switch kind {
        case .text: values["isText"] = true; values["value"] = typed ?? ""
        case .number, .decimal: values["isNumber"] = true; values["value"] = typed ?? ""
        case .integers, .words: values["isText"] = true; values["value"] = typed ?? ""
        case .textarea: values["isTextarea"] = true; values["value"] = typed ?? ""
        case .checkbox: values["isCheckbox"] = true; if form?[name] == "true" { values["checked"] = true }
        case .select(let options), .yesNo(let options), .idSelect(let options):
            values["isSelect"] = true
            values["options"] = options.map { option -> [String: Any] in
                ["value": option.0, "label": option.1, "selected": typed == option.0]
            }
        case .multiple(let options):
            values["isMultiple"] = true
            let chosen = Set(form?.all(name) ?? [])
            values["options"] = options.enumerated().map { index, option -> [String: Any] in
                ["value": option.0, "label": option.1, "id": "\(id)-\(index)", "checked": chosen.contains(option.0)]
            }
        }
        return values
    }
}

/// A form's fields as the JSON body of its operation: blanks left out, lists and booleans and
/// numbers as such, dotted names as nested objects. A value that is not what the field takes
/// (a number field holding letters) is refused by name, like the API's own checks.
enum FormBody {
    static func json(_ fields: [FormField], from form: WorkbenchForm) throws -> [UInt8] {
        var object: [String: Any] = [:]
        var checker = FieldChecker()
        for field in fields {
            let value: Any?
            switch field.kind {
            case .text, .textarea, .select: value = form.text(field.name)
            case .checkbox: value = form[field.name] == "true"
            case .yesNo: value = form.text(field.name).map { $0 == "true" }
            case .idSelect:
                if let text = form.text(field.name) {
                    guard let id = Int64(text) else { checker.fail(field.name, "请从选项中选择"); continue }
                    value = id
                } else { value = nil }
            case .multiple:
                // None ticked is no list at all: an absent list lets the operation choose (the routing's assisting units).
                let chosen = form.all(field.name).filter { !$0.isEmpty }
                value = chosen.isEmpty ? nil : chosen
            case .number:
                if let text = form.text(field.name) {
                    guard let whole = Int(text) else { checker.fail(field.name, "请填写整数"); continue }
                    value = whole
                } else { value = nil }
            case .decimal:
                if let text = form.text(field.name) {
                    guard let number = Double(text), number.isFinite else { checker.fail(field.name, "请填写数字"); continue }
                    value = number
                } else { value = nil }
            case .words:
                let words = (form[field.name] ?? "").split { ",，、;；".contains($0) }
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                value = words.isEmpty ? nil : words
            case .integers:
                let parts = (form[field.name] ?? "").split { ",， ".contains($0) }
                let numbers = parts.compactMap { Int64($0) }
                if numbers.count != parts.count { checker.fail(field.name, "请填写以逗号分隔的编号"); continue }
                value = numbers.isEmpty ? nil : numbers
            }
            guard let value else { continue }
            set(value, at: field.name.split(separator: ".").map(String.init), in: &object)
        }
        try checker.check()
        // Sorted, so that the same form makes the same bytes (a repeated post is known by them).
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    static func set(_ value: Any, at path: [String], in object: inout [String: Any]) {
        guard let first = path.first else { return }
        if path.count == 1 { object[first] = value; return }
        var inner = object[first] as? [String: Any] ?? [:]
        set(value, at: Array(path.dropFirst()), in: &inner)
        object[first] = inner
    }
}

/// The form of one step of the case page: the REST operation it posts to, the steps of the
/// lifecycle table it stands for (shown when the table allows one of them now), its fields.
struct StepForm: Sendable {
    /// A path of `CaseStepEndpoints`.
    let endpoint: String
    let steps: Set<CaseStep>
    let title: String
    let button: String
    let fields: [FormField]
    /// Where the path's `{id}` comes from: the reply under review, the pending request.
    var id: StepId? = nil
    /// The day's work, shown open; the rest (withdraw, merge, urge, …) folded until asked for.
    var primary: Bool { StepForm.primaries.contains(endpoint) }

    static let primaries: Set<String> = [
        "dispatch", "sign", "pass-down", "contacts", "reply", "replies/:id/approve", "opinions", "visits",
        "return-requests/:id/approve", "extension-requests/:id/approve",
    ]

    enum StepId: Sendable { case replyUnderReview, pendingReturn, pendingExtension }
}

/// What the step forms offer to choose from, read for the page.
struct StepChoices: Sendable {
    /// Every active unit (the center dispatches to any).
    var units: [(String, String)] = []
    /// The units directly below the caller's own (a sub-center passes down to one of them).
    var below: [(String, String)] = []
    /// The routing suggestion for the case: its lead and assisting units.
    var suggestion: (lead: String, assists: [String])? = nil
    /// The case's assignments still at work (id, unit and role), for an urging or an escalation.
    var assignments: [(String, String)] = []
}

enum StepForms {
    static func all(_ choices: StepChoices) -> [StepForm] {
        let outcomes = WorkbenchWords.options(ReplyOutcome.self, WorkbenchWords.outcome)
        let reason = FormField(name: "reason", label: "理由", kind: .textarea, required: true)
        let deadlineSteps = [("sign", "签收"), ("reply", "答复"), ("opinion", "协办意见"), ("review", "审核"), ("contact", "先行联系")]
        let note = FormField(name: "note", label: "备注", kind: .textarea)
        let name = { (code: String) in choices.units.first { $0.0 == code }?.1 ?? code }
        let suggested = choices.suggestion.map {
            "建议：" + name($0.lead) + ($0.assists.isEmpty ? "" : "，协办 " + $0.assists.map(name).joined(separator: "、"))
        }
        return [
            StepForm(endpoint: "dispatch", steps: [.dispatch], title: "派单", button: "派单", fields: [
                FormField(name: "lead_unit", label: "主办单位", kind: .select([("", "按分类建议")] + choices.units), hint: suggested),
                FormField(name: "assist_units", label: "协办单位", kind: .multiple(choices.units)),
                note,
            ]),
            StepForm(endpoint: "sign", steps: [.sign, .signAssisting, .signPassedDown], title: "签收", button: "签收", fields: []),
            StepForm(endpoint: "pass-down", steps: [.passDown], title: "下派", button: "下派", fields: [
                FormField(name: "lead_unit", label: "下派至", kind: .select(choices.below), required: true),
                FormField(name: "assist_units", label: "协办单位", kind: .multiple(choices.below)),
                note,
            ]),
            StepForm(endpoint: "contacts", steps: [.recordContact], title: "先行联系", button: "记录联系", fields: [
                FormField(name: "method", label: "联系方式", kind: .select(WorkbenchWords.options(ContactMethod.self, WorkbenchWords.contactMethod))),
                note,
            ]),
            StepForm(endpoint: "reply", steps: [.reply, .submitReply], title: "答复市民", button: "提交答复", fields: [
                FormField(name: "outcome", label: "办理结果", kind: .select(outcomes), required: true),
                FormField(name: "text", label: "答复内容", kind: .textarea, required: true),
                FormField(name: "contacted_citizen", label: "已与市民联系", kind: .checkbox),
                FormField(name: "handler_name", label: "承办人姓名", kind: .text, required: true),
                FormField(name: "handler_phone", label: "承办人电话", kind: .text, required: true),
            ]),
            StepForm(endpoint: "replies/:id/approve", steps: [.approveReply, .releaseReply], title: "审核答复", button: "审核通过",
                     fields: [note], id: .replyUnderReview),
            StepForm(endpoint: "replies/:id/send-back", steps: [.sendBackReply], title: "退回重答", button: "退回重答",
                     fields: [reason], id: .replyUnderReview),
            StepForm(endpoint: "notes", steps: [.addNote], title: "办理记录", button: "添加记录", fields: [
                FormField(name: "text", label: "记录内容", kind: .textarea, required: true),
            ]),
            StepForm(endpoint: "opinions", steps: [.giveOpinion], title: "协办意见", button: "提交意见", fields: [
                FormField(name: "text", label: "意见", kind: .textarea, required: true),
            ]),
            StepForm(endpoint: "return-requests", steps: [.requestReturn], title: "申请退回", button: "申请退回", fields: [
                reason,
                FormField(name: "suggested_unit", label: "建议承办单位", kind: .select([("", "—")] + choices.units)),
            ]),
            StepForm(endpoint: "return-requests/:id/approve", steps: [.approveReturn, .approveChildReturn], title: "同意退回",
                     button: "同意退回", fields: [
                         FormField(name: "lead_unit", label: "改派主办单位", kind: .select([("", "按建议或分类")] + choices.units),
                                   hint: "热线中心同意退回后重新派单；上级单位同意下级退回时留空"),
                         FormField(name: "assist_units", label: "协办单位", kind: .multiple(choices.units)),
                         note,
                     ], id: .pendingReturn),
            StepForm(endpoint: "return-requests/:id/reject", steps: [.rejectReturn], title: "不同意退回", button: "不同意退回",
                     fields: [reason], id: .pendingReturn),
            StepForm(endpoint: "extension-requests", steps: [.requestExtension], title: "申请延期", button: "申请延期", fields: [
                FormField(name: "working_days", label: "延期工作日", kind: .number, required: true),
                reason,
            ]),
            StepForm(endpoint: "extension-requests/:id/approve", steps: [.approveExtension], title: "同意延期", button: "同意延期",
                     fields: [FormField(name: "working_days", label: "批准的工作日（留空按申请）", kind: .number)], id: .pendingExtension),
            StepForm(endpoint: "extension-requests/:id/reject", steps: [.rejectExtension], title: "不同意延期", button: "不同意延期",
                     fields: [reason], id: .pendingExtension),
            StepForm(endpoint: "visits", steps: [.visitSatisfied, .visitUnsatisfied, .visitFailed], title: "回访", button: "记录回访", fields: [
                FormField(name: "reached", label: "是否联系上市民", kind: .yesNo([("true", "联系上"), ("false", "未接通")]), required: true),
                FormField(name: "satisfaction", label: "满意度", kind: .select([("", "—")]
                    + WorkbenchWords.options(Satisfaction.self, WorkbenchWords.satisfaction))),
                FormField(name: "resolved", label: "问题是否解决", kind: .yesNo([("", "—"), ("true", "是"), ("false", "否")])),
                note,
            ]),
            StepForm(endpoint: "supplements", steps: [.supplement], title: "补充诉求（市民再次来电）", button: "记录补充", fields: [
                FormField(name: "text", label: "补充内容", kind: .textarea, required: true),
            ]),
            StepForm(endpoint: "reopen", steps: [.reopen], title: "重办", button: "重办", fields: [reason]),
            StepForm(endpoint: "close", steps: [.closeAfterReview], title: "复核办结", button: "办结", fields: [reason]),
            StepForm(endpoint: "take-back", steps: [.takeBack], title: "收回（下级不再承办）", button: "收回", fields: [reason]),
            StepForm(endpoint: "reassign", steps: [.reassign], title: "改派", button: "改派", fields: [
                FormField(name: "lead_unit", label: "新的主办单位", kind: .select([("", "按分类建议")] + choices.units)),
                FormField(name: "assist_units", label: "协办单位", kind: .multiple(choices.units)),
                reason,
            ]),
            StepForm(endpoint: "urge", steps: [.urge], title: "催办", button: "催办", fields: [
                FormField(name: "assignment", label: "催办单位", kind: .idSelect(choices.assignments), required: true),
                FormField(name: "step", label: "催办事项", kind: .select(deadlineSteps), required: true),
                note,
            ]),
            StepForm(endpoint: "escalate", steps: [.escalate], title: "升级督办", button: "升级督办", fields: [
                FormField(name: "assignment", label: "督办单位", kind: .idSelect(choices.assignments), required: true),
                FormField(name: "step", label: "督办事项", kind: .select(deadlineSteps), required: true),
                reason,
            ]),
            StepForm(endpoint: "merge", steps: [.merge], title: "并单（与另一案件是同一诉求）", button: "并入", fields: [
                FormField(name: "master", label: "并入的案件编号", kind: .text, required: true),
            ]),
            StepForm(endpoint: "exempt", steps: [.exempt], title: "免考核", button: "免考核", fields: [reason]),
            StepForm(endpoint: "withdraw", steps: [.withdraw], title: "撤回（市民不再需要办理）", button: "撤回", fields: [reason]),
            StepForm(endpoint: "transfer", steps: [.transfer], title: "紧急转办", button: "转办", fields: [
                FormField(name: "service", label: "转至", kind: .select([("110", "110 公安"), ("119", "119 消防"), ("120", "120 急救")]),
                          required: true),
                note,
            ]),
            StepForm(endpoint: "disclose", steps: [.disclose], title: "公开（去除个人信息后的摘要）", button: "公开", fields: [
                FormField(name: "summary", label: "公开摘要", kind: .textarea, required: true),
            ]),
        ]
    }

    static func named(_ endpoint: String, _ choices: StepChoices) -> StepForm? {
        all(choices).first { $0.endpoint == endpoint }
    }
}
