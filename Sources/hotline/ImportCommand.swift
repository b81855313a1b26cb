import ArgumentParser
import Foundation
import HotlineCore

/// `hotline import units|users|categories FILE.csv`: a city's organisation in bulk. The file goes
/// in whole or not at all; a bad row is named with its reason.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load units, users or categories from a CSV file (all rows, or none).",
        discussion: """
            The first line names the columns. units: code,name,group[,parent] (a parent before its \
            children); users: name,role[,unit,login,system] (a user with a login gets a password, \
            printed once as 'login password'); categories: code,name[,parent,default_lead_unit,\
            default_assist_units,public_description] (assisting units separated by ';').
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "units, users or categories") var kind: String
    @Argument(help: "The CSV file (UTF-8)") var file: String

    func run() async throws {
        guard let kind = OrganisationImport.Kind(rawValue: kind) else {
            throw ValidationError("the first argument is units, users or categories")
        }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(file) as UTF-8 text")
        }
        let logger = makeLogger("hotline.import", level: .warning)
        do {
            let imported = try await database.withDatabase(logger: logger) { client in
                try await Database(client: client).transaction(logger: logger) { connection in
                    try await OrganisationImport.load(kind, csv: text, on: connection, logger: logger)
                }
            }
            for (login, password) in imported.passwords { print("\(login) \(password)") }
            FileHandle.standardError.write(Data("imported \(imported.rows) \(kind.rawValue) from \(file)\n".utf8))
        } catch let failure as OrganisationImport.Failure {
            throw ValidationError("\(file): \(failure); nothing was imported")
        }
    }
}
