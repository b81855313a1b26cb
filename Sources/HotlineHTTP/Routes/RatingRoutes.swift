import Foundation
import HTTPTypes
import HotlineCore
import Hummingbird
import NIOCore

/// The survey's public page (`/public/ratings/{token}`, DOMAIN §14): what the survey SMS links
/// to. HTML for a phone's browser; every refusal is a page too, with its status. The link is a
/// capability: never cached, never sent on as a referrer.
struct RatingRoutes {
    let services: AppServices

    func register(on router: Router<HotlineRequestContext>) {
        let database = services.database
        router.get("public/ratings/:token") { _, context in
            let token = try context.parameters.require("token")
            do {
                let survey = try await database.read(logger: context.logger) {
                    try await Ratings.survey(token: token, at: services.clock.now(), on: $0, logger: context.logger)
                }
                return Self.page(.ok, RatingPage.form(survey))
            } catch let error as HotlineError {
                return Self.refusal(error)
            }
        }
        router.post("public/ratings/:token") { request, context in
            let token = try context.parameters.require("token")
            let form = Self.form(try await request.body.collect(upTo: 16 * 1024))
            let answer = Ratings.Answer(satisfaction: form["satisfaction"], resolved: form["resolved"], note: form["note"])
            do {
                _ = try await database.transaction(logger: context.logger) {
                    try await Ratings.rate(token: token, answer, at: services.clock.now(), on: $0, logger: context.logger)
                }
                return Self.page(.ok, RatingPage.message("感谢您的评价", "您的评价已记录。如问题仍未解决，可再次拨打12345反映。"))
            } catch let error as HotlineError where error.kind == .badRequest {
                // The form again, with what was chosen and what is missing.
                let survey = try? await database.read(logger: context.logger) {
                    try await Ratings.survey(token: token, at: services.clock.now(), on: $0, logger: context.logger)
                }
                guard let survey else { return Self.refusal(error) }
                let problem = error.fields.map { $0.field == "note" ? "意见建议：\($0.message)" : $0.message }.joined(separator: "；")
                return Self.page(.badRequest, RatingPage.form(survey, answer: answer, problem: problem))
            } catch let error as HotlineError {
                return Self.refusal(error)
            }
        }
    }

    static func refusal(_ error: HotlineError) -> Response {
        switch error.code {
        case .notFound: page(.notFound, RatingPage.message("链接无效", "这条评价链接不存在或已过期。", problem: error.code))
        case .alreadyRated: page(.conflict, RatingPage.message("已评价", error.message, problem: error.code))
        case .invalidTransition:
            page(.conflict, RatingPage.message("无法评价", "这件工单已回访或已重新办理，无需再评价。", problem: error.code))
        default: page(error.kind.status, RatingPage.message("无法评价", "请稍后再试。", problem: error.code))
        }
    }

    static func page(_ status: HTTPResponse.Status, _ html: String) -> Response {
        Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `application/x-www-form-urlencoded`, as a browser posts a form.
    static func form(_ body: ByteBuffer) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String? { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = parts.first.flatMap(decode), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            fields[name] = value
        }
        return fields
    }
}
