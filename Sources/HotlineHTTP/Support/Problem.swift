import Foundation
import HotlineCore
import Hummingbird
import NIOCore

/// An `application/problem+json` document (RFC 9457) with the stable `code` of API.md.
struct Problem: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var errors: [HotlineError.FieldProblem]?
    var requestId: String?
    /// The id of what the problem is about (`secret_already_issued`: what was issued).
    var id: String?

    init(status: HTTPResponse.Status, code: ErrorCode, detail: String,
         errors: [HotlineError.FieldProblem]? = nil, requestId: String? = nil, id: String? = nil) {
        self.type = "/problems/" + code.rawValue
        self.title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code.rawValue
        self.errors = errors.flatMap { $0.isEmpty ? nil : $0 }
        self.requestId = requestId
        self.id = id
    }

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code, errors, id
        case requestId = "request_id"
    }

    func response(headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/problem+json"
        let body = (try? JSONCoding.encoder.encode(self)) ?? Data()
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension HotlineError.Kind {
    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .unsupportedMediaType: .unsupportedMediaType
        case .unprocessable: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .unavailable: .serviceUnavailable
        }
    }
}

/// Turns every error into a problem document. Known errors keep their status and code; an
/// unknown one is logged at error level with the request id and answered with a bare 500 that
/// says nothing of the internals (Hummingbird itself would log it only at debug level).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = HotlineRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.problem(for: error, context: context).response(headers: Self.extraHeaders(for: error))
        }
    }

    static func extraHeaders(for error: any Error) -> HTTPFields {
        if let hotline = error as? HotlineError, hotline.kind == .unauthorized {
            return [.wwwAuthenticate: "Bearer"]
        }
        if let hotline = error as? HotlineError, hotline.kind == .unavailable {
            return [.retryAfter: "1"]
        }
        if let hotline = error as? HotlineError, hotline.kind == .tooManyRequests {
            return [.retryAfter: "60"]
        }
        return [:]
    }

    static func problem(for error: any Error, context: Context) -> Problem {
        switch error {
        case let error as HotlineError:
            if error.kind == .unavailable {
                context.logger.warning("database unavailable", metadata: ["error": "\(DatabaseFailure.loggable(error))"])
            }
            return Problem(status: error.kind.status, code: error.code, detail: error.message, errors: error.fields, id: error.resource)
        case let error as DecodingError:
            return decodingProblem(error)
        case let error as HTTPError:
            return httpProblem(error)
        case is NIOTooManyBytesError:
            return httpProblem(HTTPError(.contentTooLarge))
        default:
            context.logger.error("unexpected error", metadata: ["error": "\(DatabaseFailure.loggable(error))"])
            return Problem(status: .internalServerError, code: .internalError,
                           detail: "something went wrong on our side; quote the request id if you report it",
                           requestId: context.id)
        }
    }

    static func httpProblem(_ error: HTTPError) -> Problem {
        switch error.status {
        case .notFound:
            return Problem(status: .notFound, code: .notFound, detail: "no such resource")
        case .contentTooLarge:
            return Problem(status: .contentTooLarge, code: .payloadTooLarge, detail: "the request body is larger than 1 MiB")
        case .methodNotAllowed:
            return Problem(status: .methodNotAllowed, code: .methodNotAllowed, detail: "this method is not allowed here")
        default:
            // Hummingbird's own messages describe the request, never our internals.
            let code: ErrorCode = error.status.code >= 500 ? .internalError : .badRequest
            return Problem(status: error.status, code: code, detail: error.body ?? error.status.reasonPhrase)
        }
    }

    /// Decoding errors name the field and what was expected, never the value sent.
    static func decodingProblem(_ error: DecodingError) -> Problem {
        func path(_ codingPath: [any CodingKey], _ extra: (any CodingKey)? = nil) -> String {
            var out = ""
            for key in codingPath + (extra.map { [$0] } ?? []) {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : "." + key.stringValue
                }
            }
            return out.isEmpty ? "body" : out
        }
        let problem: HotlineError.FieldProblem
        switch error {
        case .keyNotFound(let key, let context):
            problem = .init(field: path(context.codingPath, key), message: "is required")
        case .valueNotFound(let type, let context):
            problem = .init(field: path(context.codingPath), message: "must not be null (expected \(describe(type)))")
        case .typeMismatch(let type, let context):
            problem = .init(field: path(context.codingPath), message: "must be \(describe(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return Problem(status: .badRequest, code: .malformedJson, detail: "the body is not valid JSON in UTF-8")
            }
            problem = .init(field: path(context.codingPath), message: context.debugDescription)
        @unknown default:
            return Problem(status: .badRequest, code: .malformedJson, detail: "the body could not be read")
        }
        return Problem(status: .badRequest, code: .validationFailed, detail: "\(problem.field): \(problem.message)", errors: [problem])
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "an object"
        }
    }
}
