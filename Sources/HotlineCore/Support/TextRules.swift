/// Checks shared by every free-text field. Lengths count Unicode code points, as PostgreSQL's
/// `char_length` does, so the application and the table constraints agree.
public struct FieldChecker {
    public private(set) var problems: [HotlineError.FieldProblem] = []

    public init() {}

    public mutating func fail(_ field: String, _ message: String) {
        problems.append(.init(field: field, message: message))
    }

    /// Trims surrounding whitespace; nil (and a problem, if required) when empty.
    @discardableResult
    public mutating func text(
        _ value: String?, field: String, max: Int, required: Bool = true, multiline: Bool = false
    ) -> String? {
        guard let value else {
            if required { fail(field, "is required") }
            return nil
        }
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty {
            if required { fail(field, "must not be empty") }
            return nil
        }
        if trimmed.unicodeScalars.count > max {
            fail(field, "must be at most \(max) characters")
            return nil
        }
        // PostgreSQL cannot store U+0000; other control characters are never meant.
        let allowed: Set<UInt32> = multiline ? [0x09, 0x0A, 0x0D] : [0x09]
        if trimmed.unicodeScalars.contains(where: { ($0.value < 0x20 || $0.value == 0x7F) && !allowed.contains($0.value) }) {
            fail(field, multiline ? "must not contain control characters" : "must be a single line without control characters")
            return nil
        }
        return trimmed
    }

    public func check() throws {
        if !problems.isEmpty { throw HotlineError.validation(problems) }
    }
}

extension String {
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
