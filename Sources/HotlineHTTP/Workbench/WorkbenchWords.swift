import Foundation
import HotlineCore

/// The workbench's words for the service's vocabulary (the API speaks its codes; a page speaks
/// Chinese). A code without a word here is shown as it is.
enum WorkbenchWords {
    static let status: [String: String] = [
        "accepted": "已受理", "dispatched": "已派单", "in_progress": "办理中", "return_requested": "申请退回",
        "reply_review": "答复审核中", "replied": "已答复", "closed": "已办结", "merged": "已并单",
    ]
    static let type: [String: String] = [
        "consultation": "咨询", "help": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议",
    ]
    static let channel: [String: String] = [
        "phone": "电话", "web": "网站", "app": "移动端", "wechat": "微信", "sms": "短信", "email": "电子邮件",
        "letter": "信件", "open311": "Open311", "upper_platform": "上级平台", "police_110": "110 对接",
    ]
    static let urgency: [String: String] = ["normal": "一般", "urgent": "紧急"]
    static let outcome: [String: String] = [
        "resolved": "已解决", "partly_resolved": "部分解决", "unresolved": "未解决", "explained": "已解释说明",
    ]
    static let satisfaction: [String: String] = ["satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"]
    static let card: [String: String] = ["none": "正常", "yellow": "黄牌（临期）", "red": "红牌（超期）"]
    static let deadline: [String: String] = [
        "sign": "签收", "reply": "答复", "opinion": "协办意见", "return": "退回期限", "visit": "回访", "review": "审核", "contact": "先行联系",
    ]
    static let role: [String: String] = ["lead": "主办", "assist": "协办"]
    static let request: [String: String] = ["pending": "待审核", "approved": "已同意", "rejected": "未同意"]
    static let contactMethod: [String: String] = ["phone": "电话", "visit": "上门", "sms": "短信", "other": "其他"]
    static let waiting: [String: String] = [
        "review_reply": "待审核答复", "review_return": "待审核退回", "review_extension": "待审核延期", "pass_down": "待下派",
    ]
    static let assignment: [String: String] = [
        "dispatched": "待签收", "signed": "已签收", "returned": "已退回", "replied": "已答复", "done": "已完成",
        "cancelled": "已撤销", "taken_back": "已收回",
    ]
    static let event: [String: String] = [
        "accepted": "受理", "answered_directly": "直接答复", "transferred": "紧急转办", "withdrawn": "撤回",
        "contact_revealed": "查看联系方式", "dispatched": "派单", "signed": "签收", "return_requested": "申请退回",
        "return_approved": "同意退回", "return_rejected": "不同意退回", "extension_requested": "申请延期",
        "extension_approved": "同意延期", "extension_rejected": "不同意延期", "opinion_given": "协办意见", "note": "办理记录",
        "replied": "答复", "reply_received": "收到主单答复", "visited": "回访", "visit_failed": "回访未接通",
        "closed_unreachable": "无法联系办结", "closed_no_visit_needed": "无需回访办结", "reopened": "重办",
        "closed_after_review": "复核办结", "exempted": "免考核", "merged": "并单", "duplicate_merged": "并入重复件",
        "unmerged": "解除并单", "deadline_recomputed": "重算期限", "urged": "催办", "escalated": "升级督办", "disclosed": "公开",
        "passed_down": "下派", "taken_back": "收回", "reassigned": "改派", "reply_approved": "审核通过",
        "reply_sent_back": "退回重答", "contacted": "先行联系", "supplemented": "补充诉求",
    ]

    static func word(_ table: [String: String], _ code: String?) -> String {
        guard let code else { return "" }
        return table[code] ?? code
    }

    /// 2026-03-02 09:00, in the center's time zone (the API's own times, shortened).
    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(Timestamp.format(date).prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// Options of a select from a vocabulary, in its order, with their words.
    static func options<V: Vocabulary>(_ vocabulary: V.Type, _ table: [String: String], except: Set<String> = []) -> [(String, String)] {
        V.allCases.map(\.rawValue).filter { !except.contains($0) }.map { ($0, table[$0] ?? $0) }
    }
}
