import ArgumentParser
import Foundation
import HotlineCore

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Create users and issue tokens.",
        subcommands: [Create.self, Token.self, Password.self, Deactivate.self, Activate.self]
    )

    /// `--token-lifetime-days`, as every command that issues a token takes it.
    struct Lifetime: ParsableArguments {
        @Option(help: "Days the new token lasts (default: $HOTLINE_TOKEN_LIFETIME_DAYS, else 90)")
        var tokenLifetimeDays = Int(ProcessInfo.processInfo.environment["HOTLINE_TOKEN_LIFETIME_DAYS"] ?? "") ?? 90

        func validate() throws {
            guard (1...3650).contains(tokenLifetimeDays) else { throw ValidationError("--token-lifetime-days must be 1 to 3650") }
        }

        var duration: Duration { .seconds(tokenLifetimeDays * 86_400) }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print a fresh token (shown once).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's name") var name: String
        @Option(help: "operator, dispatcher, handler, manager, supervisor, admin or exchange") var role: String
        @Option(help: "The unit code a handler acts for, or a sub-center dispatcher's unit (one with units below it)") var unit: String?
        @Option(help: "The outside system an exchange client sends cases for (e.g. province, 110)") var system: String?
        @Option(help: "The workbench sign-in name (2–64 of a–z, 0–9, '.', '_', '-')") var login: String?
        @OptionGroup var lifetime: Lifetime

        func run() async throws {
            let logger = makeLogger("hotline.users")
            let role = try Role.parse(role, field: "role")
            let input = NewUser(name: name, role: role, unit: unit, system: system, login: login)
            let lifetime = lifetime.duration
            let issued = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    let user = try await Users.create(input, on: connection, logger: logger)
                    return try await Users.issueToken(forUser: user.id, lifetime: lifetime, on: connection, logger: logger)
                }
            }
            print("user \(issued.userId) (\(role.rawValue)) token: \(issued.token) (until \(Timestamp.format(issued.expiresAt)))")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue another token for a user (shown once).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's id") var user: Int64
        @OptionGroup var lifetime: Lifetime

        func run() async throws {
            let logger = makeLogger("hotline.users")
            let lifetime = lifetime.duration
            let issued = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    try await Users.issueToken(forUser: user, lifetime: lifetime, on: connection, logger: logger)
                }
            }
            print("user \(issued.userId) token: \(issued.token) (until \(Timestamp.format(issued.expiresAt)))")
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's workbench password, read from the first line of standard input (never a flag: a process list shows flags)."
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's id") var user: Int64
        @Option(help: "Give the user this sign-in name too") var login: String?

        func run() async throws {
            let logger = makeLogger("hotline.users")
            guard let password = readLine(strippingNewline: true), !password.isEmpty else {
                throw ValidationError("give the password on standard input, e.g. from a file or a pipe")
            }
            let patch = UserPatch(login: login, password: password)
            let updated = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    try await Users.update(user, patch, on: connection, logger: logger)
                }
            }
            print("user \(updated.id) (\(updated.login ?? "no login")): password set")
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate a user: none of their tokens works any more.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's id") var user: Int64

        func run() async throws {
            try await setActive(false, user: user, database: database)
            print("user \(user) deactivated")
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Activate a user again (tokens that have not expired work again).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's id") var user: Int64

        func run() async throws {
            try await setActive(true, user: user, database: database)
            print("user \(user) activated")
        }
    }

    static func setActive(_ active: Bool, user: Int64, database: DatabaseOptions) async throws {
        let logger = makeLogger("hotline.users")
        _ = try await database.withDatabase(logger: logger) { client in
            try await Database(client: client).transaction(logger: logger) { connection in
                try await Users.update(user, UserPatch(active: active), on: connection, logger: logger)
            }
        }
    }
}

struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar", abstract: "The official working-day calendar.", subcommands: [Load.self]
    )

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a year's holidays and make-up working days from a JSON file (see deploy/calendar/)."
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "A file like deploy/calendar/2026.json") var file: String

        func run() async throws {
            let logger = makeLogger("hotline.calendar")
            let document = try JSONDecoder().decode(CalendarYear.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            guard let year = document.year else { throw ValidationError("the file names no year") }
            let loaded = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    try await CalendarStore.put(year, document, by: nil, on: connection, logger: logger, now: Date().wholeSecond)
                }
            }
            print("loaded \(year): \(loaded.offDays.count) off days, \(loaded.makeUpWorkingDays.count) make-up working days")
        }
    }
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load demonstration data.", subcommands: [Demo.self, Generate.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate a stretch of a hotline's work through the service's own operations (for trying reports)."
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Cases to accept") var cases = 10_000
        @Option(help: "First day, YYYY-MM-DD") var from = "2026-01-01"
        @Option(help: "Day after the last, YYYY-MM-DD") var to = "2027-01-01"
        @Option(help: "Grow the unit tree to about this many units") var units = 300
        @Option(help: "Random seed: the same seed makes the same record") var seed: UInt64 = 12345

        func run() async throws {
        printLinesAsTheyCome()
            let logger = makeLogger("hotline.seed", level: .error)
            guard let start = LocalDate(iso: from)?.startInstant, let end = LocalDate(iso: to)?.startInstant, start < end else {
                throw ValidationError("--from and --to must be dates, from before to")
            }
            let migrator = try database.migrator()
            let simulation = YearSimulation(cases: cases, from: start, to: end, seed: seed, units: units)
            let failed = try await database.withDatabase(logger: logger) { client in
                try await migrator.migrate(client: client, logger: logger)
                return try await simulation.run(database: Database(client: client), logger: logger) { progress in
                    print(Generate.describe(progress))
                }
            }
            print("generated \(cases) cases (\(failed) refused by a rule)")
        }

        /// "4000 / 10000 cases, 61.2 a second, about 1m38s left"
        static func describe(_ progress: YearSimulation.Progress) -> String {
            let seconds = Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18
            let rate = Double(progress.done) / max(seconds, 0.001)
            let left = Int(Double(progress.total - progress.done) / max(rate, 0.001))
            return String(format: "  %d / %d cases, %.1f a second, about %dm%02ds left%@", progress.done, progress.total, rate,
                          left / 60, left % 60, progress.failed > 0 ? ", \(progress.failed) refused" : "")
        }
    }

    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A Tai'an-like organisation and one user per role; prints the new users' tokens, logins and passwords."
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = makeLogger("hotline.seed")
            let tokens = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    try await DemoOrganisation.install(on: connection, logger: logger)
                    return try await DemoOrganisation.installUsers(on: connection, logger: logger)
                }
            }
            if tokens.isEmpty {
                print("the demo organisation and its users were there already")
            }
            // The token third on each line: scripts read it so.
            for user in tokens {
                print("\(user.label) token: \(user.token) login: \(user.login) password: \(user.password)")
            }
        }
    }
}
