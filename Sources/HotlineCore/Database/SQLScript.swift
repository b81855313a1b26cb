/// Splits a migration file into its statements. PostgresNIO speaks only the extended query
/// protocol, which takes one statement at a time, so the semicolons that end statements are
/// found here: outside quotes, dollar-quoted bodies and comments.
enum SQLScript {
    static func statements(_ sql: String) -> [String] {
        let s = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var i = 0
        func flush() {
            let text = String(current).trimmingWhitespace()
            if !text.isEmpty, !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        while i < s.count {
            let c = s[i]
            if c == "-", i + 1 < s.count, s[i + 1] == "-" {
                while i < s.count, s[i] != "\n" { current.append(s[i]); i += 1 }
                continue
            }
            if c == "/", i + 1 < s.count, s[i + 1] == "*" {
                current.append(c); current.append(s[i + 1]); i += 2
                while i < s.count, !(s[i] == "*" && i + 1 < s.count && s[i + 1] == "/") { current.append(s[i]); i += 1 }
                if i < s.count { current.append(s[i]); current.append(s[i + 1]); i += 2 }
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c); i += 1
                while i < s.count {
                    current.append(s[i])
                    if s[i] == c {
                        if i + 1 < s.count, s[i + 1] == c { current.append(s[i + 1]); i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
                continue
            }
            if c == "$", let tag = dollarTag(s, at: i) {
                current.append(contentsOf: tag); i += tag.count
                while i < s.count {
                    if s[i] == "$", Array(s[i..<min(i + tag.count, s.count)]) == tag {
                        current.append(contentsOf: tag); i += tag.count
                        break
                    }
                    current.append(s[i]); i += 1
                }
                continue
            }
            if c == ";" {
                flush()
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        flush()
        return statements
    }

    /// `$$` or `$tag$` starting at `i`, if one does.
    private static func dollarTag(_ s: [Unicode.Scalar], at i: Int) -> [Unicode.Scalar]? {
        var j = i + 1
        while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
        guard j < s.count, s[j] == "$" else { return nil }
        if j > i + 1, ("0"..."9").contains(s[i + 1]) { return nil }  // $1 is a parameter, not a tag
        return Array(s[i...j])
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { String($0).trimmingWhitespace().isEmpty || String($0).trimmingWhitespace().hasPrefix("--") }
    }
}
