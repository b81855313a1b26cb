import Foundation
import Logging
import PostgresNIO

/// A city's organisation loaded in bulk from CSV (issue 17): its units, its users, its
/// categories. The whole file goes in one transaction through the same operations as the API
/// (`Units.create`, `Users.create`, `Categories.create`), so a file with a bad row changes
/// nothing, and the failure says which row and why.
public enum OrganisationImport {
    public enum Kind: String, CaseIterable, Sendable {
        case units, users, categories

        /// The columns of each kind's file, in the order a template has them; the first line of
        /// a file names its columns (any order; the optional ones may be left out).
        public var columns: (required: [String], optional: [String]) {
            switch self {
            case .units: (["code", "name", "group"], ["parent"])
            case .users: (["name", "role"], ["unit", "login", "system"])
            case .categories: (["code", "name"], ["parent", "default_lead_unit", "default_assist_units", "public_description"])
            }
        }
    }

    /// Why the file went in not at all: its row (the header is row 1), the column, the reason.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let row: Int
        public let field: String?
        public let message: String

        public var description: String {
            "row \(row)" + (field.map { ", \($0)" } ?? "") + ": \(message)"
        }
    }

    /// What went in: how many rows, and for users their logins with the passwords made for them
    /// (shown this once; only their hashes are kept).
    public struct Imported: Sendable {
        public var rows = 0
        public var passwords: [(login: String, password: String)] = []
    }

    /// The rows of a file as column → value, blank cells left out.
    static func records(_ kind: Kind, _ text: String) throws -> [[String: String]] {
        let rows: [[String]]
        do {
            rows = try CSVText.parse(text)
        } catch let failure as CSVText.Malformed {
            throw Failure(row: failure.row, field: nil, message: failure.message)
        }
        guard let header = rows.first else { throw Failure(row: 1, field: nil, message: "the file is empty: its first line names the columns") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let known = Set(kind.columns.required + kind.columns.optional)
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw Failure(row: 1, field: unknown, message: "unknown column; the columns are " + (kind.columns.required + kind.columns.optional).joined(separator: ", "))
        }
        if let missing = kind.columns.required.first(where: { !names.contains($0) }) {
            throw Failure(row: 1, field: missing, message: "this column is required")
        }
        if Set(names).count != names.count { throw Failure(row: 1, field: nil, message: "a column is named twice") }
        return try rows.dropFirst().enumerated().compactMap { index, cells in
            if cells.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { return nil }  // a blank line
            guard cells.count == names.count else {
                throw Failure(row: index + 2, field: nil, message: "\(cells.count) cells where the header has \(names.count)")
            }
            var record: [String: String] = ["#row": "\(index + 2)"]
            for (name, cell) in zip(names, cells) {
                let value = cell.trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { record[name] = value }
            }
            return record
        }
    }

    /// Loads the file in one transaction of `connection` (the caller's), or throws `Failure`.
    public static func load(_ kind: Kind, csv text: String, on connection: PostgresConnection, logger: Logger) async throws -> Imported {
        var imported = Imported()
        for record in try records(kind, text) {
            let row = Int(record["#row"]!)!
            do {
                switch kind {
                case .units:
                    let group = try UnitGroup.parse(record["group"] ?? "", field: "group")
                    _ = try await Units.create(Unit(code: record["code"] ?? "", name: record["name"] ?? "", group: group, parent: record["parent"]),
                                               on: connection, logger: logger)
                case .users:
                    let role = try Role.parse(record["role"] ?? "", field: "role")
                    let user = try await Users.create(NewUser(name: record["name"] ?? "", role: role, unit: record["unit"],
                                                              system: record["system"], login: record["login"]), on: connection, logger: logger)
                    if let login = user.login {
                        let password = Passwords.generate()
                        _ = try await Users.update(user.id, UserPatch(password: password), on: connection, logger: logger)
                        imported.passwords.append((login, password))
                    }
                case .categories:
                    let assists = (record["default_assist_units"] ?? "").split { ";, ".contains($0) }.map(String.init)
                    let shown = try record["public_description"].map { value -> Bool in
                        guard let flag = ["true": true, "false": false, "1": true, "0": false, "是": true, "否": false][value.lowercased()] else {
                            throw HotlineError.validation(field: "public_description", "must be true or false")
                        }
                        return flag
                    } ?? false
                    _ = try await Categories.create(Category(code: record["code"] ?? "", name: record["name"] ?? "", parent: record["parent"],
                                                             defaultLeadUnit: record["default_lead_unit"], defaultAssistUnits: assists,
                                                             publicDescription: shown), on: connection, logger: logger)
                }
            } catch let error as HotlineError {
                let field = error.fields.first
                throw Failure(row: row, field: field?.field, message: field?.message ?? error.message)
            }
            imported.rows += 1
        }
        return imported
    }
}

/// CSV as RFC 4180 has it (and as a spreadsheet saves it): commas, double quotes around a cell
/// that holds a comma, a quote or a line break, CRLF or LF, a UTF-8 byte order mark tolerated.
enum CSVText {
    struct Malformed: Error {
        let row: Int
        let message: String
    }

    static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false, wasQuoted = false
        var characters = Array(text)
        if characters.first == "\u{FEFF}" { characters.removeFirst() }
        var index = 0
        func endCell() { row.append(cell); cell = ""; wasQuoted = false }
        func endRow() { endCell(); rows.append(row); row = [] }
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" {
                        cell.append("\""); index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    cell.append(character)
                }
            } else {
                switch character {
                case "\"" where cell.isEmpty && !wasQuoted: quoted = true; wasQuoted = true
                case "\"": throw Malformed(row: rows.count + 1, message: "a quote inside a cell that does not begin with one")
                case ",": endCell()
                case "\r\n", "\n", "\r": endRow()
                default:
                    if wasQuoted { throw Malformed(row: rows.count + 1, message: "text after a quoted cell's closing quote") }
                    cell.append(character)
                }
            }
            index += 1
        }
        if quoted { throw Malformed(row: rows.count + 1, message: "a quoted cell is not closed") }
        if !cell.isEmpty || !row.isEmpty { endRow() }
        return rows
    }
}
