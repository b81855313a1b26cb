import Foundation
import HotlineCore
import Hummingbird

/// Health and the OpenAPI document (API.md, "Service").
struct ServiceRoutes {
    let services: AppServices

    func register(on router: Router<HotlineRequestContext>) {
        router.get("health/live") { _, _ in
            try JSONCoding.response(["status": "live"])
        }
        router.get("health/ready") { _, context in
            do {
                let readiness = try await Health.readiness(
                    migrator: services.migrator, database: services.database, now: services.clock.now(), logger: context.logger
                )
                return try JSONCoding.response(readiness, status: readiness.status == "not_ready" ? .serviceUnavailable : .ok)
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(DatabaseFailure.loggable(error))"])
                return try JSONCoding.response(
                    Readiness(status: "not_ready", reasons: ["the database does not answer"], calendarCoveredUntil: nil),
                    status: .serviceUnavailable
                )
            }
        }
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: services.openAPIDocument))
            )
        }
    }
}
