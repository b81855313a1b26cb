import Foundation
import HotlineCore
import Hummingbird

/// JSON as the API writes and reads it (see `APIJSON`), and responses made of it.
enum JSONCoding {
    static var encoder: JSONEncoder { APIJSON.encoder }
    static var decoder: JSONDecoder { APIJSON.decoder }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

/// A request body read in full, decoded on demand.
struct RequestBody: Sendable {
    let bytes: [UInt8]

    func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        guard !bytes.isEmpty else {
            throw HotlineError(.badRequest, code: .malformedJson, "a JSON body is required")
        }
        // Foundation's decoder would quietly replace invalid bytes with U+FFFD.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw HotlineError(.badRequest, code: .malformedJson, "the body is not valid UTF-8")
        }
        return try JSONCoding.decoder.decode(T.self, from: Data(bytes))
    }

    /// Reads the body (at most the context's upload limit) after checking its media type.
    static func read(_ request: Request, context: HotlineRequestContext) async throws -> RequestBody {
        if let type = request.headers[.contentType] {
            let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard media == "application/json" || media.hasSuffix("+json") else {
                throw HotlineError(.unsupportedMediaType, code: .unsupportedMediaType, "send the body as application/json")
            }
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return RequestBody(bytes: Array(buffer.readableBytesView))
    }
}

extension Request {
    /// A query parameter, percent-decoded; nil when absent.
    func query(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }

    /// `limit` (default 50, at most 500) and `cursor` of a list (API.md, Conventions).
    func page() throws -> (limit: Int, cursor: String?) {
        (try query("limit", in: 1...500) ?? 50, query("cursor"))
    }

    /// A query parameter that must be a whole number in a range.
    func query(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let raw = query(name) else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw HotlineError.validation(field: name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
