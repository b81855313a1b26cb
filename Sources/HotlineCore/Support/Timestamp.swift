import Foundation

/// RFC 3339 times as the API writes and reads them. Written in Asia/Shanghai (`+08:00`), whole
/// seconds; read with any offset and optional fractional seconds.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let seconds = Int(floor(date.timeIntervalSince1970))
        let local = seconds + LocalDate.utcOffsetSeconds
        let day = LocalDate(dayNumber: Int(floor(Double(local) / 86_400)))
        let secondOfDay = local - day.dayNumber * 86_400
        return String(
            format: "%@T%02d:%02d:%02d+08:00",
            day.description, secondOfDay / 3600, (secondOfDay / 60) % 60, secondOfDay % 60
        )
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let s = Array(text.utf8)
        guard s.count >= 20, s.allSatisfy({ $0 < 0x80 }) else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= s.count else { return nil }
            var value = 0
            for i in range {
                guard s[i] >= 0x30, s[i] <= 0x39 else { return nil }
                value = value * 10 + Int(s[i] - 0x30)
            }
            return value
        }
        guard let date = LocalDate(iso: String(decoding: s[0..<10], as: UTF8.self)),
              s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: "t"),
              s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction = 0.0
        if s[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                fraction += Double(s[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < s.count else { return nil }
        var offset = 0
        if s[i] == UInt8(ascii: "Z") || s[i] == UInt8(ascii: "z") {
            guard i + 1 == s.count else { return nil }
        } else {
            guard s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-"), i + 6 == s.count,
                  s[i + 3] == UInt8(ascii: ":"),
                  let oh = number(i + 1..<i + 3), let om = number(i + 4..<i + 6), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (s[i] == UInt8(ascii: "-") ? -1 : 1)
        }
        let utcSeconds = date.dayNumber * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: TimeInterval(utcSeconds) + fraction)
    }
}
