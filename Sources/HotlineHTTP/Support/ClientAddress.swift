import Foundation
import HTTPTypes
import Hummingbird

/// Who the client is for rate limiting (`RateLimits.block` counts its IPv6 /64 as one): the peer address, or, when the service sits behind a
/// proxy it trusts (`--trust-forwarded-for`), the first address of `X-Forwarded-For`.
struct ClientAddress {
    let trustForwardedFor: Bool

    func of(_ request: Request, _ context: HotlineRequestContext) -> String {
        if trustForwardedFor, let forwarded = request.headers[.xForwardedFor],
           let first = forwarded.split(separator: ",").first {
            return first.trimmingCharacters(in: .whitespaces)
        }
        return context.peerAddress ?? "unknown"
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
