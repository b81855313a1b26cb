import AsyncHTTPClient
import Foundation
import HotlineCore
import Logging
import NIOCore

/// How a delivery goes out: one POST with a time limit; the status decides (a 2xx acknowledges,
/// 410 is gone). The receiver's answer body is read and dropped, never logged.
public enum WebhookPost {
    /// One client for the process, never shut down (as `HTTPClient.shared`), that never follows
    /// a redirect: a signed body goes to the subscribed URL and nowhere else; a 3xx is a failure.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The whole exchange, answer included, ends within `limit`: a receiver that trickles its
    /// answer cannot hold the delivery (and its row lock) for longer.
    @Sendable public static func send(_ outbound: OutboundRequest) async -> DeliveryOutcome {
        await send(outbound, limit: .seconds(10))
    }

    static func send(_ outbound: OutboundRequest, limit: Duration) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: outbound.url)
        request.method = .POST
        for (name, value) in outbound.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: outbound.body))
        let prepared = request
        return await withTaskGroup(of: DeliveryOutcome?.self) { group in
            group.addTask {
                do {
                    let response = try await client.execute(prepared, timeout: .seconds(limit.components.seconds))
                    // Read (at most 64 KiB) and dropped, so the connection can be used again.
                    _ = try? await response.body.collect(upTo: 64 * 1024)
                    switch response.status.code {
                    case 200..<300: return .acknowledged
                    case 410: return .gone
                    default: return .failed("the receiver answered \(response.status.code)")
                    }
                } catch {
                    // The kind of failure, not the error's text (which may quote the URL).
                    return .unreachable("no answer: \(type(of: error))")
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first ?? .unreachable("no answer within \(limit.components.seconds) s")
        }
    }
}
