import Foundation

/// The hotspots as a spreadsheet and as a printable page, as the appraisal's (ReportFormats).
public enum HotspotFormats {
    static let csvHeader = [
        "分类代码", "分类", "区域代码", "区域", "本期件数", "上期件数", "环比(%)", "去年同期件数", "同比(%)",
        "满意数", "满意率基数", "满意率(%)", "重复来电数", "重复来电率(%)",
    ]

    /// UTF-8 with a byte-order mark and CRLF line ends, one row per cell; a change against a
    /// period with no case reads "无数据".
    public static func csv(_ report: HotspotReport) -> [UInt8] {
        var lines = [csvHeader.map(ReportFormats.csvField).joined(separator: ",")]
        for cell in report.cells {
            let fields = [
                cell.category ?? "", cell.categoryName ?? "", cell.region ?? "", cell.regionName ?? "",
                "\(cell.count)", "\(cell.previous)", ReportFormats.percent(cell.change), "\(cell.yearBefore)",
                ReportFormats.percent(cell.yearChange),
                "\(cell.satisfaction.numerator)", "\(cell.satisfaction.denominator)", ReportFormats.percent(cell.satisfaction.rate),
                "\(cell.repeatShare.numerator)", ReportFormats.percent(cell.repeatShare.rate),
            ]
            lines.append(fields.map(ReportFormats.csvField).joined(separator: ","))
        }
        return [0xEF, 0xBB, 0xBF] + Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    static func name(_ cell: HotspotReport.Cell) -> String {
        [cell.categoryName, cell.regionName].compactMap { $0 }.joined(separator: " · ")
    }

    static func change(_ rate: Double?) -> String {
        rate.map { String(format: "%+.1f%%", $0 * 100) } ?? "新增"
    }

    /// A printable page: the cells with most cases as bars, the trend of the five largest as
    /// lines, the fastest rising, the candidates and the whole table. Inline SVG, no script,
    /// nothing loaded from anywhere.
    public static func html(_ report: HotspotReport, title: String) -> String {
        let e = ReportFormats.escape
        var body = "<section><h2>件数最多的诉求（前十）</h2>\n" + bars(Array(report.cells.prefix(10))) + "</section>\n"
        body += "<section><h2>近\(report.trendPeriods.count)期走势（件数最多的五项）</h2>\n"
            + lines(Array(report.cells.prefix(5)), periods: report.trendPeriods) + "</section>\n"
        body += "<section><h2>上升最快（本期不少于\(Hotspots.smallestCell)件）</h2>\n"
        if report.rising.isEmpty {
            body += "<p>本期没有不少于\(Hotspots.smallestCell)件的诉求。</p>\n"
        } else {
            body += "<ol>" + report.rising.map { "<li>\(e(name($0)))：\($0.count)件，环比\(change($0.change))</li>" }.joined() + "</ol>\n"
        }
        body += "</section>\n<section><h2>“每月一题”候选（连续三期位列前十）</h2>\n"
        let measureNames = ["volume": "件数", "repeat_share": "重复来电率", "dissatisfaction": "不满意率"]
        if report.candidates.isEmpty {
            body += "<p>无。</p>\n"
        } else {
            body += "<ul>" + report.candidates.map { c in
                let label = [c.categoryName, c.regionName].compactMap { $0 }.joined(separator: " · ")
                return "<li>\(e(label))：\(c.measures.map { measureNames[$0] ?? $0 }.joined(separator: "、"))</li>"
            }.joined() + "</ul>\n"
        }
        body += "</section>\n<section><h2>明细</h2>\n<table><thead><tr><th>诉求</th><th>本期</th><th>上期</th><th>环比</th>"
            + "<th>去年同期</th><th>同比</th><th>满意率</th><th>重复来电率</th></tr></thead><tbody>\n"
        for cell in report.cells {
            let cells = [e(name(cell)), "\(cell.count)", "\(cell.previous)", change(cell.change), "\(cell.yearBefore)",
                         change(cell.yearChange), ReportFormats.cell(cell.satisfaction), ReportFormats.cell(cell.repeatShare)]
            body += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        body += "</tbody></table></section>\n"
        let meta = "本期\(report.total)件，上期（\(report.previousPeriod)）\(report.totalPrevious)件，"
            + "去年同期（\(report.yearBeforePeriod)）\(report.totalYearBefore)件。生成于\(Timestamp.format(report.generatedAt))。"
        return ReportFormats.page(title: title, meta: e(meta), namesColumn: 1, body: body)
    }

    /// A horizontal bar per cell, scaled to the largest.
    static func bars(_ cells: [HotspotReport.Cell]) -> String {
        let largest = Double(max(cells.map(\.count).max() ?? 1, 1))
        return ReportFormats.bars(cells.map { (ReportFormats.escape(name($0)), Double($0.count) / largest, "\($0.count)") },
                                  labelWidth: 220, barWidth: 390, label: "件数")
    }

    static let colours = ["#3b6ea5", "#c0504d", "#9bbb59", "#8064a2", "#f79646"]

    /// A line per cell over the trend's periods, with a legend.
    static func lines(_ cells: [HotspotReport.Cell], periods: [String]) -> String {
        let width = 640, height = 220, left = 40, right = 20, top = 10, bottom = 30
        let largest = max(cells.flatMap(\.trend).max() ?? 1, 1)
        let step = periods.count > 1 ? Double(width - left - right) / Double(periods.count - 1) : 0
        func x(_ i: Int) -> Int { left + Int((Double(i) * step).rounded()) }
        func y(_ n: Int) -> Int { top + Int((Double(height - top - bottom) * (1 - Double(n) / Double(largest))).rounded()) }
        let legend = cells.count * 16
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height + legend)\" role=\"img\" aria-label=\"走势\">\n"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + 8)\" font-size=\"8pt\" text-anchor=\"end\">\(largest)</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(height - bottom)\" font-size=\"8pt\" text-anchor=\"end\">0</text>\n"
        for (i, period) in periods.enumerated() {
            svg += "<text x=\"\(x(i))\" y=\"\(height - bottom + 14)\" font-size=\"8pt\" text-anchor=\"middle\">\(ReportFormats.escape(period))</text>"
        }
        svg += "\n"
        for (index, cell) in cells.enumerated() {
            let colour = colours[index % colours.count]
            let points = cell.trend.enumerated().map { "\(x($0.offset)),\(y($0.element))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>"
            let ly = height + index * 16 + 4
            svg += "<rect x=\"\(left)\" y=\"\(ly)\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(left + 16)\" y=\"\(ly + 9)\" font-size=\"9pt\">\(ReportFormats.escape(name(cell)))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// "12345政务服务便民热线2026年3月诉求热点"
    public static func title(_ period: HotspotPeriod) -> String {
        "12345政务服务便民热线\(period.chineseName)诉求热点"
    }
}
