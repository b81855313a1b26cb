import Foundation

/// Checks shared by every free-text field. Lengths count Unicode code points, as PostgreSQL's
/// `char_length` does, so the application and the table constraints agree.
public struct FieldChecker {
    public private(set) var problems: [HotlineError.FieldProblem] = []

    public init() {}

    public mutating func fail(_ field: String, _ message: String) {
        problems.append(.init(field: field, message: message))
    }

    /// Trims surrounding whitespace; nil (and a problem, if required) when empty. A line break
    /// arrives as CRLF from a browser's form: it is kept as LF.
    @discardableResult
    public mutating func text(
        _ value: String?, field: String, max: Int, required: Bool = true, multiline: Bool = false
    ) -> String? {
        guard let value else {
            if required { fail(field, "is required") }
            return nil
        }
        let trimmed = multiline ? Self.unifyingLineBreaks(value).trimmingWhitespace() : value.trimmingWhitespace()
        if trimmed.isEmpty {
            if required { fail(field, "must not be empty") }
            return nil
        }
        if trimmed.unicodeScalars.count > max {
            fail(field, "must be at most \(max) characters")
            return nil
        }
        if let bad = Self.firstRefused(in: trimmed, multiline: multiline) {
            fail(field, bad)
            return nil
        }
        return trimmed
    }

    /// A citizen's phone, normalised; nil, and a problem, if it is not one. Absent is no problem.
    public mutating func phone(_ value: String?, field: String) -> String? {
        guard let value else { return nil }
        if let normalised = Contact.normalisePhone(value) { return normalised }
        fail(field, "must be a phone number: 5–20 digits, an optional leading +")
        return nil
    }

    /// A point: both coordinates in range, or neither. `object` names the fields' object
    /// (`location` → `location.latitude`), or nil for top-level fields.
    @discardableResult
    public mutating func point(latitude: Double?, longitude: Double?, in object: String? = nil) -> (latitude: Double, longitude: Double)? {
        let prefix = object.map { "\($0)." } ?? ""
        switch (latitude, longitude) {
        case (nil, nil):
            return nil
        case let (lat?, lon?):
            let before = problems.count
            if !(lat.isFinite && (-90...90).contains(lat)) { fail(prefix + "latitude", "must be between -90 and 90") }
            if !(lon.isFinite && (-180...180).contains(lon)) { fail(prefix + "longitude", "must be between -180 and 180") }
            return problems.count == before ? (lat, lon) : nil
        default:
            fail(object ?? "latitude", "give latitude and longitude together, or neither")
            return nil
        }
    }

    static func unifyingLineBreaks(_ text: String) -> String {
        guard text.unicodeScalars.contains("\r") else { return text }
        return text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }

    /// What no text field may hold, said in the words of the problem document: C0 and C1 control
    /// characters (but tab, and line feed where the field has lines), bidirectional overrides and
    /// isolates, which can make a text read otherwise than it is stored (U+202A–U+202E,
    /// U+2066–U+2069), and invisible zero-width characters (U+200B–U+200F, U+2060–U+2064, U+FEFF),
    /// which can hide a difference between two texts that look the same. A zero-width joiner
    /// inside an emoji sequence (👨‍👩‍👧) is part of the emoji and stays.
    static func firstRefused(in text: String, multiline: Bool) -> String? {
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) {
                if v == 0x09 || (v == 0x0A && multiline) { continue }
                if v == 0x0A { return "must be a single line" }
                return "must not contain control characters (\(codePoint(v)))"
            }
            if (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) {
                return "must not contain bidirectional override characters (\(codePoint(v)))"
            }
            if (0x200B...0x200F).contains(v) || (0x2060...0x2064).contains(v) || v == 0xFEFF {
                if v == 0x200D, index > 0, index + 1 < scalars.count,
                   isEmoji(scalars[index - 1]) || scalars[index - 1].value == 0xFE0F, isEmoji(scalars[index + 1]) {
                    continue
                }
                return "must not contain zero-width characters (\(codePoint(v)))"
            }
        }
        return nil
    }

    private static func isEmoji(_ scalar: Unicode.Scalar) -> Bool {
        // Digits, # and * are emoji bases too (keycaps), never joined.
        scalar.value > 0xFF && scalar.properties.isEmoji
    }

    private static func codePoint(_ value: UInt32) -> String {
        "U+" + String(format: "%04X", value)
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
