import Foundation

/// The survey's page, in Chinese, with nothing loaded from elsewhere: a form of three questions
/// that works without script, and the answer or the problem shown in its place. What the
/// citizen chose is kept on an error.
public enum RatingPage {
    public static func form(_ survey: Ratings.Survey, answer: Ratings.Answer? = nil, problem: String? = nil) -> String {
        let chosen = answer?.satisfaction, resolved = answer?.resolved
        func radio(_ name: String, _ value: String, _ label: String, _ current: String?) -> String {
            let id = "\(name)-\(value)"
            return "<p><input type=\"radio\" id=\"\(id)\" name=\"\(name)\" value=\"\(value)\"\(current == value ? " checked" : "") required>"
                + " <label for=\"\(id)\">\(label)</label></p>\n"
        }
        var body = "<h1>工单 \(ReportFormats.escape(survey.number)) 办理结果评价</h1>\n"
        body += "<p>\(ReportFormats.escape(survey.unit)) 已于 \(SMSOutbox.localText(survey.repliedAt)) 答复您的诉求。请您评价：</p>\n"
        if let problem { body += "<p role=\"alert\" class=\"problem\">\(ReportFormats.escape(problem))</p>\n" }
        body += "<form method=\"post\">\n<fieldset><legend>您对办理结果是否满意？</legend>\n"
        body += radio("satisfaction", "satisfied", "满意", chosen) + radio("satisfaction", "basically_satisfied", "基本满意", chosen)
            + radio("satisfaction", "unsatisfied", "不满意", chosen)
        body += "</fieldset>\n<fieldset><legend>您反映的问题是否已解决？</legend>\n"
        body += radio("resolved", "true", "已解决", resolved) + radio("resolved", "false", "未解决", resolved)
        body += "</fieldset>\n<p><label for=\"note\">意见建议（选填，500字以内）</label><br>"
        body += "<textarea id=\"note\" name=\"note\" rows=\"4\" maxlength=\"500\">\(ReportFormats.escape(answer?.note ?? ""))</textarea></p>\n"
        body += "<p><button type=\"submit\">提交评价</button></p>\n</form>\n"
        return page(title: "办理结果评价", body, problem: problem == nil ? nil : .validationFailed)
    }

    /// A page of one message; a refusal names its problem's code (`data-problem`) for tools.
    public static func message(_ title: String, _ text: String, problem code: ErrorCode? = nil) -> String {
        page(title: title, "<h1>\(ReportFormats.escape(title))</h1>\n<p>\(ReportFormats.escape(text))</p>\n", problem: code)
    }

    static func page(title: String, _ body: String, problem code: ErrorCode? = nil) -> String {
        """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(ReportFormats.escape(title)) - 12345政务服务便民热线</title>
        <style>body{font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em;line-height:1.6}
        fieldset{margin:1em 0}.problem{color:#a00;font-weight:bold}button{font-size:1.1em;padding:.4em 1.2em}
        textarea{width:100%}</style></head>
        <body\(code.map { " data-problem=\"\($0.rawValue)\"" } ?? "")>
        \(body)</body></html>

        """
    }
}
