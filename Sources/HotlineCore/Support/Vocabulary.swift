/// A closed set of string values of the API (see API.md, "Vocabulary"). Decoding an unknown
/// value fails with a message that lists the accepted ones.
public protocol Vocabulary: RawRepresentable<String>, CaseIterable, Codable, Sendable, Hashable {}

extension Vocabulary {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.expectation)
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static var expectation: String {
        "must be one of: " + allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// For query parameters and the command line.
    public static func parse(_ raw: String, field: String) throws -> Self {
        guard let value = Self(rawValue: raw) else {
            throw HotlineError.validation(field: field, expectation)
        }
        return value
    }
}
