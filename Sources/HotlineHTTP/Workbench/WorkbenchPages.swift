import Foundation
import HTTPTypes
import HotlineCore
import Hummingbird
import Mustache

/// The workbench's templates and static files (DOMAIN §16), read from the bundle once at start.
/// Every page is a template: values are HTML-escaped by Mustache, so nothing a citizen or a unit
/// wrote can become markup.
struct WorkbenchPages: Sendable {
    let library: MustacheLibrary
    /// The stylesheet and the script, by file name, with their media types.
    let assets: [String: (bytes: [UInt8], type: String)]
    /// Cookies carry `Secure` (the service is reached over TLS, through a proxy).
    let secureCookies: Bool
    /// Which month "this month" is (the reports' links).
    let clock: any HotlineClock

    static func load(secureCookies: Bool, clock: any HotlineClock) async throws -> WorkbenchPages {
        guard let templates = Bundle.module.url(forResource: "templates", withExtension: nil),
              let statics = Bundle.module.url(forResource: "static", withExtension: nil)
        else { throw Migrator.Failure(description: "the workbench's templates are missing from the bundle") }
        let library = try await MustacheLibrary(directory: templates.path)
        var assets: [String: (bytes: [UInt8], type: String)] = [:]
        for (file, type) in [("workbench.css", "text/css; charset=utf-8"), ("workbench.js", "text/javascript; charset=utf-8")] {
            assets[file] = (Array(try Data(contentsOf: statics.appendingPathComponent(file))), type)
        }
        return WorkbenchPages(library: library, assets: assets, secureCookies: secureCookies, clock: clock)
    }

    /// What every workbench answer carries: nothing may load from another origin, nothing may
    /// frame it, and no page holding a case is kept by a cache or a shared terminal's history.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .cacheControl: "no-store",
    ]

    /// A page: the template `name` with `values`, and the header of whoever is signed in.
    func page(_ name: String, title: String, _ values: [String: Any] = [:], for signedIn: SignedIn? = nil,
              current: String? = nil, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var values = values
        values["title"] = title
        if let signedIn { values["user"] = WorkbenchMenu.header(signedIn, current: current, month: Self.month(clock.now())) }
        let html = library.render(values, withTemplate: name) ?? "template \(name) is missing"
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A piece of a page (what the script puts into the intake page as the operator types).
    func fragment(_ name: String, _ values: [String: Any]) -> Response {
        let html = library.render(values, withTemplate: name) ?? ""
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// YYYY-MM of a moment, in the center's time zone.
    static func month(_ date: Date) -> String {
        String(Timestamp.format(date).prefix(7))
    }

    func asset(_ file: String) throws -> Response {
        guard let asset = assets[file] else { throw HTTPError(.notFound) }
        return Response(status: .ok, headers: [.contentType: asset.type, .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// A cookie of the workbench: HttpOnly and SameSite=Strict always, Secure behind TLS.
    func cookie(_ name: String, _ value: String, path: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: secureCookies, httpOnly: true, sameSite: .strict)
    }
}

/// What a role works on, as links in the header and tiles on the home page.
enum WorkbenchMenu {
    struct Link {
        let id: String, href: String, label: String, about: String
    }

    static func links(for staff: Staff, month: String) -> [Link] {
        var links = [Link(id: "home", href: "/workbench/", label: "首页", about: "")]
        switch staff.role {
        case .operator:
            links.append(Link(id: "intake", href: "/workbench/intake", label: "受理", about: "受理市民来电，查看相似诉求"))
            links.append(Link(id: "visits", href: "/workbench/visits", label: "待回访", about: "已答复、等待回访的案件"))
        case .dispatcher where staff.unit == nil:
            links.append(Link(id: "queue", href: "/workbench/queue", label: "待派单", about: "已受理的案件与派单建议"))
            links.append(Link(id: "visits", href: "/workbench/visits", label: "待回访", about: "已答复、等待回访的案件"))
        case .dispatcher, .handler:
            links.append(Link(id: "inbox", href: "/workbench/inbox", label: "待办", about: "本单位待签收、待办理、待审核的案件"))
            if staff.role == .handler {
                links.append(Link(id: "knowledge", href: "/workbench/knowledge", label: "知识库", about: "本单位的知识条目：撰写、发布、撤下；待更新的条目"))
            }
        case .manager, .supervisor:
            links.append(Link(id: "appraisal", href: "/workbench/appraisal?period=\(month)", label: "考评",
                              about: "本月各单位考评：打印版、CSV、已发布的版本与发布"))
            links.append(Link(id: "hotspots", href: "/workbench/hotspots?period=\(month)&by=category,region", label: "热点",
                              about: "本月高频诉求与上升最快的事项"))
            links.append(Link(id: "escalations", href: "/workbench/escalations?period=\(month)", label: "督办",
                              about: "本月升级督办的案件，与屡被督办的单位（问责）"))
        case .admin, .exchange:
            break
        }
        return links
    }

    static func roleName(_ staff: Staff) -> String {
        switch staff.role {
        case .operator: "话务员"
        case .dispatcher: staff.unit == nil ? "派单员" : "分中心派单员"
        case .handler: "承办人员"
        case .manager: "管理人员"
        case .supervisor: "督查人员"
        case .admin: "系统管理员"
        case .exchange: "对接系统"
        }
    }

    static func header(_ signedIn: SignedIn, current: String?, month: String) -> [String: Any] {
        var header: [String: Any] = [
            "name": signedIn.name,
            "roleName": roleName(signedIn.staff),
            "csrf": signedIn.csrf,
            "links": links(for: signedIn.staff, month: month).map { link -> [String: Any] in
                ["href": link.href, "label": link.label, "about": link.about, "home": link.id == "home", "current": link.id == current]
            },
        ]
        header["unit"] = signedIn.unitName ?? signedIn.staff.unit ?? false
        return header
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
