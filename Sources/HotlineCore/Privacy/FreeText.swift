/// Who the citizen of a case is, as far as free text can repeat it.
public struct CitizenIdentity: Sendable, Equatable {
    public var name: String?
    public var phone: String?

    public init(name: String? = nil, phone: String? = nil) {
        self.name = name
        self.phone = phone
    }

    public static let none = CitizenIdentity()
}

/// How a reader sees the free text of a case (DOMAIN §10).
public enum TextSight: Sendable, Equatable {
    /// The center: the text as written.
    case original
    /// A unit (and the supervisors): the citizen's name and phone, and every shape of a phone
    /// number, an ID-card number or a bank card, masked.
    case masked
    /// A unit on a report or confidential case, and the public: the same, removed.
    case removed
}

/// "Free text is identity too" (DOMAIN §10). Citizens say their name and number in the
/// description and operators write them in notes; wherever a unit reads free text, this is what
/// it reads. The detector finds:
///
/// - runs of digits (ASCII or full-width, single spaces or hyphens between them, an optional
///   leading `+`, an ID card's final X) shaped like a mobile number (11 digits from 13–19, or with
///   86 before), a landline (10–12 digits from 0; 7–8 digits from 2–9 that are not a date), an
///   ID card (15 or 18 digits, whatever its check digit), a bank card (16–19 digits) or anything
///   longer;
/// - the case's own citizen's phone inside any digit run, and their full name anywhere.
///
/// Case numbers (14 digits), dates (`20260301`), house numbers and amounts stay as they are.
/// Numbers spelt in Chinese numerals (一三八…) are not recognised.
public enum FreeText {
    /// Raised whenever what the detector finds changes: the search vectors cut by an older one
    /// are cut again by `hotline reindex` (reads are masked afresh each time anyway).
    public static let version: Int16 = 1

    /// What replaces identity on a case whose citizen no unit may know.
    public static let removedMark = "（已隐去）"

    /// The text as a reader with `sight` may see it; `identities` are the citizens whose names
    /// and phones it may repeat (the case's own, and for a merged case's reply its master's).
    public static func shown(_ text: String, to sight: TextSight, identities: [CitizenIdentity]) -> String {
        guard sight != .original else { return text }
        let spans = find(in: Array(text.unicodeScalars), identities: identities)
        guard !spans.isEmpty else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var position = 0
        for span in spans {
            out.append(contentsOf: scalars[position..<span.range.lowerBound])
            out.append(contentsOf: (sight == .removed ? removedMark : span.masked).unicodeScalars)
            position = span.range.upperBound
        }
        out.append(contentsOf: scalars[position...])
        return String(out)
    }

    public static func shown(_ text: String?, to sight: TextSight, identities: [CitizenIdentity]) -> String? {
        text.map { shown($0, to: sight, identities: identities) }
    }

    /// Every string inside a JSON value (a timeline event's details), as `shown`.
    public static func shown(_ value: JSONValue, to sight: TextSight, identities: [CitizenIdentity]) -> JSONValue {
        guard sight != .original else { return value }
        switch value {
        case .string(let text): return .string(shown(text, to: sight, identities: identities))
        case .array(let items): return .array(items.map { shown($0, to: sight, identities: identities) })
        case .object(let members): return .object(members.mapValues { shown($0, to: sight, identities: identities) })
        default: return value
        }
    }

    /// What the operator is warned of at intake: the text repeats the citizen's name or phone,
    /// or holds a valid ID-card number (its check digit right).
    public enum Finding: String, Sendable, CaseIterable {
        case citizenName = "citizen_name"
        case citizenPhone = "citizen_phone"
        case idCard = "id_card"
    }

    public static func findings(_ text: String, identity: CitizenIdentity) -> Set<Finding> {
        var found: Set<Finding> = []
        for span in find(in: Array(text.unicodeScalars), identities: [identity]) {
            switch span.kind {
            case .name: found.insert(.citizenName)
            case .digits(let digits, let citizenPhone):
                if citizenPhone { found.insert(.citizenPhone) }
                if isValidIDCard(digits) { found.insert(.idCard) }
            }
        }
        return found
    }

    // MARK: Finding

    struct Span {
        enum Kind {
            case name
            /// The digits of the run (and an ID card's X), and whether they hold the citizen's phone.
            case digits(String, citizenPhone: Bool)
        }

        let range: Range<Int>
        let kind: Kind
        let masked: String
    }

    /// The spans to hide, in order, never overlapping.
    static func find(in scalars: [Unicode.Scalar], identities: [CitizenIdentity]) -> [Span] {
        let phones = identities.compactMap { $0.phone.map { String($0.filter(\.isNumber)) } }.filter { $0.count >= 5 }
        var spans: [Span] = []
        var index = 0
        while index < scalars.count {
            guard digit(scalars[index]) != nil || (scalars[index] == "+" && index + 1 < scalars.count && digit(scalars[index + 1]) != nil)
            else { index += 1; continue }
            let (end, digits) = digitRun(scalars, from: index)
            let holdsPhone = phones.contains { digits.contains($0) }
            if holdsPhone || isSensitive(digits) {
                spans.append(Span(range: index..<end, kind: .digits(digits, citizenPhone: holdsPhone), masked: maskDigits(digits)))
            }
            index = end
        }
        // The citizen's full name; a one-character name would hide that character everywhere.
        let names = Set(identities.compactMap(\.name).map { Array($0.unicodeScalars) }.filter { $0.count >= 2 })
        for name in names {
            var start = 0
            while start + name.count <= scalars.count {
                if scalars[start] == name[0], Array(scalars[start..<start + name.count]) == name,
                   !spans.contains(where: { $0.range.overlaps(start..<start + name.count) }) {
                    spans.append(Span(range: start..<start + name.count, kind: .name, masked: Contact.maskName(String(String.UnicodeScalarView(name)))))
                    start += name.count
                } else {
                    start += 1
                }
            }
        }
        return spans.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// A digit, ASCII or full-width, as its ASCII character.
    static func digit(_ scalar: Unicode.Scalar) -> Character? {
        switch scalar.value {
        case 0x30...0x39: Character(scalar)
        case 0xFF10...0xFF19: Character(Unicode.Scalar(scalar.value - 0xFF10 + 0x30)!)
        default: nil
        }
    }

    /// Between two digits of one number: a space, an ideographic space, a hyphen or dash, a dot
    /// or a slash (138.1234.5678). Decimals and dates joined so stay what they are: too short, or
    /// a date.
    static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        [0x20, 0x3000, 0x2D, 0xFF0D, 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2212, 0x2E, 0xFF0E, 0x2F, 0xFF0F].contains(scalar.value)
    }

    /// The run that starts at `start` (a digit or a `+` before one): where it ends, its digits.
    static func digitRun(_ scalars: [Unicode.Scalar], from start: Int) -> (end: Int, digits: String) {
        var digits = ""
        var index = start
        if scalars[index] == "+" { index += 1 }
        var end = index
        while index < scalars.count {
            if let d = digit(scalars[index]) {
                digits.append(d)
                index += 1
                end = index
            } else if isSeparator(scalars[index]), index + 1 < scalars.count, digit(scalars[index + 1]) != nil {
                index += 1
            } else {
                break
            }
        }
        // An ID card's check character.
        if digits.count == 17, end < scalars.count, scalars[end] == "X" || scalars[end] == "x" || scalars[end] == "Ｘ" {
            digits.append("X")
            end += 1
        }
        return (end, digits)
    }

    /// Whether a run of digits has the shape of a phone number, an ID card or a bank card.
    static func isSensitive(_ digits: String) -> Bool {
        let d = Array(digits)
        switch d.count {
        case 0...6: return false
        case 7, 8:
            // A local landline (2–9…); never a date such as 20260301.
            return ("2"..."9").contains(d[0]) && !(d.count == 8 && isDate(d))
        case 10, 12: return d[0] == "0"
        case 11: return d[0] == "0" || (d[0] == "1" && ("3"..."9").contains(d[1]))
        case 13: return d[0] == "8" && d[1] == "6" && d[2] == "1" && ("3"..."9").contains(d[3])
        case 14: return false  // a case number: YYYYMMDD and the day's sequence
        case 9: return false
        default: return true  // 15 and 18 (ID cards), 16–19 (bank cards), and anything longer
        }
    }

    static func isDate(_ d: [Character]) -> Bool {
        guard let year = Int(String(d[0..<4])), let month = Int(String(d[4..<6])), let day = Int(String(d[6..<8])) else { return false }
        return (1900...2099).contains(year) && (1...12).contains(month) && (1...31).contains(day)
    }

    /// `138****5678`: the first three and the last four stay (an ID card keeps its X); shorter
    /// numbers keep only their last two.
    static func maskDigits(_ digits: String) -> String {
        Contact.maskPhone(digits)
    }

    /// A mainland ID-card number whose check character (GB 11643) is right.
    public static func isValidIDCard(_ digits: String) -> Bool {
        let d = Array(digits)
        guard d.count == 18, d[0..<17].allSatisfy(\.isASCII), d[0..<17].allSatisfy(\.isNumber) else { return false }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(d[0..<17], weights).reduce(0) { $0 + Int(String($1.0))! * $1.1 }
        return Array("10X98765432")[sum % 11] == d[17]
    }
}
