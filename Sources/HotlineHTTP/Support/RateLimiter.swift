import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A token bucket per client address: `capacity` requests at once, refilled at `perMinute`.
/// Per instance, in memory: behind a balancer of n instances a client gets at most n times
/// the rate, which is enough to stop probing the public lookup.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    let capacity: Double
    let perMinute: Double

    init(capacity: Int, perMinute: Int) {
        self.capacity = Double(capacity)
        self.perMinute = Double(perMinute)
    }

    /// Whether this client may make one more request now.
    func allow(_ client: String) -> Bool {
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            if buckets.count > 50_000 {  // forget idle clients rather than grow without end
                buckets = buckets.filter { now - $0.value.updated < .seconds(120) }
            }
            var bucket = buckets[client] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * perMinute / 60)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[client] = bucket
            return allowed
        }
    }
}

/// Who the client is for rate limiting: the peer address, or, when the service sits behind a
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
