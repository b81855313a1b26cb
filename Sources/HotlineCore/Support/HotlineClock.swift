import Foundation
import Synchronization

/// Where the service takes "now" from. Injected everywhere so that tests (and `--test-clock`)
/// can fix the time and move it across deadlines. Every clock answers whole seconds (DOMAIN §5):
/// what is stored is what the API shows and what was compared, so an action at 23:59:59.4 is
/// at 23:59:59, on time.
public protocol HotlineClock: Sendable {
    func now() -> Date
}

extension Date {
    /// This time truncated to the second.
    public var wholeSecond: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

public struct SystemClock: HotlineClock {
    public init() {}
    public func now() -> Date { Date().wholeSecond }
}

/// A clock that stands still until it is set or advanced.
public final class SettableClock: HotlineClock {
    private let current: Mutex<Date>

    public init(_ start: Date) {
        self.current = Mutex(start)
    }

    public func now() -> Date {
        current.withLock { $0 }.wholeSecond
    }

    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 += seconds }
    }
}
