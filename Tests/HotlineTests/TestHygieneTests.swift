import Foundation
import Testing

/// Swift 6.3.1 miscompiles a closure literal written inside `#expect(…)` or `#require(…)`
/// within another closure: a later closure of the same type in that scope runs the macro's
/// closure body instead of its own (seen here: `xs.filter { $0 != 200 }` after
/// `#expect(xs.filter { $0 == 200 }.count == 1)` kept the 200s). A test could then pass for the
/// wrong reason, so no test writes a closure inside those macros: it computes the value first.
@Suite("Test hygiene") struct TestHygieneTests {
    @Test func noClosureLiteralInsideExpectOrRequire() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let files = try FileManager.default.subpathsOfDirectory(atPath: tests.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10)
        var offending: [String] = []
        for file in files {
            let text = try String(contentsOf: tests.appendingPathComponent(file), encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if line.drop(while: { $0 == " " }).hasPrefix("//") { continue }
                guard let start = line.range(of: "#expect(") ?? line.range(of: "#require(") else { continue }
                let argument = Self.argument(line[start.upperBound...])
                // `#expect(throws: …) { … }` takes its body as a trailing closure: that form is the API.
                if argument.hasPrefix("throws:") { continue }
                // A closure's shorthand argument anywhere in the macro (`{ $0 … }`, `.map { String($0) }`).
                if argument.contains("$0") || argument.contains("$1") || argument.contains(" in ") && argument.contains("{") {
                    offending.append("\(file):\(index + 1)")
                }
            }
        }
        #expect(offending.isEmpty, "compute these values before the macro: \(offending)")
    }

    /// The macro's argument on its line, without its string literals: up to the parenthesis
    /// that closes it (a closure after it, `#require(x).filter { … }`, is outside).
    static func argument(_ rest: Substring) -> String {
        var depth = 1
        var inString = false
        var previous: Character = " "
        var code = ""
        for character in rest {
            if character == "\"" && previous != "\\" {
                inString.toggle()
            } else if !inString {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1; if depth == 0 { return code } }
                code.append(character)
            }
            previous = character
        }
        return code
    }
}
