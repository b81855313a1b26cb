import Hummingbird
import Logging

/// One line per request: method, route template (never the raw path or query, which may carry
/// a case number with a phone's last digits or search text), status and duration; and the
/// request id back to the client so a report can be matched to the log.
struct RequestLogger: RouterMiddleware {
    typealias Context = HotlineRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.requestId] = context.id
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.info("request", metadata: [
            "method": "\(request.method.rawValue)",
            "route": "\(context.endpointPath ?? "unmatched")",
            "status": "\(response.status.code)",
            "ms": "\(Int(milliseconds.rounded()))",
        ])
        return response
    }
}
