import ArgumentParser
import Foundation
import HotlineCore
import HotlineHTTP
import Hummingbird

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the REST API.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on")
    var hostname = ProcessInfo.processInfo.environment["HOTLINE_HOSTNAME"] ?? "127.0.0.1"

    @Option(help: "Port to listen on")
    var port = Int(ProcessInfo.processInfo.environment["HOTLINE_PORT"] ?? "") ?? 8080

    @Option(help: "Most database connections this instance opens")
    var maxConnections = Int(ProcessInfo.processInfo.environment["HOTLINE_DB_CONNECTIONS"] ?? "") ?? 20

    func run() async throws {
        let logger = makeLogger("hotline")
        let configuration = HotlineConfiguration(
            hostname: hostname, port: port, database: try database.postgres(),
            migrations: try database.migrator(), maxDatabaseConnections: maxConnections
        )
        let app = try await buildApplication(configuration, logger: logger)
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the migrations the database lacks.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger("hotline.migrate")
        let migrator = try database.migrator()
        let applied = try await database.withDatabase(logger: logger) { client in
            try await migrator.migrate(client: client, logger: logger)
        }
        print(applied.isEmpty ? "the schema is current" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}
