import Foundation

/// How the knowledge base reads Chinese. PostgreSQL's text search splits words at spaces and
/// Chinese has none, so "停水" inside "红门路小区停水三天" would never be found. Each run of
/// Chinese characters becomes its overlapping two-character pieces (停水, 水三, …) — every
/// two-character word is one of them, and a longer word is all of its pieces — plus its single
/// characters, for one-character questions. Runs of Latin letters and digits stay whole words
/// (5G, 12345, wifi), lower-cased. Full-width forms are folded to their usual ones first.
/// No dictionary, no segmenter, no outside search server: what a word is never has to be guessed.
public enum ChineseText {
    public enum Piece: Equatable, Sendable {
        /// A Chinese run.
        case han(String)
        /// A run of Latin letters or digits.
        case word(String)
    }

    /// The runs of a text, in order.
    public static func pieces(_ text: String) -> [Piece] {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        var pieces: [Piece] = []
        var han = String.UnicodeScalarView()
        var word = String.UnicodeScalarView()
        func flush() {
            if !han.isEmpty { pieces.append(.han(String(han))); han = .init() }
            if !word.isEmpty { pieces.append(.word(String(word))); word = .init() }
        }
        for scalar in folded.unicodeScalars {
            if scalar.properties.isIdeographic {
                if !word.isEmpty { flush() }
                han.append(scalar)
            } else if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                if !han.isEmpty { flush() }
                word.append(scalar)
            } else {
                flush()
            }
        }
        flush()
        return pieces
    }

    /// The longest word indexed. PostgreSQL refuses a lexeme over 2,047 bytes; nobody searches
    /// for a run of 200 letters, so a longer one is left out of the index rather than refused.
    public static let longestWord = 200

    /// A word too long to index, if the text has one (for texts that are refused for it).
    public static func overlongWord(in text: String) -> Bool {
        pieces(text).contains { if case .word(let word) = $0 { word.unicodeScalars.count > longestWord } else { false } }
    }

    /// What an article is indexed by: bigrams and single characters of Chinese runs, and words.
    public static func indexTerms(_ text: String) -> [String] {
        var terms: [String] = []
        for piece in pieces(text) {
            switch piece {
            case .word(let word):
                if word.unicodeScalars.count <= longestWord { terms.append(word) }
            case .han(let run):
                let characters = Array(run)
                for (index, character) in characters.enumerated() {
                    terms.append(String(character))
                    if index + 1 < characters.count { terms.append(String(characters[index...index + 1])) }
                }
            }
        }
        return terms
    }

    /// What a query word must match: every bigram of its Chinese runs (a one-character run
    /// matches that character), and its Latin or digit words.
    public static func queryTerms(_ word: String) -> [String] {
        var terms: [String] = []
        for piece in pieces(word) {
            switch piece {
            case .word(let word):
                terms.append(word)
            case .han(let run):
                let characters = Array(run)
                if characters.count == 1 {
                    terms.append(run)
                } else {
                    for index in 0..<(characters.count - 1) { terms.append(String(characters[index...index + 1])) }
                }
            }
        }
        var seen = Set<String>()
        return terms.filter { seen.insert($0).inserted }
    }

    /// A tsvector literal of weighted fields: each term with its positions and the field's
    /// weight (A, B, C). Terms are Chinese characters, letters and digits: nothing to quote.
    public static func vector(_ fields: [(text: String, weight: Character)]) -> String {
        var positions: [String: [String]] = [:]
        var order: [String] = []
        var position = 0
        for field in fields {
            for term in indexTerms(field.text) {
                position = min(position + 1, 16_383)  // PostgreSQL's largest position
                if positions[term] == nil { order.append(term) }
                positions[term, default: []].append("\(position)\(field.weight)")
            }
        }
        return order.map { "'\($0)':" + positions[$0]!.prefix(256).joined(separator: ",") }.joined(separator: " ")
    }

    /// A tsquery that a text holds every word of `text` (split at spaces) matches: all the
    /// terms of each, a Latin or digit word also as the beginning of a longer one.
    public static func query(allOf text: String) -> String? {
        var terms: [String] = []
        for word in text.split(whereSeparator: { $0.isWhitespace }) {
            for piece in pieces(String(word)) {
                switch piece {
                case .word(let word):
                    if word.unicodeScalars.count <= longestWord { terms.append("'\(word)':*") }
                case .han(let run):
                    terms += queryTerms(run).map { "'\($0)'" }
                }
            }
        }
        var seen = Set<String>()
        terms = terms.filter { seen.insert($0).inserted }
        return terms.isEmpty ? nil : terms.joined(separator: " & ")
    }

    /// A tsquery of one word: all of its terms.
    public static func query(word: String) -> String? {
        let terms = queryTerms(word)
        return terms.isEmpty ? nil : terms.map { "'\($0)'" }.joined(separator: " & ")
    }
}
