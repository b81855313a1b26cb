import Crypto
import Foundation
import NIOPosix
import _CryptoExtras

/// Workbench passwords (DOMAIN §13, §16): kept only as PBKDF2-HMAC-SHA512 with a random salt,
/// at OWASP's 210,000 rounds, written `pbkdf2-sha512$ROUNDS$SALT$KEY` (base64) so that the
/// rounds can rise later without invalidating what is stored.
public enum Passwords {
    static let rounds = 210_000
    static let saltBytes = 16
    static let keyBytes = 64
    /// NIST SP 800-63B asks for at least 8; a shared office terminal deserves a little more.
    public static let shortest = 10
    public static let longest = 128

    /// The problem with a password as chosen, if any (said as the field's problem).
    public static func problem(_ password: String, login: String?) -> String? {
        let count = password.unicodeScalars.count
        if count < shortest { return "must be at least \(shortest) characters" }
        if count > longest { return "must be at most \(longest) characters" }
        if Set(password).count < 4 { return "must not repeat a few characters" }
        if let login, password.lowercased().contains(login.lowercased()) { return "must not contain the login" }
        return nil
    }

    /// A password to hand out (the demo's users): 14 of 31 letters and digits that cannot be
    /// mistaken for one another, about 69 bits.
    public static func generate() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        while true {
            let password = String((0..<14).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
            if problem(password, login: nil) == nil { return password }
        }
    }

    public static func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: saltBytes)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let key = try derive(password, salt: salt, rounds: rounds)
        return "pbkdf2-sha512$\(rounds)$\(Data(salt).base64EncodedString())$\(key.withUnsafeBytes { Data($0) }.base64EncodedString())"
    }

    /// Whether `password` is the one `stored` was made from; false for anything malformed.
    /// The keys are compared in constant time (SymmetricKey's equality).
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2-sha512", let rounds = Int(parts[1]), (Self.rounds...10_000_000).contains(rounds),
              let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3])),
              expected.count == keyBytes,
              let key = try? derive(password, salt: Array(salt), rounds: rounds)
        else { return false }
        return key == SymmetricKey(data: expected)
    }

    /// `hash` and `verify` take a tenth of a second or more of CPU: off the event loops (which
    /// run the service's tasks, see Serve), on NIO's thread pool.
    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    static func derive(_ password: String, salt: [UInt8], rounds: Int) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha512, outputByteCount: keyBytes, rounds: rounds)
    }
}
