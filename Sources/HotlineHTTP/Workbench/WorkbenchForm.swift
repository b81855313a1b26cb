import Foundation
import HotlineCore
import Hummingbird

/// A form as a browser posts it (application/x-www-form-urlencoded): every value of every name,
/// in order, as typed.
struct WorkbenchForm: Sendable {
    let values: [(name: String, value: String)]

    /// The first value of `name`, or nil.
    subscript(_ name: String) -> String? {
        values.first { $0.name == name }?.value
    }

    /// The first value of `name`, trimmed; nil when absent or blank.
    func text(_ name: String) -> String? {
        self[name].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Every value of `name` (checkboxes, multiple selects).
    func all(_ name: String) -> [String] {
        values.filter { $0.name == name }.map(\.value)
    }

    init(pairs: [(String, String)]) {
        values = pairs.map { (name: $0.0, value: $0.1) }
    }

    init(_ body: String) {
        values = body.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    static func decode(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The body of a posted form; anything but a form is refused (a page never sends one).
    static func read(_ request: inout Request, context: HotlineRequestContext) async throws -> WorkbenchForm {
        let media = request.headers[.contentType]?.split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard media == "application/x-www-form-urlencoded" else {
            throw HotlineError(.unsupportedMediaType, code: .unsupportedMediaType, "a workbench form is sent as application/x-www-form-urlencoded")
        }
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        return WorkbenchForm(String(decoding: buffer.readableBytesView, as: UTF8.self))
    }
}
