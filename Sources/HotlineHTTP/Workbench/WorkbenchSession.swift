import Foundation
import HotlineCore
import Hummingbird

/// The workbench's pages behind sign-in: the session cookie gives who is signed in (else the
/// sign-in page), and every form posted must carry that session's CSRF token (else 403, and
/// nothing changes). SameSite=Strict already keeps the cookie off other sites' requests; the
/// token holds where a browser does not honour it.
struct WorkbenchSession: RouterMiddleware {
    typealias Context = HotlineRequestContext
    static let cookie = "hotline_session"
    let database: Database
    let clock: any HotlineClock
    let pages: WorkbenchPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let logger = context.logger
        let now = clock.now()
        guard let secret = request.cookies[Self.cookie]?.value, let signedIn = try await database.read(logger: logger, { connection in
            try await Sessions.find(secret: secret, at: now, on: connection, logger: logger)
        }) else {
            if request.method == .get || request.method == .head {
                return Response(status: .seeOther, headers: [.location: "/workbench/login"])
            }
            throw HotlineError(.unauthorized, code: .unauthorized, "会话已结束，请重新登录后再提交")
        }
        var context = context
        context.workbenchUser = signedIn
        context.staff = signedIn.staff
        context.logger[metadataKey: "user"] = "\(signedIn.staff.id)"
        var request = request
        if request.method != .get && request.method != .head {
            let form = try await WorkbenchForm.read(&request, context: context)
            guard Sessions.checks(form["csrf"], against: signedIn.csrf) else {
                logger.warning("workbench form without its CSRF token refused", metadata: ["user": "\(signedIn.staff.id)"])
                throw HotlineError(.forbidden, code: .forbidden, "表单已失效（缺少或不符的校验码），请刷新页面后重新提交")
            }
            context.form = form
        }
        do {
            return try await next(request, context)
        } catch {
            // Here, not in the guard, so that the page keeps its menu and its sign-out.
            return WorkbenchGuard.errorPage(error, request: request, context: context, pages: pages)
        }
    }
}

/// Every answer under /workbench: the security headers, and an error as a page in Chinese
/// rather than a problem document.
struct WorkbenchGuard: RouterMiddleware {
    typealias Context = HotlineRequestContext
    let pages: WorkbenchPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.errorPage(error, request: request, context: context, pages: pages)
        }
        // A page may narrow its own policy (the printable reports style themselves inline).
        for field in WorkbenchPages.securityHeaders where response.headers[field.name] == nil {
            response.headers[field.name] = field.value
        }
        return response
    }

    static func errorPage(_ error: any Error, request: Request, context: Context, pages: WorkbenchPages) -> Response {
        let problem = ProblemMiddleware.problem(for: error, context: context)
        // Back to a workbench page only: a Referer cannot make this link lead elsewhere.
        let referred = request.headers[.referer].flatMap { URL(string: $0)?.path } ?? ""
        let back = referred.hasPrefix("/workbench/") && !referred.hasPrefix("//") ? referred : "/workbench/"
        let status = HTTPResponse.Status(code: problem.status)
        let fields = (problem.errors ?? []).map { ["field": $0.field, "message": WorkbenchMessages.chinese($0.message)] }
        return pages.page("error", title: heading(status),
                          ["problem": problem.detail, "fields": fields, "hasFields": !fields.isEmpty, "back": back],
                          for: context.workbenchUser, status: status,
                          headers: ProblemMiddleware.extraHeaders(for: error).filter { $0.name != .wwwAuthenticate })
    }

    static func heading(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400, 422: "提交的内容有误"
        case 401: "请先登录"
        case 403: "无权进行此操作"
        case 404: "找不到该页面或案件"
        case 409: "案件状态已变化"
        case 413: "提交的内容过大"
        case 415: "提交方式不正确"
        case 429: "操作过于频繁"
        case 503: "服务暂时不可用"
        default: "出错了"
        }
    }
}
