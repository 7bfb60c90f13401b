import RingIO

/// The tables of every installed `Version` some reader may still hold:
/// what `VersionSet.liveFileNumbers()` keeps on disk besides the current
/// versions.
///
/// Data flows: the version set calls `track` for each version it
/// installs; the version remembers this registry, and its `deinit` —
/// when the last reader drops it — calls `remove`. The registry keeps
/// numbers only, never a `Version`, so no reader's version outlives its
/// readers, and none is referenced weakly: a weak reference gives its
/// object a side table for life, and every retain and release the read
/// path makes of the current version then took the runtime's slow path
/// (~4.5 % of YCSB C's CPU at 200k records, `perf record -g`).
///
/// Lock order: a version may die while its holder has the version set's
/// `state` lock, so `entries` is taken after `state`, never before.
final class LiveVersions: Sendable {
    /// Version id → the table numbers of that version.
    private let entries = Locked<[UInt64: Set<UInt64>]>([:])

    /// Registers `version` (once: later calls do nothing).
    func track(_ version: Version) {
        guard version.attach(to: self) else { return }
        let numbers = version.fileNumbers
        entries.withLock { $0[version.id] = numbers }
    }

    /// Called by a tracked version's `deinit`.
    func remove(id: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// The tables of every tracked version still alive.
    var fileNumbers: Set<UInt64> {
        entries.withLock { e in e.values.reduce(into: Set<UInt64>()) { $0.formUnion($1) } }
    }

    /// How many tracked versions are alive.
    var count: Int { entries.withLock { $0.count } }
}
