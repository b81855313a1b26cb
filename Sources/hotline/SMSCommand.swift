import ArgumentParser
import Foundation
import HotlineCore

/// The SMS texts from the command line (DOMAIN §14): read them, reword one, turn a kind off.
struct SMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sms", abstract: "The SMS templates: list them, change one.",
        subcommands: [Templates.self, Template.self]
    )

    struct Templates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every SMS template, with whether it is sent.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = makeLogger("hotline.sms")
            let templates = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).read(logger: logger) { try await SMSTemplates.list(on: $0, logger: logger) }
            }
            for t in templates { print("\(t.kind)\t\(t.enabled ? "on" : "off")\t\(t.body)") }
        }
    }

    struct Template: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reword one kind's SMS, or turn it on or off.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "accepted, replied, survey, sign_reminder, sign_warning or urged") var kind: String
        @Option(help: "The new text: {number}, {lookup}, {unit}, {due}, {rating} are filled in") var text: String?
        @Flag(inversion: .prefixedEnableDisable, help: "Send this kind, or not") var enable: Bool?

        func validate() throws {
            guard text != nil || enable != nil else { throw ValidationError("give --text, --enable or --disable") }
        }

        func run() async throws {
            let logger = makeLogger("hotline.sms")
            let (kind, text, enable) = (kind, text, enable)
            let template = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) {
                    try await SMSTemplates.set(kind, body: text, enabled: enable, on: $0, logger: logger)
                }
            }
            print("\(template.kind)\t\(template.enabled ? "on" : "off")\t\(template.body)")
        }
    }
}
