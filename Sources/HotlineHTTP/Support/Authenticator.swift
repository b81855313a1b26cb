import HotlineCore
import Hummingbird

/// Bearer tokens (API.md): `Authorization: Bearer <token>` on everything under /api/v1.
struct Authenticator: RouterMiddleware {
    typealias Context = HotlineRequestContext
    let database: Database
    let clock: any HotlineClock

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw HotlineError(.unauthorized, code: .unauthorized, "sign in with a bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HotlineError(.unauthorized, code: .unauthorized, "the Authorization header must be 'Bearer <token>'")
        }
        let token = String(parts[1]).trimmingWhitespace()
        let logger = context.logger
        let now = clock.now()
        guard let staff = try await database.read(logger: logger, { connection in
            try await Users.authenticate(token: token, at: now, on: connection, logger: logger)
        }) else {
            throw HotlineError(.unauthorized, code: .unauthorized, "the token is unknown, expired or revoked, or its user deactivated")
        }
        var context = context
        context.staff = staff
        context.logger[metadataKey: "user"] = "\(staff.id)"
        return try await next(request, context)
    }
}
