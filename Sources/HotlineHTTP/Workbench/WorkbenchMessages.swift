import Foundation

/// The problems the service names for a field, in Chinese for the workbench (the API keeps its
/// English: its clients are programs). A message without a rendering here is shown as it is.
enum WorkbenchMessages {
    static let exact: [String: String] = [
        "is required": "必填",
        "must not be empty": "不能为空",
        "must be a single line": "只能填写一行",
        "must be a phone number: 5–20 digits, an optional leading +": "请填写电话号码：5 至 20 位数字，可以 + 开头",
        "names no known unit": "不是已有的单位",
        "names a unit that is no longer active": "该单位已停用",
        "must not include the lead unit": "协办单位不能包含主办单位",
        "names a unit twice": "同一单位选了两次",
        "names an article twice": "同一条目引用了两次",
        "is required when the citizen was reached": "联系上市民时必填",
        "give latitude and longitude together, or neither": "经度和纬度须同时填写",
        "only a consultation is answered directly": "只有咨询件可以直接答复",
        "cite at least one published article": "请至少引用一条已发布的知识库条目",
        "ids are positive": "编号须为正整数",
        "must be an integer": "请填写整数",
        "must be true or false": "请选择是或否",
        "at most 20 assisting units": "协办单位最多 20 个",
        "at most 20 articles": "最多引用 20 条",
        "is another user's": "已被其他用户使用",
        "must be 2 to 64 of a–z, 0–9, '.', '_' or '-', beginning with a letter or digit": "2 至 64 个小写字母、数字或 . _ -，以字母或数字开头",
        "must not repeat a few characters": "不能只由少数几个字符重复组成",
        "must not contain the login": "不能包含登录名",
    ]

    static func chinese(_ message: String) -> String {
        if let known = exact[message] { return known }
        if let match = message.wholeMatch(of: /must be at most (\d+) characters/) { return "最多 \(match.1) 个字" }
        if let match = message.wholeMatch(of: /must be at least (\d+) characters/) { return "至少 \(match.1) 个字符" }
        if let match = message.wholeMatch(of: /must be between (-?\d+) and (-?\d+)/) { return "须在 \(match.1) 至 \(match.2) 之间" }
        if message.hasPrefix("must be one of") { return "请从选项中选择" }
        if message.hasSuffix("add up to 100") { return "各项权重合计须为 100" }
        if let match = message.wholeMatch(of: /must not hold a word of more than (\d+) letters or digits without a break/) {
            return "不能有超过 \(match.1) 个字母或数字连写（请断开）"
        }
        return message
    }

    /// The field problems of a refusal, by field, in Chinese.
    static func byField(_ problems: [(field: String, message: String)]) -> [String: String] {
        Dictionary(problems.map { ($0.field, chinese($0.message)) }, uniquingKeysWith: { first, _ in first })
    }

    /// A refusal said above the form: the fields' problems with their labels, or the detail.
    static func summary(detail: String, problems: [(field: String, message: String)], labels: [String: String]) -> String {
        guard !problems.isEmpty else { return detail }
        return problems.map { (labels[$0.field] ?? $0.field) + "：" + chinese($0.message) }.joined(separator: "；")
    }
}
