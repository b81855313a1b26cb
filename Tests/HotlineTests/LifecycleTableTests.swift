import Foundation
@testable import HotlineCore
import Testing

/// The lifecycle table, read without a database (the way PostgresNIO tests its connection state
/// machine), and the sources held to it: no step of a case is taken around the runner.
@Suite("Lifecycle table") struct LifecycleTableTests {
    /// DOMAIN §5 (and §5a, §5b for the tiers and review), written out by hand from its tables
    /// and rules: step, the states it starts from, where it leads, and who takes it. The code's
    /// table must say exactly this.
    static let domain = """
        accept: – → accepted | operator, center_dispatcher, exchange
        answer_directly: – → closed (direct_answer) | operator, center_dispatcher
        transfer: accepted → closed (emergency_transfer) | operator, center_dispatcher
        dispatch: accepted → dispatched | center_dispatcher
        sign: dispatched → in_progress | lead_handler
        sign_assisting: dispatched, in_progress, return_requested → stays | assisting_handler
        request_return: dispatched, in_progress → return_requested | lead_handler
        approve_return: return_requested → dispatched | center_dispatcher
        reject_return: return_requested → the state before the return | center_dispatcher, unit_dispatcher
        request_extension: in_progress → stays | lead_handler
        approve_extension: in_progress → stays | center_dispatcher, unit_dispatcher
        reject_extension: in_progress, return_requested → stays | center_dispatcher, unit_dispatcher
        give_opinion: dispatched, in_progress, return_requested → stays | assisting_handler
        add_note: dispatched, in_progress, return_requested, reply_review, replied → stays | lead_handler, tier_handler, assisting_handler
        reply: in_progress → replied | lead_handler
        receive_reply: merged → replied | system
        close_no_visit: replied → closed (no_visit_needed) | system
        visit_satisfied: replied → closed (visited) | operator, center_dispatcher, system
        visit_unsatisfied: replied → stays | operator, center_dispatcher, system
        visit_failed: replied → stays | operator, center_dispatcher
        close_unreachable: replied → closed (unreachable) | operator, center_dispatcher
        reopen: replied → in_progress | operator, center_dispatcher
        close_after_review: replied → closed (visited) | center_dispatcher
        exempt: accepted, dispatched, in_progress, return_requested, reply_review, replied, closed, merged → stays | center_dispatcher
        merge: accepted, dispatched, in_progress, return_requested → merged | center_dispatcher
        release_duplicate: merged → accepted | system
        withdraw: accepted, dispatched, in_progress, return_requested, reply_review, replied, merged → closed (withdrawn) | operator, center_dispatcher
        urge: dispatched, in_progress, return_requested, reply_review → stays | center_dispatcher, unit_dispatcher
        escalate: dispatched, in_progress, return_requested, reply_review → stays | center_dispatcher, unit_dispatcher
        disclose: closed → stays | center_dispatcher
        pass_down: in_progress → stays | unit_dispatcher
        sign_passed_down: in_progress → stays | lead_handler
        take_back: in_progress, return_requested → in_progress | unit_dispatcher
        reassign: dispatched, in_progress → dispatched | center_dispatcher
        approve_child_return: return_requested → in_progress | unit_dispatcher
        submit_reply: in_progress → reply_review | lead_handler
        approve_reply: reply_review → stays | unit_dispatcher
        release_reply: reply_review → replied | center_dispatcher, unit_dispatcher
        send_back_reply: reply_review → in_progress | center_dispatcher, unit_dispatcher
        record_contact: dispatched, in_progress, return_requested → stays | lead_handler, tier_handler
        supplement: accepted, dispatched, in_progress, return_requested, reply_review, replied → stays | operator
        """

    static func describe(_ rule: StepRule) -> String {
        let from = rule.from.isEmpty ? "–" : CaseStatus.allCases.filter(rule.from.contains).map(\.rawValue).joined(separator: ", ")
        let to = switch rule.to {
        case .stays: "stays"
        case .status(let status): status.rawValue
        case .closed(let closure): "closed (\(closure.rawValue))"
        case .statusBeforeReturn: "the state before the return"
        }
        let actors = StepActor.allCases.filter(rule.actors.contains).map(\.rawValue).joined(separator: ", ")
        return "\(rule.step.rawValue): \(from) → \(to) | \(actors)"
    }

    @Test func theTableIsDomainSection5() {
        let code = Lifecycle.rules.map(Self.describe)
        let domain = Self.domain.split(separator: "\n").map(String.init)
        #expect(code == domain, "the table differs from DOMAIN §5:\n\(code.joined(separator: "\n"))")
        let steps = Lifecycle.rules.map(\.step)
        #expect(steps == CaseStep.allCases, "every step has one rule, in the order of the enum")
    }

    /// Every state × step × actor, printed as a grid (a row per state and step, the actors who
    /// may take it) and held to the hand-written table above, cell by cell.
    @Test func theMatrixCoversEveryStateStepAndActor() {
        var allowedByDomain: Set<String> = []
        for line in Self.domain.split(separator: "\n") {
            let step = line.prefix { $0 != ":" }
            let parts = line.split(separator: "|")
            let from = parts[0].split(separator: ":", maxSplits: 1)[1].split(separator: "→")[0]
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let actors = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for state in from where state != "–" {
                for actor in actors { allowedByDomain.insert("\(state) \(step) \(actor)") }
            }
        }
        var grid: [String] = []
        var cells = 0
        var disagreements: [String] = []
        for state in CaseStatus.allCases {
            for step in CaseStep.allCases {
                var who: [String] = []
                for actor in StepActor.allCases {
                    cells += 1
                    let allowed = Lifecycle.allows(step, from: state, by: actor)
                    if allowed { who.append(actor.rawValue) }
                    if allowed != allowedByDomain.contains("\(state.rawValue) \(step.rawValue) \(actor.rawValue)") {
                        disagreements.append("\(state.rawValue) × \(step.rawValue) × \(actor.rawValue)")
                    }
                }
                if !who.isEmpty { grid.append("\(state.rawValue.padding(toLength: 17, withPad: " ", startingAt: 0)) \(step.rawValue): \(who.joined(separator: ", "))") }
            }
        }
        print(grid.joined(separator: "\n"))
        #expect(cells == CaseStatus.allCases.count * CaseStep.allCases.count * StepActor.allCases.count)
        #expect(disagreements.isEmpty, "\(disagreements)")
        // What DOMAIN says in words, checked on the grid itself.
        let closedSteps = CaseStep.allCases.filter { step in StepActor.allCases.contains { Lifecycle.allows(step, from: .closed, by: $0) } }
        #expect(closedSteps == [.exempt, .disclose], "a closed case is only exempted or disclosed")
        let repliers = StepActor.allCases.filter { Lifecycle.allows(.reply, from: .inProgress, by: $0) }
        #expect(repliers == [.leadHandler], "谁办理、谁答复: only the lead unit replies")
        let submitters = StepActor.allCases.filter { Lifecycle.allows(.submitReply, from: .inProgress, by: $0) }
        #expect(submitters == [.leadHandler], "a reply for review too: only the lead that handles writes it")
        // A unit's sub-center takes no step of the center's (DOMAIN §2).
        let centerOnly: [CaseStep] = [.accept, .transfer, .dispatch, .reassign, .visitSatisfied, .reopen, .exempt, .merge, .withdraw, .disclose]
        let bySubCenter = centerOnly.filter { step in CaseStatus.allCases.contains { Lifecycle.allows(step, from: $0, by: .unitDispatcher) } }
        #expect(bySubCenter.isEmpty, "\(bySubCenter)")
    }

    /// Every status change goes through the runner: the sources are read for a status write, a
    /// lock of a case, a state check or a timeline write made anywhere else.
    @Test func noStepIsTakenAroundTheRunner() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try FileManager.default.subpathsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 40)
        // Where each kind of statement may be written, and why.
        let allowed: [(String, Set<String>)] = [
            ("a status written to cases", ["HotlineCore/Lifecycle/StepRunner.swift"]),
            ("a case locked", ["HotlineCore/Lifecycle/StepRunner.swift",
                               "HotlineCore/Cases/CaseAccess.swift",  // where `lock:` is defined
                               "HotlineCore/Intake/CaseSearch.swift"]),  // `hotline reindex` rewrites search vectors, not a step
            ("a state checked", ["HotlineCore/Lifecycle/StepRunner.swift",
                                 "HotlineCore/Support/HotlineError.swift"]),  // where the error is defined
            ("a timeline event written", ["HotlineCore/Lifecycle/StepRunner.swift",
                                          "HotlineCore/Timeline/Timeline.swift",  // the writer itself
                                          "HotlineCore/Handling/DeadlineLedger.swift",  // a calendar load, not a step
                                          "HotlineCore/Privacy/ContactReveal.swift",  // an audited read, not a step
                                          // the statement that stores a case writes its first event, of the table's kind
                                          "HotlineCore/Intake/Intake.swift",
                                          "HotlineCore/Supervision/UrgingLadder.swift"]),  // the sweep, set-based
        ]
        var found: [String] = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            var kinds: [String] = []
            if Self.writesCaseStatus(text) { kinds.append("a status written to cases") }
            if text.contains("lock: true") || Self.locksCases(text) { kinds.append("a case locked") }
            if text.contains("invalidTransition(") { kinds.append("a state checked") }
            if text.contains("Timeline.record(") || text.contains("INSERT INTO case_events") { kinds.append("a timeline event written") }
            for kind in kinds where !(allowed.first { $0.0 == kind }!.1.contains(file)) {
                found.append("\(file): \(kind)")
            }
        }
        #expect(found.isEmpty, "only StepRunner takes a step: \(found)")
        // The statement that creates a case takes its state from the table.
        let intake = try String(contentsOf: sources.appendingPathComponent("HotlineCore/Intake/Intake.swift"), encoding: .utf8)
        #expect(intake.contains("StepRunner.creates("))
        #expect(intake.contains("StepRunner.createdEvent(.accept)"))
    }

    /// `UPDATE cases SET … status = … WHERE`: a status written to a case.
    static func writesCaseStatus(_ text: String) -> Bool {
        var rest = Substring(text)
        while let start = rest.range(of: "UPDATE cases") {
            let statement = rest[start.upperBound...].prefix { $0 != ";" }.split(separator: "WHERE", maxSplits: 1).first ?? ""
            if statement.range(of: #"[^_a-z]status\s*="#, options: .regularExpression) != nil { return true }
            rest = rest[start.upperBound...]
        }
        return false
    }

    /// `… FROM cases … FOR UPDATE`: a case row locked.
    static func locksCases(_ text: String) -> Bool {
        text.range(of: #"FROM cases[^"]*FOR (NO KEY )?UPDATE"#, options: .regularExpression) != nil
    }

    /// The checks above can fail: each is shown a statement it must catch.
    @Test func theSourceChecksCatchWhatTheyLookFor() {
        #expect(Self.writesCaseStatus(#"UPDATE cases SET closure = 'x', status = 'closed' WHERE id = 1"#))
        #expect(!Self.writesCaseStatus(#"UPDATE cases SET exempt_reason = 'x' WHERE status = 'closed'"#))
        #expect(!Self.writesCaseStatus(#"UPDATE cases SET status_before_return = NULL WHERE id = 1"#))
        #expect(Self.locksCases(#"SELECT id FROM cases WHERE number = $1 FOR UPDATE"#))
        #expect(!Self.locksCases(#"SELECT id FROM deadlines WHERE id = 1 FOR UPDATE"#))
    }
}
