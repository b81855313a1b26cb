import Foundation
import NIOSSL
import PostgresNIO

/// `postgres://user:password@host:port/name[?sslmode=disable|prefer|require]`, as libpq reads it.
public enum DatabaseURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql"
        else {
            throw Invalid(description: "DATABASE_URL must look like postgres://user:password@host:port/name")
        }
        guard let host = components.host, !host.isEmpty else {
            throw Invalid(description: "DATABASE_URL has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw Invalid(description: "DATABASE_URL has no user")
        }
        let name = String(components.path.drop(while: { $0 == "/" }))
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let rootCertificate = components.queryItems?.first(where: { $0.name == "sslrootcert" })?.value
        // As libpq reads sslmode: prefer and require encrypt without checking the server's
        // certificate (require checks it against sslrootcert when one is named); verify-ca
        // checks the certificate, verify-full the host name too.
        func client(_ verification: CertificateVerification) -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = verification
            if let rootCertificate { configuration.trustRoots = .file(rootCertificate) }
            return configuration
        }
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(client(.none))
        case "require": tls = .require(client(rootCertificate == nil ? .none : .noHostnameVerification))
        case "verify-ca": tls = .require(client(.noHostnameVerification))
        case "verify-full": tls = .require(client(.fullVerification))
        default: throw Invalid(description: "DATABASE_URL has an unknown sslmode")
        }
        return PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding,
            database: name.isEmpty ? nil : (name.removingPercentEncoding ?? name),
            tls: tls
        )
    }
}
