import Foundation
import Synchronization

/// Where the service takes "now" from. Injected everywhere so that tests (and `--test-clock`)
/// can fix the time and move it across deadlines.
public protocol HotlineClock: Sendable {
    func now() -> Date
}

public struct SystemClock: HotlineClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until it is set or advanced.
public final class SettableClock: HotlineClock {
    private let current: Mutex<Date>

    public init(_ start: Date) {
        self.current = Mutex(start)
    }

    public func now() -> Date {
        current.withLock { $0 }
    }

    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 += seconds }
    }
}
