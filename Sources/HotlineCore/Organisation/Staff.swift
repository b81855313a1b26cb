/// The roles of DOMAIN §2.
public enum Role: String, Vocabulary {
    case `operator`, dispatcher, handler, manager, supervisor, admin

    /// The hotline center's own roles: they work every case, not only their unit's.
    public var isCenter: Bool {
        self == .operator || self == .dispatcher || self == .manager
    }

    /// Roles that read every case (a handler reads its unit's; an admin keeps the organisation).
    public var readsAllCases: Bool {
        isCenter || self == .supervisor
    }
}

/// The person behind a request: a user of the service, signed in with a bearer token.
public struct Staff: Sendable, Equatable {
    public let id: Int64
    public let role: Role
    /// The unit a handler acts for; nil for every other role.
    public let unit: String?

    public init(id: Int64, role: Role, unit: String?) {
        self.id = id
        self.role = role
        self.unit = unit
    }

    public func require(_ roles: Role...) throws {
        guard roles.contains(role) else {
            throw HotlineError.forbidden("this needs the role " + roles.map(\.rawValue).joined(separator: " or "))
        }
    }
}

extension Staff {
    /// How this reader sees the free text of a case (DOMAIN §10): the center as written; the
    /// supervisors with the citizen masked; the lead unit masked too, or with the citizen removed
    /// on a report or confidential case; every other unit (assisting, or assigned before), which
    /// never sees identity, removed.
    public func textSight(identityProtected: Bool, leads: Bool) -> TextSight {
        if role.isCenter { return .original }
        if role == .supervisor { return .masked }
        return identityProtected || !leads ? .removed : .masked
    }
}
