import Foundation
import HotlineCore
import Testing

@Suite("Operations") struct OperationsTests {
    @Test func metricsCountRequestsByRouteTemplateAndSweeps() async throws {
        try await withHotline { hotline in
            let number = try await hotline.fileCase()
            _ = try await hotline.request(.get, "/api/v1/cases/\(number)", as: "operator")
            _ = try await hotline.request(.get, "/api/v1/cases/00000000000000", as: "operator")
            try await hotline.dispatch(number)
            try await hotline.sweep(at: "2026-03-04T00:00:01+08:00")
            let metrics = try await hotline.request(.get, "/metrics")
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            // By template, never by raw path (which would carry case numbers).
            #expect(text.contains(#"http_route="/api/v1/cases/{number}""#), "\(text.prefix(2000))")
            #expect(!text.contains(number))
            #expect(text.contains(#"http_response_status_code="404""#))
            #expect(text.contains("http_server_request_duration_bucket"))
            #expect(text.contains("hotline_urgings_total"))
            #expect(text.contains("hotline_sweep_duration_seconds"))
            #expect(text.contains("hotline_db_connections_max"))
            #expect(text.contains("hotline_db_work_in_flight"))
        }
    }
}
