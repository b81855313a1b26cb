import Foundation
import HTTPTypes
import HotlineCore
import Hummingbird
import PostgresNIO

/// Runs a change in one transaction and answers it, honouring `Idempotency-Key`: the key is
/// claimed in the same transaction as the change, and the answer given is the answer stored.
struct Mutation: Sendable {
    let database: Database
    let clock: any HotlineClock

    struct Work: Sendable {
        let staff: Staff
        let body: RequestBody
        let now: Date
        let connection: PostgresConnection
        let logger: Logger
        var parameters: Parameters? = nil
    }

    func run(
        _ request: Request, context: HotlineRequestContext, status: HTTPResponse.Status = .ok,
        _ work: (Work) async throws -> some Encodable & Sendable
    ) async throws -> Response {
        let staff = try context.signedIn()
        let body = try await RequestBody.read(request, context: context)
        let key = request.headers[.idempotencyKey]
        let scope = "user:\(staff.id)"
        let logger = context.logger
        let fingerprint = Idempotency.fingerprint(method: request.method.rawValue, path: request.uri.path, body: body.bytes)
        let now = clock.now()
        let (code, bytes, replayed) = try await database.transaction(logger: logger) { connection in
            if let key, let stored = try await Idempotency.claim(
                scope: scope, key: key, fingerprint: fingerprint, at: now, on: connection, logger: logger
            ) {
                return (stored.status, stored.body, true)
            }
            let value = try await work(Work(staff: staff, body: body, now: now, connection: connection, logger: logger))
            let bytes = Array(try JSONCoding.encoder.encode(value))
            if let key {
                try await Idempotency.complete(scope: scope, key: key, status: status.code, body: bytes,
                                               on: connection, logger: logger)
            }
            return (status.code, bytes, false)
        }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if replayed { headers[.idempotencyReplayed] = "true" }
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotencyReplayed = Self("Idempotency-Replayed")!
    static let requestId = Self("X-Request-Id")!
}
