#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import ArgumentParser
import Foundation
import HotlineCore
import HotlineHTTP
import Logging
import PostgresNIO

@main
struct Hotline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotline",
        abstract: "The backend of a 12345 government service hotline.",
        subcommands: [Serve.self, Migrate.self, Sweep.self, Reindex.self, UsersCommand.self, ImportCommand.self, CalendarCommand.self, DeliveriesCommand.self, SMSCommand.self, Seed.self, Bench.self]
    )
}

/// Options every command shares: where the database is and where the migrations are.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:port/name (default: $DATABASE_URL)")
    var databaseURL: String?

    @Option(help: "Directory of the numbered SQL migrations (default: $HOTLINE_MIGRATIONS, else ./sql)")
    var migrations: String?

    func postgres() throws -> PostgresClient.Configuration {
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw ValidationError("set DATABASE_URL or pass --database-url")
        }
        return try DatabaseURL.configuration(url)
    }

    func migrator() throws -> Migrator {
        try Migrator(directory: Migrator.locate(migrations))
    }

    /// Runs `body` with a connected client, shutting it down afterwards.
    func withDatabase<T: Sendable>(
        logger: Logger, _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        // A one-shot command races its own pool start-up; PostgresNIO's warning about it is noise here.
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: try postgres(), backgroundLogger: background)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

/// Progress lines go out as they are printed, also into a file or a pipe.
func printLinesAsTheyCome() {
    // Set once, at the start of a command, before anything else prints.
    setvbuf(stdout, nil, _IOLBF, 0)
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    logger.logLevel = level
    return logger
}

/// A logger at a fixed level, for the commands that print their own progress.
func makeLogger(_ label: String, level: Logger.Level) -> Logger {
    var logger = makeLogger(label)
    logger.logLevel = level
    return logger
}
