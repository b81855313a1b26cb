/// Phone numbers and names as the service keeps and shows them (DOMAIN §10).
public enum Contact {
    /// Digits with an optional leading `+`; spaces, hyphens and brackets dropped. nil if that
    /// does not leave a plausible number (5–20 digits: 95598 to +86 and an extension).
    public static func normalisePhone(_ raw: String) -> String? {
        var out = ""
        for (index, scalar) in raw.trimmingWhitespace().unicodeScalars.enumerated() {
            switch scalar {
            case "0"..."9": out.unicodeScalars.append(scalar)
            case "+" where index == 0: out.append("+")
            case " ", "-", "(", ")": continue
            default: return nil
            }
        }
        let digits = out.filter(\.isNumber).count
        return (5...20).contains(digits) ? out : nil
    }

    /// `138****5678`: the first three and last four digits stay; shorter numbers keep only
    /// their last two.
    public static func maskPhone(_ phone: String) -> String {
        let characters = Array(phone)
        if characters.count >= 10 {
            return String(characters.prefix(3)) + "****" + String(characters.suffix(4))
        }
        return String(repeating: "*", count: max(characters.count - 2, 3)) + String(characters.suffix(2))
    }

    /// `张**`: the first character and two stars, whatever the length.
    public static func maskName(_ name: String) -> String {
        guard let first = name.first else { return "**" }
        return String(first) + "**"
    }

    /// The last four digits, for the citizen's own progress lookup.
    public static func lastFour(_ phone: String) -> String {
        String(phone.filter(\.isNumber).suffix(4))
    }
}
