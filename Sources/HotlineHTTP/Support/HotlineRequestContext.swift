import HotlineCore
import Hummingbird
import Logging

/// The request context: Hummingbird's core storage plus who is signed in.
public struct HotlineRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `Authenticator` on every route under /api/v1.
    public var staff: Staff?
    /// Set by `WorkbenchSession` on the workbench's pages (and `staff` with it).
    var workbenchUser: SignedIn?
    /// A workbench form as posted, its CSRF token already checked (`WorkbenchSession`).
    var form: WorkbenchForm?
    /// The peer's IP address, for rate limits (behind a proxy, see `ClientAddress`).
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.staff = nil
        self.workbenchUser = nil
        self.form = nil
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies larger than this are refused with 413 before they are read in full.
    public var maxUploadSize: Int { 1 << 20 }

    /// The signed-in staff member; routes behind the authenticator always have one.
    func signedIn() throws -> Staff {
        guard let staff else {
            throw HotlineError(.unauthorized, code: .unauthorized, "sign in with a bearer token")
        }
        return staff
    }
}
