/// A failure the caller can act on. Every one carries a stable machine `code` and a message
/// for people; the HTTP layer maps `kind` to a status and renders a problem document.
/// Messages name fields, never the values sent: a value may be a citizen's phone number.
public struct HotlineError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case badRequest        // 400: malformed or invalid input
        case unauthorized      // 401: no or bad credentials
        case forbidden         // 403: a role or unit that may not
        case notFound          // 404: unknown, or not visible to this caller
        case conflict          // 409: the state (or a concurrent change) forbids it
        case unsupportedMediaType  // 415: a body that is not JSON
        case unprocessable     // 422: well-formed, but against a rule
        case tooManyRequests   // 429: slow down
        case unavailable       // 503: the database cannot be reached right now
    }

    public struct FieldProblem: Sendable, Equatable, Codable {
        public let field: String
        public let message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public let kind: Kind
    public let code: ErrorCode
    public let message: String
    public var fields: [FieldProblem]
    /// The id of what the refusal is about, where the caller needs it (what was already issued).
    public var resource: String?

    public init(_ kind: Kind, code: ErrorCode, _ message: String, fields: [FieldProblem] = [], resource: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.fields = fields
        self.resource = resource
    }
}

extension HotlineError {
    public static func validation(_ fields: [FieldProblem]) -> HotlineError {
        let summary = fields.count == 1
            ? "\(fields[0].field): \(fields[0].message)"
            : "\(fields.count) fields are invalid"
        return HotlineError(.badRequest, code: .validationFailed, summary, fields: fields)
    }

    public static func validation(field: String, _ message: String) -> HotlineError {
        validation([FieldProblem(field: field, message: message)])
    }

    public static func notFound(_ what: String) -> HotlineError {
        HotlineError(.notFound, code: .notFound, "\(what) not found")
    }

    public static func forbidden(_ message: String = "your role may not do this") -> HotlineError {
        HotlineError(.forbidden, code: .forbidden, message)
    }

    public static func unknownReference(_ code: ErrorCode, _ message: String) -> HotlineError {
        HotlineError(.unprocessable, code: code, message)
    }

    public static func invalidTransition(current: String, action: String) -> HotlineError {
        HotlineError(.conflict, code: .invalidTransition, "cannot \(action) a case that is \(current)")
    }
}

/// How a command line shows a refusal: its message and code, as a client reads them (messages
/// name fields, never values).
extension HotlineError: CustomStringConvertible {
    public var description: String { "\(message) (\(code.rawValue))" }
}
