import Foundation
import HotlineCore
import Hummingbird

/// Open311 GeoReport v2 at /open311/v2 (JSON), and the admins' API keys for it.
struct Open311Routes {
    let services: AppServices

    func register(on router: Router<HotlineRequestContext>, api: RouterGroup<HotlineRequestContext>) {
        let database = services.database
        let clock = services.clock
        let open311 = router.group("open311/v2").add(middleware: Open311Errors())

        open311.get("discovery.json") { request, _ in
            let base = "\(request.head.scheme ?? "http")://\(request.head.authority ?? "127.0.0.1:8080")/open311/v2"
            return try JSONCoding.response(Discovery(
                changeset: "2026-11-29T00:00:00+08:00", contact: "12345政务服务便民热线", keyService: "向系统管理员申请 api_key",
                endpoints: [.init(specification: "http://wiki.open311.org/GeoReport_v2", url: base,
                                  changeset: "2026-11-29T00:00:00+08:00", type: "production", formats: ["application/json"])]
            ))
        }
        open311.get("services.json") { _, context in
            try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Open311.services(on: $0, logger: context.logger)
            })
        }
        open311.get("services/:file") { _, context in
            let code = try Self.stem(context, "file")
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Open311.definition(code, on: $0, logger: context.logger)
            })
        }
        open311.get("requests.json") { request, context in
            var query = Open311.Query()
            query.ids = request.query("service_request_id").map { $0.split(separator: ",").map(String.init) }
            query.serviceCodes = request.query("service_code").map { $0.split(separator: ",").map(String.init) }
            query.start = try request.query("start_date").map { try Self.time($0, "start_date") }
            query.end = try request.query("end_date").map { try Self.time($0, "end_date") }
            query.status = request.query("status")
            let now = clock.now()
            return try JSONCoding.response(try await database.read(logger: context.logger) {
                try await Open311.requests(query, at: now, on: $0, logger: context.logger)
            })
        }
        open311.get("requests/:file") { _, context in
            let number = try Self.stem(context, "file")
            var query = Open311.Query()
            query.ids = [number]
            let now = clock.now()
            let found = try await database.read(logger: context.logger) {
                try await Open311.requests(query, at: now, on: $0, logger: context.logger)
            }
            guard !found.isEmpty else { throw Open311.Failure(404, "service_request_id \(number.prefix(20)) was not found") }
            return try JSONCoding.response(found)
        }
        open311.post("requests.json") { request, context in
            let body = try await RequestBody.read(form: request, context: context)
            var form = Self.form(request.uri.query ?? "")
            form.merge(Self.form(String(decoding: body, as: UTF8.self))) { $1 }
            guard let key = form["api_key"] else { throw Open311.Failure(403, "api_key was not provided") }
            let now = clock.now()
            let fingerprint = Idempotency.fingerprint(method: "POST", path: request.uri.path, body: body + Array((request.uri.query ?? "").utf8))
            let created = try await database.transaction(logger: context.logger) { connection in
                try await Open311.file(form, apiKey: key, idempotencyKey: request.headers[.idempotencyKey], fingerprint: fingerprint,
                                       limits: services.configuration.publicLimits, retention: services.configuration.idempotencyRetention,
                                       at: now, on: connection, logger: context.logger)
            }
            return try JSONCoding.response([created], status: .created)
        }

        api.get("open311/keys") { _, context in
            let staff = try context.signedIn()
            let keys = try await database.read(logger: context.logger) { try await Open311.keys(by: staff, on: $0, logger: context.logger) }
            return try JSONCoding.response(Page(items: keys, nextCursor: nil))
        }
        api.post("open311/keys") { request, context in
            try await services.mutation.run(request, context: context, status: .created, replay: .secret("Open311 key")) { work in
                let key = try await Open311.createKey(try work.body.decode(Open311.NewKey.self), by: work.staff, at: work.now,
                                                      on: work.connection, logger: work.logger)
                return .init(reference: "\(key.id)", value: key)
            }
        }
        api.delete("open311/keys/:id") { _, context in
            let staff = try context.signedIn()
            guard let id = Int64(try context.parameters.require("id")), id > 0 else { throw HotlineError.notFound("key") }
            let now = clock.now()
            try await database.transaction(logger: context.logger) {
                try await Open311.revokeKey(id, by: staff, at: now, on: $0, logger: context.logger)
            }
            return Response(status: .noContent)
        }
    }

    struct Discovery: Encodable {
        struct Endpoint: Encodable {
            let specification, url, changeset, type: String
            let formats: [String]
        }
        let changeset, contact: String
        let keyService: String
        let endpoints: [Endpoint]

        enum CodingKeys: String, CodingKey {
            case changeset, contact, endpoints
            case keyService = "key_service"
        }
    }

    /// `utilities.water.json` → `utilities.water`; only JSON is served.
    static func stem(_ context: HotlineRequestContext, _ name: String) throws -> String {
        let file = try context.parameters.require(name)
        guard file.hasSuffix(".json"), file.count > 5 else { throw Open311.Failure(404, "only .json is served") }
        return String(file.dropLast(5))
    }

    static func time(_ text: String, _ field: String) throws -> Date {
        guard let date = Timestamp.parse(text) else { throw Open311.Failure(400, "\(field) must be a W3C date-time, like 2026-03-01T00:00:00Z") }
        return date
    }

    /// `a=1&b=x+y` as GeoReport clients send it (form encoding: '+' is a space).
    static func form(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let key = parts.first.flatMap(decode), !key.isEmpty else { continue }
            out[key] = parts.count > 1 ? (decode(parts[1]) ?? "") : ""
        }
        return out
    }
}

/// GeoReport's error form, `[{"code": 400, "description": "…"}]`, for every failure under /open311.
struct Open311Errors: RouterMiddleware {
    typealias Context = HotlineRequestContext

    struct Item: Encodable {
        let code: Int
        let description: String
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let failure as Open311.Failure {
            return try respond(failure.status, failure.description)
        } catch let error as HotlineError where error.kind != .unavailable {
            return try respond(error.kind.status.code, error.fields.first.map { "\($0.field): \($0.message)" } ?? error.message)
        } catch let error as HTTPError {
            return try respond(error.status.code, error.body ?? error.status.reasonPhrase)
        }
        // Anything else (a database that is down, a fault of ours) goes on to ProblemMiddleware.
    }

    func respond(_ status: Int, _ description: String) throws -> Response {
        try JSONCoding.response([Item(code: status, description: description)], status: .init(code: status))
    }
}

extension RequestBody {
    /// A form body (GeoReport POSTs `application/x-www-form-urlencoded`), at most the upload limit.
    static func read(form request: Request, context: HotlineRequestContext) async throws -> [UInt8] {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return Array(buffer.readableBytesView)
    }
}
