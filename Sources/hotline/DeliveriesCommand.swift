import ArgumentParser
import Foundation
import HotlineCore

/// The webhook outbox from the command line: what is parked, and sending it again (DOMAIN §14).
struct DeliveriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "The webhook outbox: list deliveries, resend parked ones.",
        subcommands: [List.self, Resend.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries of one status (parked unless told), oldest first.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "queued, delivered or parked") var status = "parked"
        @Option(help: "Only this subscription's (its code)") var subscription: String?
        @Option(help: "At most this many (1 to 500)") var limit = 100

        func run() async throws {
            let logger = makeLogger("hotline.deliveries")
            let status = try Deliveries.Status.parse(status, field: "status")
            let (subscription, limit) = (subscription, limit)
            let page = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).read(logger: logger) { connection in
                    try await Deliveries.list(status: status, subscription: subscription, limit: limit, cursor: nil, by: nil,
                                              on: connection, logger: logger)
                }
            }
            for d in page.items {
                let error = d.lastError.map { " (\($0))" } ?? ""
                print("\(d.id)\t\(d.subscription)\t\(d.case)\t\(d.kind)\t\(d.status)\t\(d.attempts) attempts\t\(Timestamp.format(d.createdAt))\(error)")
            }
            print("\(page.items.count) \(status.rawValue)\(page.nextCursor == nil ? "" : " (more: raise --limit)")")
        }
    }

    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue parked deliveries again, due at once, with the bodies they were first sent with."
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Delivery ids") var ids: [Int64] = []
        @Flag(help: "Every parked delivery (of --subscription, if given)") var all = false
        @Option(help: "With --all: only this subscription's (its code)") var subscription: String?

        func validate() throws {
            guard all != !ids.isEmpty else { throw ValidationError("give delivery ids, or --all") }
        }

        func run() async throws {
            let logger = makeLogger("hotline.deliveries")
            let (ids, all, subscription) = (ids, all, subscription)
            let resent = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    var chosen = ids
                    if all {
                        chosen = try await Deliveries.list(status: .parked, subscription: subscription, limit: 500, cursor: nil, by: nil,
                                                           on: connection, logger: logger).items.map(\.id)
                    }
                    for id in chosen {
                        _ = try await Deliveries.resend(id, by: nil, at: Date().wholeSecond, on: connection, logger: logger)
                    }
                    return chosen.count
                }
            }
            print("\(resent) deliveries queued again")
        }
    }
}
