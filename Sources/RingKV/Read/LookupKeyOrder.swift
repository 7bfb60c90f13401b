/// The ascending byte order of a batched lookup's keys (`startLookup`,
/// ReadPath.swift), found by sorting abbreviated keys: each key's first
/// eight bytes as one big-endian integer (zero-padded), with the full
/// bytes compared only when two abbreviations tie. Most comparisons are
/// then one integer compare instead of a memcmp through two arrays (the
/// sort by bytes was ~1,300 of the ~14,000 instructions a key cost in
/// `multiGet` of 32, callgrind).
///
/// Why the abbreviation orders like the bytes: when two padded prefixes
/// differ, they differ first at some byte i < 8 with bytes 0..<i equal;
/// if both keys have byte i that is the bytes' first difference, and if
/// one key ends before i its padding 0 is below the other's byte (which
/// cannot be 0 there, or the prefixes would not differ at i) — the
/// shorter key, a prefix of the other, sorts first in both orders.
enum LookupKeyOrder {
    struct Entry {
        let prefix: UInt64
        let index: Int
    }

    /// Below this many keys an insertion sort (no buffer, few moves for
    /// a batch); at or above it the standard library's sort.
    static let insertionSortLimit = 64

    /// `keys`' indices in ascending byte order, each run of equal keys
    /// together; `isDuplicate(i)` on the result says whether entry i
    /// equals entry i - 1.
    static func ascending<Keys: RandomAccessCollection>(_ keys: Keys) -> [Entry]
    where Keys.Element == [UInt8], Keys.Index == Int {
        var entries: [Entry] = []
        entries.reserveCapacity(keys.count)
        for i in keys.indices { entries.append(Entry(prefix: prefix(keys[i]), index: i)) }
        let less = { (a: Entry, b: Entry) -> Bool in
            a.prefix != b.prefix ? a.prefix < b.prefix : compareBytes(keys[a.index], keys[b.index]) < 0
        }
        if entries.count >= insertionSortLimit {
            entries.sort(by: less)
            return entries
        }
        for i in entries.indices.dropFirst() {
            let moving = entries[i]
            var j = i
            while j > 0, less(moving, entries[j - 1]) {
                entries[j] = entries[j - 1]
                j -= 1
            }
            entries[j] = moving
        }
        return entries
    }

    /// True when the keys of two entries that are neighbours in
    /// `ascending`'s order are equal.
    @inline(__always)
    static func equal<Keys: RandomAccessCollection>(_ a: Entry, _ b: Entry, in keys: Keys) -> Bool
    where Keys.Element == [UInt8], Keys.Index == Int {
        a.prefix == b.prefix && compareBytes(keys[a.index], keys[b.index]) == 0
    }

    /// The first eight bytes of `key` as a big-endian integer, zero-padded.
    @inline(__always)
    static func prefix(_ key: [UInt8]) -> UInt64 {
        key.withUnsafeBytes { bytes in
            if bytes.count >= 8 { return UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)) }
            var value: UInt64 = 0
            for i in 0..<8 { value = value << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
            return value
        }
    }
}
