import Foundation
import Logging
import PostgresNIO

/// 签收 (DOMAIN §5 "sign"): each unit signs its own assignment; the lead's signature puts the
/// case in progress; a passed-down lead signs a case already in progress (§5a).
public enum Signing {
    public static func sign(
        _ number: String, by staff: Staff, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await StepRunner.run(among: [.sign, .signAssisting, .signPassedDown], number, by: staff, at: now,
                                 on: connection, logger: logger, pick: { place in
            if place.actor == .assistingHandler { return .signAssisting }
            return place.own?.parent == nil ? .sign : .signPassedDown
        }) { step in
            let own = step.own!
            try await Assignments.move(own, to: .signed, from: [.dispatched], action: "sign", at: now, on: connection, logger: logger)
            try await connection.execute("""
                UPDATE assignments SET signed_at = \(now), signed_by = \(staff.id) WHERE id = \(own.id)
                """, logger: logger)
            let onTime = try await DeadlineLedger.meet(assignmentId: own.id, step: .sign, at: now, on: connection, logger: logger)
            step.details = ["role": .string(own.role.rawValue), "on_time": onTime.map(JSONValue.bool) ?? .null]
        }
    }
}
