/// The roles of DOMAIN §2.
public enum Role: String, Vocabulary {
    case `operator`, dispatcher, handler, manager, supervisor, admin
    /// An outside system's client (an upper platform, 110): it sends that system's cases and
    /// reads them back, masked (DOMAIN §14).
    case exchange

    /// The hotline center's own roles: they work every case, not only their unit's (a
    /// dispatcher only when it belongs to no unit: see `Staff.isCenter`).
    var isCenter: Bool {
        self == .operator || self == .dispatcher || self == .manager
    }
}

/// The person behind a request: a user of the service, signed in with a bearer token.
public struct Staff: Sendable, Equatable {
    public let id: Int64
    public let role: Role
    /// The unit a handler acts for, or a unit dispatcher's (a sub-center's, DOMAIN §2); nil for
    /// every other role.
    public let unit: String?
    /// The outside system an exchange client is bound to; nil for every other role.
    public let system: String?

    public init(id: Int64, role: Role, unit: String?, system: String? = nil) {
        self.id = id
        self.role = role
        self.unit = unit
        self.system = system
    }

    /// The center's own staff: they work every case. A unit's dispatcher is not one of them.
    public var isCenter: Bool { role.isCenter && unit == nil }

    /// Who reads every case (a unit's handler and dispatcher read their unit's; an admin keeps the
    /// organisation).
    public var readsAllCases: Bool { isCenter || role == .supervisor }

    /// A dispatcher of a unit's sub-center (分中心): it acts for its unit's cases only.
    public var isUnitDispatcher: Bool { role == .dispatcher && unit != nil }

    /// The unit whose cases this reader reads as that unit does: a handler's, a unit dispatcher's.
    public var readingUnit: String? { role == .handler || isUnitDispatcher ? unit : nil }

    /// A role check for what the center's roles (or a handler, a manager, …) may do. A unit's
    /// dispatcher passes none: what it may do is settled case by case by the lifecycle table.
    public func require(_ roles: Role...) throws {
        guard roles.contains(role), !isUnitDispatcher else {
            throw HotlineError.forbidden("this needs the role " + roles.map(\.rawValue).joined(separator: " or ")
                + (isUnitDispatcher ? " of the center; a unit's dispatcher acts on its unit's cases only" : ""))
        }
    }
}

extension Staff {
    /// How this reader sees the free text of a case (DOMAIN §10): the center as written; the
    /// supervisors with the citizen masked; the lead unit masked too, or with the citizen removed
    /// on a report or confidential case; every other unit (assisting, or assigned before), which
    /// never sees identity, removed.
    public func textSight(identityProtected: Bool, leads: Bool) -> TextSight {
        if isCenter { return .original }
        if role == .supervisor { return .masked }
        return identityProtected || !leads ? .removed : .masked
    }
}
