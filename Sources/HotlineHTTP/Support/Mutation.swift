import Foundation
import HTTPTypes
import HotlineCore
import Hummingbird
import PostgresNIO

/// Runs a change in one transaction and answers it, honouring `Idempotency-Key` (DOMAIN §13):
/// the key is claimed in the same transaction as the change, and the replay record keeps the
/// status and the id of what was made or changed, never a body. A retry rebuilds its answer
/// from that id as its caller may see it then, so no name, phone, token or key is ever stored
/// to be replayed.
struct Mutation: Sendable {
    let database: Database
    let clock: any HotlineClock
    /// How long a replay record is kept (the sweep removes older ones).
    let retention: Duration

    struct Work: Sendable {
        let staff: Staff
        let body: RequestBody
        let now: Date
        let connection: PostgresConnection
        let logger: Logger
        var parameters: Parameters? = nil
        /// The `{id}` of a step's path when no route gave it (a workbench form names it).
        var stepId: String? = nil
    }

    /// What a change answers, and the id of what it made or changed, which a retry rebuilds from.
    struct Made<Value: Encodable & Sendable>: Sendable {
        let reference: String
        let value: Value
        /// Another status than the route's (a repeat that found what it would have made: 200).
        var status: HTTPResponse.Status? = nil
    }

    /// How a retry with the same key answers.
    struct Replay<Value: Encodable & Sendable>: Sendable {
        let rebuild: @Sendable (_ reference: String, _ work: Work) async throws -> Value

        /// The answer as the caller may see what the reference names now.
        static func rebuild(_ rebuild: @escaping @Sendable (_ reference: String, _ work: Work) async throws -> Value) -> Replay {
            Replay(rebuild: rebuild)
        }

        /// The first answer showed a secret (a token, an API key), which is shown once: a retry
        /// is told what was made, to revoke it and issue anew.
        static func secret(_ what: String) -> Replay {
            Replay { reference, _ in
                throw HotlineError(.conflict, code: .secretAlreadyIssued,
                                   "\(what) \(reference) was issued for this Idempotency-Key and is shown only once; "
                                       + "revoke it and issue a new one", resource: reference)
            }
        }
    }

    func run<Value: Encodable & Sendable>(
        _ request: Request, context: HotlineRequestContext, status: HTTPResponse.Status = .ok,
        replay: Replay<Value>, unreplayed: ((RequestBody) -> Bool)? = nil, _ change: (Work) async throws -> Made<Value>
    ) async throws -> Response {
        let staff = try context.signedIn()
        let body = try await RequestBody.read(request, context: context)
        // A body holding a password is not claimed under its key: the replay record's fingerprint,
        // a fast hash of the body, would be a fast hash of the password. Setting it again is harmless.
        let key = unreplayed?(body) == true ? nil : request.headers[.idempotencyKey]
        let scope = "user:\(staff.id)"
        let logger = context.logger
        let fingerprint = Idempotency.fingerprint(method: request.method.rawValue, path: request.uri.path, body: body.bytes)
        let now = clock.now()
        let (code, bytes, replayed) = try await database.transaction(logger: logger) { connection in
            let work = Work(staff: staff, body: body, now: now, connection: connection, logger: logger)
            if let key, let stored = try await Idempotency.claim(
                scope: scope, key: key, fingerprint: fingerprint, at: now, keptFor: retention, on: connection, logger: logger
            ) {
                let value = try await replay.rebuild(stored.reference, work)
                return (stored.status, Array(try JSONCoding.encoder.encode(value)), true)
            }
            let made = try await change(work)
            let answered = made.status ?? status
            if let key {
                try await Idempotency.complete(scope: scope, key: key, status: answered.code, reference: made.reference,
                                               on: connection, logger: logger)
            }
            return (answered.code, Array(try JSONCoding.encoder.encode(made.value)), false)
        }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if replayed { headers[.idempotencyReplayed] = "true" }
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A step on a case: it answers the case as the caller may now see it, and so does a retry.
    func onCase(
        _ number: String, _ request: Request, context: HotlineRequestContext, status: HTTPResponse.Status = .ok,
        _ step: (Work) async throws -> Void
    ) async throws -> Response {
        try await run(request, context: context, status: status, replay: .rebuild { number, work in
            try await CaseQueries.view(number, for: work.staff, at: work.now, on: work.connection, logger: work.logger)
        }) { work in
            try await step(work)
            return Made(reference: number,
                        value: try await CaseQueries.view(number, for: work.staff, at: work.now, on: work.connection, logger: work.logger))
        }
    }

    /// A change that is done again on every retry, whatever its key: a contact reveal is a new,
    /// audited reveal each time, and what it reveals is kept nowhere but the case's contact.
    func everyTime<Value: Encodable & Sendable>(
        _ request: Request, context: HotlineRequestContext, _ work: (Work) async throws -> Value
    ) async throws -> Response {
        let staff = try context.signedIn()
        let body = try await RequestBody.read(request, context: context)
        let now = clock.now()
        let logger = context.logger
        let value = try await database.transaction(logger: logger) { connection in
            try await work(Work(staff: staff, body: body, now: now, connection: connection, logger: logger))
        }
        return try JSONCoding.response(value)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotencyReplayed = Self("Idempotency-Replayed")!
    static let requestId = Self("X-Request-Id")!
}
