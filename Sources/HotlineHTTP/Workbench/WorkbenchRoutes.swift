import Foundation
import HotlineCore
import Hummingbird

/// The workbench (DOMAIN §16, API.md "Workbench"): sign-in, sign-out and the pages of each role,
/// on the same domain operations as the REST surface.
struct WorkbenchRoutes {
    let services: AppServices
    let pages: WorkbenchPages
    let clientAddress: ClientAddress

    /// Sign-in attempts counted per login and per address block, each minute, across instances.
    static let attemptsPerLogin = 5
    static let attemptsPerAddress = 30
    /// The sign-in form's own CSRF cookie (there is no session yet to tie a token to).
    static let signInCookie = "hotline_signin"
    static let reportPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    func register(on router: Router<HotlineRequestContext>) {
        let workbench = router.group("workbench").add(middleware: WorkbenchGuard(pages: pages))
        workbench.get("static/:file") { _, context in
            try pages.asset(try context.parameters.require("file"))
        }
        workbench.get("login") { _, _ in
            signInPage(login: nil, problem: nil, status: .ok)
        }
        workbench.post("login") { request, context in
            try await signIn(request, context: context)
        }
        let signed = workbench.group().add(middleware: WorkbenchSession(database: services.database, clock: services.clock, pages: pages))
        signed.get { _, context in
            try home(context)
        }
        CasePages(services: services, pages: pages).register(on: signed)
        KnowledgePages(services: services, pages: pages).register(on: signed)
        // The printable reports, as the API serves them, styled inline: their own policy allows
        // inline style and nothing else.
        let reports = AppraisalRoutes(services: services)
        signed.get("appraisals/:period") { request, context in
            var response = try await reports.appraisal(request, context)
            response.headers[.contentSecurityPolicy] = Self.reportPolicy
            return response
        }
        signed.get("hotspots") { request, context in
            var response = try await reports.hotspots(request, context)
            response.headers[.contentSecurityPolicy] = Self.reportPolicy
            return response
        }
        signed.post("logout") { _, context in
            let session = try context.signedInToWorkbench().session
            let now = services.clock.now()
            try await services.database.transaction(logger: context.logger) {
                try await Sessions.end(session, at: now, on: $0, logger: context.logger)
            }
            var response = Response(status: .seeOther, headers: [.location: "/workbench/login"])
            response.setCookie(pages.cookie(WorkbenchSession.cookie, "", path: "/workbench", maxAge: 0))
            return response
        }
    }

    /// The sign-in form, with a fresh CSRF pair: the cookie and the field must match when posted.
    func signInPage(login: String?, problem: String?, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        let token = Secrets.random(prefix: "")
        // Only what is there: Mustache takes an absent value, not a nil inside Any, as false.
        var values: [String: Any] = ["csrf": token]
        if let login, !login.isEmpty { values["login"] = login }
        if let problem { values["problem"] = problem }
        var response = pages.page("login", title: "登录", values, status: status, headers: headers)
        response.setCookie(pages.cookie(Self.signInCookie, token, path: "/workbench/login", maxAge: 3600))
        return response
    }

    func signIn(_ request: Request, context: HotlineRequestContext) async throws -> Response {
        var request = request
        let form = try await WorkbenchForm.read(&request, context: context)
        let login = (form["login"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        guard let expected = request.cookies[Self.signInCookie]?.value, Sessions.checks(form["csrf"], against: expected) else {
            return signInPage(login: login, problem: "登录表单已失效，请重新输入密码后登录。", status: .forbidden)
        }
        let password = form["password"] ?? ""
        guard !login.isEmpty, login.utf8.count <= 64, !password.isEmpty, password.utf8.count <= 1024 else {
            return signInPage(login: login, problem: "请填写登录名和密码。", status: .badRequest)
        }
        let logger = context.logger
        let now = services.clock.now()
        let address = RateLimits.block(of: clientAddress.of(request, context))
        // Counted before the password is checked: guessing costs an attempt whether or not it is right.
        let allowed = try await services.database.transaction(logger: logger) { connection in
            let byLogin = try await RateLimits.allow("signin:" + login, limit: Self.attemptsPerLogin, at: now, on: connection, logger: logger)
            let byAddress = try await RateLimits.allow("signin-from:" + address, limit: Self.attemptsPerAddress, at: now,
                                                       on: connection, logger: logger)
            return byLogin && byAddress
        }
        guard allowed else {
            logger.warning("sign-in attempts limited", metadata: ["from": "\(address)"])
            return signInPage(login: login, problem: "登录尝试过于频繁，请一分钟后再试。", status: .tooManyRequests,
                              headers: [.retryAfter: "60"])
        }
        guard let user = try await Users.authenticate(login: login, password: password, database: services.database, logger: logger),
              user.role != .exchange
        else {
            logger.info("sign-in refused", metadata: ["from": "\(address)"])
            return signInPage(login: login, problem: "登录名或密码不正确。", status: .unauthorized)
        }
        let secret = try await services.database.transaction(logger: logger) { connection in
            try await Sessions.start(for: user, client: address, at: now, on: connection, logger: logger)
        }
        var response = Response(status: .seeOther, headers: [.location: "/workbench/"])
        response.setCookie(pages.cookie(WorkbenchSession.cookie, secret, path: "/workbench", maxAge: Int(Sessions.absolute)))
        response.setCookie(pages.cookie(Self.signInCookie, "", path: "/workbench/login", maxAge: 0))
        return response
    }

    func home(_ context: HotlineRequestContext) throws -> Response {
        let signedIn = try context.signedInToWorkbench()
        let work = WorkbenchMenu.links(for: signedIn.staff, month: WorkbenchPages.month(services.clock.now())).filter { $0.id != "home" }
        return pages.page("home", title: "首页", ["roleName": WorkbenchMenu.roleName(signedIn.staff), "hasWork": !work.isEmpty],
                          for: signedIn, current: "home")
    }
}

extension HotlineRequestContext {
    /// Who is signed in to the workbench; routes behind `WorkbenchSession` always have one.
    func signedInToWorkbench() throws -> SignedIn {
        guard let signedIn = workbenchUser else { throw HotlineError(.unauthorized, code: .unauthorized, "请先登录") }
        return signedIn
    }
}
