import Foundation

extension UnitGroup {
    /// How the groups are named in the 通报.
    public var chineseName: String {
        switch self {
        case .cityDepartment: "市直部门"
        case .district: "县市区"
        case .functionalZone: "功能区"
        case .town: "乡镇街道"
        case .community: "社区村"
        case .enterprise: "公共服务企业"
        }
    }
}

extension UnitAppraisal {
    /// A figure as written, or "—" where the stored revision does not have it.
    func shown(_ key: String, _ text: String) -> String { missing.contains(key) ? "—" : text }
}

/// The report as a spreadsheet and as a printable page.
public enum ReportFormats {
    static let csvHeader = [
        "单位代码", "单位名称", "分组", "组内排名", "综合得分",
        "及时签收数", "应签收数", "及时签收率(%)",
        "按时办结数", "应办结数", "按时办结率(%)",
        "满意数", "满意率基数", "满意率(%)",
        "解决数", "解决率基数", "解决率(%)",
        "重办数", "答复数", "重办率(%)",
        "及时响应数", "应响应数", "响应率(%)",
        "不合理退单", "升级督办", "超期工单", "审核退回", "重复诉求",
    ]

    /// The roll-up's rows follow the ranking's, under a header of their own.
    static let csvRollupHeader = ["汇总单位代码", "单位名称", "分组", "汇总单位数", "综合得分"] + csvHeader[5...]

    /// UTF-8 with a byte-order mark (so spreadsheet programs keep the Chinese intact), CRLF line
    /// ends, one row per unit; each indicator as numerator, denominator and rate ("无数据" on an
    /// empty base).
    public static func csv(_ report: AppraisalReport) -> [UInt8] {
        var lines = [csvHeader.map(csvField).joined(separator: ",")]
        lines += report.units.map { csvRow($0, lead: $0.rank.map(String.init) ?? "") }
        if let rollup = report.rollup {
            lines += ["", csvRollupHeader.map(csvField).joined(separator: ",")]
            lines += rollup.map { csvRow($0, lead: $0.unitsSummed.map(String.init) ?? "") }
        }
        return [0xEF, 0xBB, 0xBF] + Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// Rows as a CSV file of the same kind: BOM, CRLF, every cell guarded as `csvField` does.
    public static func csvDocument(_ rows: [[String]]) -> [UInt8] {
        [0xEF, 0xBB, 0xBF] + Array((rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n").utf8)
    }

    static func csvRow(_ line: UnitAppraisal, lead: String) -> String {
        let i = line.indicators
        var fields = [line.unit, line.name, line.group.chineseName, lead, line.shown("score", format(line.score))]
        for indicator in [i.onTimeSign, i.onTimeReply, i.satisfaction, i.resolution, i.reopen] {
            fields += ["\(indicator.numerator)", "\(indicator.denominator)", percent(indicator.rate)]
        }
        fields += ["\(i.response.numerator)", "\(i.response.denominator)", percent(i.response.rate)].map { line.shown("response", $0) }
        fields += [line.shown("unreasonable_returns", "\(line.unreasonableReturns)"), line.shown("escalations", "\(line.escalations)"),
                   line.shown("overdue", "\(line.overdue)"), line.shown("sent_back", "\(line.sentBack)"),
                   line.shown("repeat_complaints", "\(line.repeatComplaints)")]
        return fields.map(csvField).joined(separator: ",")
    }

    /// One cell. A text that a spreadsheet would read as a formula (= + - @, or a tab or
    /// carriage return before one) gets a leading apostrophe, so `=HYPERLINK(…)` in a unit's
    /// name stays text; numbers stay numbers.
    static func csvField(_ text: String) -> String {
        var cell = text
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Double(text) == nil {
            cell = "'" + text
        }
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }

    static func percent(_ rate: Double?) -> String { rate.map { String(format: "%.2f", $0 * 100) } ?? "无数据" }

    /// A printable A4 page: the ranking of each group as a table and a bar chart of its scores,
    /// drawn as inline SVG. Self-contained: no scripts, fonts or images from anywhere.
    public static func html(_ report: AppraisalReport, title: String) -> String {
        var body = ""
        for group in UnitGroup.allCases {
            let lines = report.units.filter { $0.group == group }
            guard !lines.isEmpty else { continue }
            body += "<section><h2>\(escape(group.chineseName))</h2>\n"
            body += chart(lines)
            body += table(lines, first: "排名") { $0.rank.map(String.init) ?? "—" }
            body += "</section>\n"
        }
        if let rollup = report.rollup, !rollup.isEmpty {
            // Beside the ranking, not in it: each parent with every unit below it.
            body += "<section><h2>分级汇总（本级及下级合计，不排名）</h2>\n"
            body += table(rollup, first: "汇总单位数") { $0.unitsSummed.map(String.init) ?? "—" }
            body += "</section>\n"
        }
        let status = report.revision.map { "第\($0)版，发布于\(Timestamp.format(report.publishedAt ?? report.generatedAt))" }
            ?? "实时数据，生成于\(Timestamp.format(report.generatedAt))，未发布"
        let weights = report.weights.map { w in
            let rates = switch w.schemeInForce {
            case .default:
                "默认方案，权重：及时签收\(format(w.onTimeSign))，按时办结\(format(w.onTimeReply))，解决率\(format(w.resolution))，满意率\(format(w.satisfaction))；"
            case .threeRates:
                w.threeRates.map { t in
                    "“三率”方案，权重：响应率\(format(t.response))，解决率\(format(t.resolution))，满意率\(format(t.satisfaction))；"
                } ?? "“三率”方案；"
            }
            return rates + "不合理退单每件扣\(format(w.unreasonableReturn))分，升级督办每件扣\(format(w.escalation))分。"
        } ?? ""
        return page(title: title, meta: "\(escape(status))。\(weights)“—”为无数据（按满分计）。", namesColumn: 2, body: body)
    }

    /// A printable A4 page: the title, a line of `meta` (HTML) under it, then `body`. Tables are
    /// figures, right-aligned, but for the `namesColumn`-th column. Nothing loaded from anywhere.
    static func page(title: String, meta: String, namesColumn: Int, body: String) -> String {
        """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            @page { size: A4; margin: 15mm; }
            body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif;
                   font-size: 10pt; color: #111; max-width: 180mm; margin: 0 auto; }
            h1 { font-size: 16pt; text-align: center; margin: 0 0 4pt; }
            p.meta { text-align: center; color: #555; margin: 0 0 10pt; }
            h2 { font-size: 12pt; border-bottom: 1px solid #999; margin: 14pt 0 6pt; }
            section { break-inside: avoid; }
            table { border-collapse: collapse; width: 100%; margin-top: 6pt; }
            th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: right; }
            th:nth-child(\(namesColumn)), td:nth-child(\(namesColumn)) { text-align: left; }
            th { background: #eee; }
            svg { display: block; }
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p class="meta">\(meta)</p>
            \(body)</body></html>

            """
    }

    /// The figures of some lines, one row each; `first` names the leading column.
    static func table(_ lines: [UnitAppraisal], first: String, _ lead: (UnitAppraisal) -> String) -> String {
        var html = """
            <table><thead><tr><th>\(first)</th><th>单位</th><th>得分</th><th>及时签收率</th><th>按时办结率</th>\
            <th>满意率</th><th>解决率</th><th>重办率</th><th>响应率</th><th>不合理退单</th><th>升级督办</th><th>超期工单</th>\
            <th>审核退回</th><th>重复诉求</th></tr></thead><tbody>

            """
        for line in lines {
            let i = line.indicators
            let cells = [
                lead(line), escape(line.name), line.shown("score", format(line.score)), cell(i.onTimeSign),
                cell(i.onTimeReply), cell(i.satisfaction), cell(i.resolution), cell(i.reopen), line.shown("response", cell(i.response)),
                line.shown("unreasonable_returns", "\(line.unreasonableReturns)"), line.shown("escalations", "\(line.escalations)"),
                line.shown("overdue", "\(line.overdue)"), line.shown("sent_back", "\(line.sentBack)"),
                line.shown("repeat_complaints", "\(line.repeatComplaints)"),
            ]
            html += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    static func cell(_ indicator: Indicator) -> String {
        indicator.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
    }

    /// A horizontal bar per unit, scores from 0 to 100.
    static func chart(_ lines: [UnitAppraisal]) -> String {
        bars(lines.map { (escape($0.name), $0.score / 100, format($0.score)) }, labelWidth: 170, barWidth: 440, label: "得分")
    }

    /// A horizontal bar per item, `share` of the full width, with its label (HTML) before it and
    /// its figure after.
    static func bars(_ items: [(label: String, share: Double, figure: String)], labelWidth: Int, barWidth: Int, label: String) -> String {
        let barHeight = 16, gap = 4
        let height = items.count * (barHeight + gap) + gap
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barWidth + 60)\" height=\"\(height)\" role=\"img\" aria-label=\"\(label)\">\n"
        for (index, item) in items.enumerated() {
            let y = gap + index * (barHeight + gap)
            let width = Int((item.share * Double(barWidth)).rounded())
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + barHeight - 4)\" font-size=\"9pt\" text-anchor=\"end\">\(item.label)</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"\(barHeight)\" fill=\"#3b6ea5\"/>"
            svg += "<text x=\"\(labelWidth + width + 4)\" y=\"\(y + barHeight - 4)\" font-size=\"9pt\">\(item.figure)</text>\n"
        }
        return svg + "</svg>\n"
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// "泰安市12345热线2026年3月考评通报"
    public static func title(_ period: Period) -> String {
        let when = period.month.map { "\(period.year)年\($0)月" } ?? "\(period.year)年度"
        return "12345政务服务便民热线\(when)考评通报"
    }
}
