import Logging
import RingIO

/// A swift-log handler that keeps every event, for tests that check what
/// the engine logged.
struct CapturingLogHandler: LogHandler {
    struct Event: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    final class Store: Sendable {
        let events = Locked<[Event]>([])
        var all: [Event] { events.withLock { $0 } }
        func with(_ message: String) -> [Event] { all.filter { $0.message == message } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        store.events.withLock {
            $0.append(Event(level: event.level, message: event.message.description, metadata: merged))
        }
    }

    /// A logger whose events land in `store`.
    static func logger(_ store: Store) -> Logger {
        Logger(label: "ringkv-test") { _ in CapturingLogHandler(store: store) }
    }
}
