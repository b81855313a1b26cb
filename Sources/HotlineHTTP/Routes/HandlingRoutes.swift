import Foundation
import HotlineCore
import Hummingbird

/// The steps of handling a case (API.md, "Cases"; DOMAIN §5). Each answers with the case as the
/// caller may now see it.
struct HandlingRoutes {
    let services: AppServices

    typealias Step = @Sendable (String, Mutation.Work) async throws -> Void

    func register(on api: RouterGroup<HotlineRequestContext>) {
        for endpoint in CaseStepEndpoints.all {
            step(api, endpoint.path, status: endpoint.status, endpoint.run)
        }
        api.get("inbox") { request, context in
            let staff = try context.signedIn()
            let limit = try request.query("limit", in: 1...500) ?? 50
            let cursor = request.query("cursor")
            let now = services.clock.now()
            let page = try await services.database.read(logger: context.logger) {
                try await Inbox.list(for: staff, limit: limit, cursor: cursor, at: now, on: $0, logger: context.logger)
            }
            return try JSONCoding.response(page)
        }
    }

    /// POST /cases/{number}/<path>: the step, then the case as the caller may now see it.
    func step(
        _ api: RouterGroup<HotlineRequestContext>, _ path: String, status: HTTPResponse.Status = .ok, _ body: @escaping Step
    ) {
        let mutation = services.mutation
        api.post("cases/:number/\(path)") { request, context in
            let number = try context.parameters.require("number")
            let parameters = context.parameters
            return try await mutation.onCase(number, request, context: context, status: status) { work in
                try await body(number, work.with(parameters: parameters))
            }
        }
    }
}

/// The steps of handling a case by the path of their route, POST /cases/{number}/PATH, each on
/// its domain operation: the REST surface and the workbench's forms both run these.
struct CaseStepEndpoint: Sendable {
    let path: String
    let status: HTTPResponse.Status
    let run: HandlingRoutes.Step

    init(_ path: String, status: HTTPResponse.Status = .ok, _ run: @escaping HandlingRoutes.Step) {
        self.path = path
        self.status = status
        self.run = run
    }
}

enum CaseStepEndpoints {
    typealias Endpoint = CaseStepEndpoint

    static let all: [Endpoint] = [
        Endpoint("dispatch") { number, work in
            try await Dispatch.dispatch(number, try work.body.decode(Dispatch.Request.self), by: work.staff, at: work.now,
                                        on: work.connection, logger: work.logger)
        },
        Endpoint("sign") { number, work in
            try await Signing.sign(number, by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("return-requests", status: .created) { number, work in
            _ = try await ReturnRequests.request(number, try work.body.decode(ReturnRequests.Request.self), by: work.staff, at: work.now,
                                          on: work.connection, logger: work.logger)
        },
        Endpoint("return-requests/:id/approve") { number, work in
            try await ReturnRequests.approve(number, requestId: try work.id, try work.body.decodeOrEmpty(Dispatch.Request.self),
                                      by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("return-requests/:id/reject") { number, work in
            try await ReturnRequests.reject(number, requestId: try work.id, try work.body.decode(ReturnRequests.Rejection.self),
                                     by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("extension-requests", status: .created) { number, work in
            _ = try await ExtensionRequests.request(number, try work.body.decode(ExtensionRequests.Request.self), by: work.staff, at: work.now,
                                             on: work.connection, logger: work.logger)
        },
        Endpoint("extension-requests/:id/approve") { number, work in
            try await ExtensionRequests.approve(number, requestId: try work.id, try work.body.decodeOrEmpty(ExtensionRequests.Approval.self),
                                         by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("extension-requests/:id/reject") { number, work in
            try await ExtensionRequests.reject(number, requestId: try work.id, try work.body.decode(ExtensionRequests.Rejection.self),
                                        by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("opinions", status: .created) { number, work in
            try await AssistingOpinions.give(number, try work.body.decode(AssistingOpinions.Request.self), by: work.staff,
                                             at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("notes", status: .created) { number, work in
            try await ProgressNotes.add(number, try work.body.decode(ProgressNotes.Request.self), by: work.staff, at: work.now,
                                        on: work.connection, logger: work.logger)
        },
        Endpoint("supplements", status: .created) { number, work in
            try await Supplements.add(number, try work.body.decode(Supplements.Request.self), by: work.staff, at: work.now,
                                      on: work.connection, logger: work.logger)
        },
        Endpoint("reply") { number, work in
            try await Replies.reply(number, try work.body.decode(Replies.Request.self), by: work.staff, at: work.now,
                                    on: work.connection, logger: work.logger)
        },
        Endpoint("visits", status: .created) { number, work in
            _ = try await ReturnVisits.record(number, try work.body.decode(ReturnVisits.Request.self), by: work.staff,
                                              at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("reopen") { number, work in
            try await Review.reopen(number, try work.body.decode(Review.Reason.self), by: work.staff, at: work.now,
                                    on: work.connection, logger: work.logger)
        },
        Endpoint("close") { number, work in
            try await Review.closeAfterReview(number, try work.body.decode(Review.Reason.self), by: work.staff, at: work.now,
                                              on: work.connection, logger: work.logger)
        },
        Endpoint("exempt") { number, work in
            try await Review.exempt(number, try work.body.decode(Review.Reason.self), by: work.staff, at: work.now,
                                    on: work.connection, logger: work.logger)
        },
        Endpoint("merge") { number, work in
            try await Merging.merge(number, try work.body.decode(Merging.Request.self), by: work.staff, at: work.now,
                                    on: work.connection, logger: work.logger)
        },
        // Tiered handling, review, first contact (DOMAIN §5a, §5b).
        Endpoint("pass-down") { number, work in
            try await Tiers.passDown(number, try work.body.decode(Dispatch.Request.self), by: work.staff, at: work.now,
                                     on: work.connection, logger: work.logger)
        },
        Endpoint("take-back") { number, work in
            try await Tiers.takeBack(number, try work.body.decode(Review.Reason.self), by: work.staff, at: work.now,
                                     on: work.connection, logger: work.logger)
        },
        Endpoint("reassign") { number, work in
            try await Tiers.reassign(number, try work.body.decode(Tiers.Reassignment.self), by: work.staff, at: work.now,
                                     on: work.connection, logger: work.logger)
        },
        Endpoint("replies/:id/approve") { number, work in
            try await ReplyReviews.approve(number, replyId: try work.id, try work.body.decodeOrEmpty(ReplyReviews.Approval.self),
                                           by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("replies/:id/send-back") { number, work in
            try await ReplyReviews.sendBack(number, replyId: try work.id, try work.body.decode(Review.Reason.self),
                                            by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("transfer") { number, work in
            try await EmergencyTransfer.transfer(number, try work.body.decode(EmergencyTransfer.Request.self),
                                                 by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("withdraw") { number, work in
            try await Withdrawal.withdraw(number, try work.body.decode(Withdrawal.Request.self),
                                          by: work.staff, at: work.now, on: work.connection, logger: work.logger)
        },
        // Supervision (DOMAIN §7): a dispatcher's urging, an escalation, a disclosure.
        Endpoint("urge", status: .created) { number, work in
            try await Supervision.urge(number, try work.body.decode(Supervision.Note.self), by: work.staff, at: work.now,
                                       on: work.connection, logger: work.logger)
        },
        Endpoint("escalate", status: .created) { number, work in
            try await Supervision.escalate(number, try work.body.decode(Supervision.Reason.self), by: work.staff, at: work.now,
                                           on: work.connection, logger: work.logger)
        },
        Endpoint("disclose", status: .created) { number, work in
            try await PublicRecord.disclose(number, try work.body.decode(PublicRecord.DisclosureRequest.self), by: work.staff,
                                            at: work.now, on: work.connection, logger: work.logger)
        },
        Endpoint("contacts", status: .created) { number, work in
            try await FirstContact.record(number, try work.body.decode(FirstContact.Request.self), by: work.staff, at: work.now,
                                          on: work.connection, logger: work.logger)
        },
    ]

    static let byPath: [String: Endpoint] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })
}

extension Mutation.Work {
    func with(parameters: Parameters) -> Mutation.Work {
        var copy = self
        copy.parameters = parameters
        return copy
    }

    /// The `{id}` of a return or extension request, or of a reply.
    var id: Int64 {
        get throws {
            guard let raw = parameters?.get("id") ?? stepId, let id = Int64(raw), id > 0 else {
                throw HotlineError.notFound("request")
            }
            return id
        }
    }
}

extension RequestBody {
    /// For steps whose body is optional: no body reads as `{}`.
    func decodeOrEmpty<T: Decodable>(_ type: T.Type) throws -> T {
        bytes.isEmpty ? try JSONCoding.decoder.decode(T.self, from: Data("{}".utf8)) : try decode(T.self)
    }
}
