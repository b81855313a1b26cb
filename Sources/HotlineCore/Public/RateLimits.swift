import Foundation
import Logging
import PostgresNIO

/// How much the public may ask (DOMAIN §13), the same for every instance: the counts live in
/// PostgreSQL.
public struct PublicLimits: Sendable {
    /// Progress lookups per address block (an IPv4 address, an IPv6 /64) and minute.
    public var lookupsPerMinute: Int
    /// Wrong lookups of one case number before its lookup is locked.
    public var failuresBeforeLock: Int
    /// How long a locked number answers "no such case" whatever is asked.
    public var lockDuration: Duration
    /// Requests filed per Open311 API key and minute.
    public var open311PostsPerMinute: Int

    public init(lookupsPerMinute: Int = 10, failuresBeforeLock: Int = 5, lockDuration: Duration = .seconds(15 * 60),
                open311PostsPerMinute: Int = 30) {
        self.lookupsPerMinute = lookupsPerMinute
        self.failuresBeforeLock = failuresBeforeLock
        self.lockDuration = lockDuration
        self.open311PostsPerMinute = open311PostsPerMinute
    }
}

public enum RateLimits {
    /// Counts one request of `key` in its current minute; whether it stays within `limit`. One
    /// statement, so two instances counting at once count both.
    public static func allow(
        _ key: String, limit: Int, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let windowStart = now.addingTimeInterval(-60)
        let hits = try await connection.row(Count(query: """
            INSERT INTO rate_limits (key, window_start, hits) VALUES (\(key), \(now), 1)
            ON CONFLICT (key) DO UPDATE SET
                hits = CASE WHEN rate_limits.window_start <= \(windowStart) THEN 1 ELSE rate_limits.hits + 1 END,
                window_start = CASE WHEN rate_limits.window_start <= \(windowStart) THEN EXCLUDED.window_start
                                    ELSE rate_limits.window_start END
            RETURNING hits
            """), logger: logger)!.value("hits", as: Int32.self)
        return Int(hits) <= limit
    }

    struct Count: PreparedStatement { let query: PostgresQuery }

    /// What a client is counted by: its IPv4 address, or the /64 of its IPv6 address (a host is
    /// given a whole /64, so every address in it is the same client).
    public static func block(of address: String) -> String {
        if let v4 = ipv4(address) { return "ip4:" + v4 }
        if let hextets = ipv6(address) {
            // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 address.
            if hextets[0..<5].allSatisfy({ $0 == 0 }), hextets[5] == 0xFFFF {
                return "ip4:\(hextets[6] >> 8).\(hextets[6] & 0xFF).\(hextets[7] >> 8).\(hextets[7] & 0xFF)"
            }
            return "ip6:" + hextets[0..<4].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
        }
        return "other:" + String(address.prefix(64))
    }

    static func ipv4(_ text: String) -> String? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let octets = parts.compactMap { part -> UInt8? in
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII) else { return nil }
            return UInt8(part)
        }
        return octets.count == 4 ? octets.map(String.init).joined(separator: ".") : nil
    }

    /// The eight 16-bit groups of an IPv6 address ("::" expanded, a zone dropped, a trailing
    /// dotted IPv4 read as two groups).
    static func ipv6(_ text: String) -> [UInt16]? {
        var address = Substring(text)
        if let zone = address.firstIndex(of: "%") { address = address[..<zone] }
        if address.hasPrefix("[") && address.hasSuffix("]") { address = address.dropFirst().dropLast() }
        guard address.contains(":"), address.count <= 45 else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), let v4 = ipv4(String(piece)) {
                    let o = v4.split(separator: ".").map { UInt16($0)! }
                    out += [o[0] << 8 | o[1], o[2] << 8 | o[3]]
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    out.append(value)
                }
            }
            return out
        }
        let halves = address.components(separatedBy: "::")
        switch halves.count {
        case 1:
            guard let all = groups(address), all.count == 8 else { return nil }
            return all
        case 2:
            guard let head = groups(Substring(halves[0])), let tail = groups(Substring(halves[1])), head.count + tail.count <= 7
            else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
    }

    /// Forgets counts and locks that no longer matter; returns how many rows went.
    public static func expire(at now: Date, limits: PublicLimits, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let minuteAgo = now.addingTimeInterval(-60)
        let lockAgo = now.addingTimeInterval(-Double(limits.lockDuration.components.seconds))
        let counts = try await connection.execute(
            "DELETE FROM rate_limits WHERE window_start < \(minuteAgo) RETURNING 1", logger: logger
        )
        let locks = try await connection.execute("""
            DELETE FROM lookup_locks
            WHERE first_failure_at < \(lockAgo) AND (locked_until IS NULL OR locked_until < \(now)) RETURNING 1
            """, logger: logger)
        return counts + locks
    }
}
