/// What one batched lookup (`DBImpl.lookup`, ReadPath.swift) keeps to
/// itself until it ends: the table readers it met, and its counts for
/// `StatsCounters`.
///
/// Per key, the walk would otherwise take the table cache's shared lock
/// and hash the file number (`TableCache.reader(for:)`) for every table it
/// searches, and add to two atomic counters that every reading thread
/// writes — cache lines the threads pass back and forth. A lookup holds
/// its view's version, so every table of it stays on disk, and a reader
/// it holds stays open (a reader closes its file when the last reference
/// goes). Keys are walked in ascending order, so neighbouring keys mostly
/// search the same tables: the list stays short (one entry per table the
/// lookup searched, at most `maxRemembered`) and is searched linearly.
struct LookupTally {
    private var numbers: [UInt64] = []
    private var readers: [TableReader] = []
    /// Tables searched past their key range (`StatsCounters.tableLookups`).
    var tableLookups: UInt64 = 0
    /// Bytes of values found in tables (`StatsCounters.userBytesRead`).
    var userBytesRead: UInt64 = 0

    /// The reader of table `number` if this lookup met it already.
    @inline(__always)
    func reader(_ number: UInt64) -> TableReader? {
        // Newest first: the key just before searched the same tables.
        var i = numbers.count - 1
        while i >= 0 {
            if numbers[i] == number { return readers[i] }
            i -= 1
        }
        return nil
    }

    /// Tables remembered at most: a lookup of many keys over many tables
    /// asks the table cache for the rest instead of searching a long list.
    static let maxRemembered = 64

    mutating func remember(_ reader: TableReader, _ number: UInt64) {
        guard numbers.count < Self.maxRemembered else { return }
        if numbers.isEmpty {
            // One allocation each instead of four or five growths.
            numbers.reserveCapacity(16)
            readers.reserveCapacity(16)
        }
        numbers.append(number)
        readers.append(reader)
    }

    /// Adds the counts to `stats` (once, when the lookup ends).
    func publish(to stats: StatsCounters) {
        if tableLookups > 0 { stats.tableLookups.add(tableLookups) }
        if userBytesRead > 0 { stats.userBytesRead.add(userBytesRead) }
    }
}
