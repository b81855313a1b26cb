import Foundation
import Hummingbird
import Metrics
import Prometheus

/// Prometheus text at /metrics: requests by route template, method and status with a latency
/// histogram (Hummingbird's MetricsMiddleware), the supervision sweeps, and the database work
/// in flight against the pool's size.
enum MetricsExport {
    static let registry = PrometheusCollectorRegistry()

    /// swift-metrics has one backend per process; every application of the process shares it.
    static let bootstrap: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
        ]
        factory.nameAndLabelSanitizer = { name, labels in
            (name.replacingOccurrences(of: ".", with: "_"),
             labels.map { ($0.0.replacingOccurrences(of: ".", with: "_"), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }()

    static func bootstrapOnce(maxConnections: Int) {
        _ = bootstrap
        Gauge(label: "hotline_db_connections_max").record(maxConnections)
    }

    /// /metrics, on the metrics listener's router only.
    static func register(on router: Router<HotlineRequestContext>) {
        _ = bootstrap
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
