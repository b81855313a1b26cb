import Foundation
import HummingbirdTesting
import Testing

/// The handling steps as the tests drive them, each expecting success.
extension TestHotline {
    @discardableResult
    func step(
        _ number: String, _ path: String, as who: String, body: String? = nil, expect status: Int = 200,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String: Any] {
        let response = try await request(.post, "/api/v1/cases/\(number)/\(path)", as: who, body: body)
        #expect(response.status.code == status, "\(path) as \(who): \(response.text)", sourceLocation: sourceLocation)
        guard response.status.code == status else { throw TestFailure("\(path) failed: \(response.text)") }
        return try response.object()
    }

    @discardableResult
    func dispatch(_ number: String, lead: String? = "housing", assists: [String]? = nil) async throws -> [String: Any] {
        var body: [String: Any] = [:]
        if let assists { body["assist_units"] = assists }
        if let lead { body["lead_unit"] = lead }
        return try await step(number, "dispatch", as: "dispatcher", body: json(body))
    }

    @discardableResult
    func reply(_ number: String, as who: String = "handler:housing", outcome: String = "resolved") async throws -> [String: Any] {
        try await step(number, "reply", as: who, body: json([
            "outcome": outcome, "text": "经现场核实，已督促物业于3月5日修复电梯并恢复运行。", "contacted_citizen": true,
            "handler_name": "李明", "handler_phone": "0538-8221234",
        ]))
    }

    @discardableResult
    func visit(_ number: String, satisfaction: String? = "satisfied", resolved: Bool = true) async throws -> [String: Any] {
        let body: [String: Any] = satisfaction.map { ["reached": true, "satisfaction": $0, "resolved": resolved] } ?? ["reached": false]
        return try await step(number, "visits", as: "operator", body: json(body), expect: 201)
    }

    func view(_ number: String, as who: String = "dispatcher") async throws -> [String: Any] {
        try await request(.get, "/api/v1/cases/\(number)", as: who).object()
    }

    func kinds(_ number: String) async throws -> [String] {
        try await request(.get, "/api/v1/cases/\(number)/timeline", as: "dispatcher").items().map { $0["kind"] as! String }
    }

    /// The body of an urging or escalation by hand, which names the assignment and the step.
    func supervising(_ number: String, unit: String = "housing", step: String, _ fields: [String: Any]) async throws -> String {
        let assignment = try #require(try await view(number).assignment(unit)?["id"] as? Int, "\(unit) has no assignment")
        return json(fields.merging(["assignment": assignment, "step": step]) { $1 })
    }

    /// A case filed, dispatched to housing (with environment assisting) and signed by housing.
    func caseInProgress(_ body: String = CaseBodies.complaint(), assists: [String] = ["environment"]) async throws -> String {
        let number = try await fileCase(body)
        try await dispatch(number, assists: assists)
        try await step(number, "sign", as: "handler:housing")
        return number
    }

    /// A case replied by housing and rated unsatisfied at its return visit.
    func caseRatedUnsatisfied() async throws -> String {
        let number = try await caseInProgress(assists: [])
        try await reply(number)
        try await visit(number, satisfaction: "unsatisfied", resolved: false)
        return number
    }
}

extension Dictionary where Key == String, Value == Any {
    var assignments: [[String: Any]] { self["assignments"] as? [[String: Any]] ?? [] }

    func assignment(_ unit: String, role: String? = nil) -> [String: Any]? {
        assignments.last { $0["unit"] as? String == unit && (role == nil || $0["role"] as? String == role) }
    }

    /// The assignment's latest deadline of that step.
    func deadline(_ step: String, of assignment: [String: Any]?) -> [String: Any]? {
        (assignment?["deadlines"] as? [[String: Any]])?.last { $0["step"] as? String == step }
    }

    func due(_ step: String, of assignment: [String: Any]?) -> String? {
        deadline(step, of: assignment)?["due_at"] as? String
    }
}
