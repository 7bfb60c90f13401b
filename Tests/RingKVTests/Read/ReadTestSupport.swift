import Glibc
import RingIO
import Synchronization
@testable import RingKV

/// An IOBackend that forwards to a real one and counts the calls (and can
/// fail every read of one descriptor), to prove how reads are batched.
final class CountingBackend: IOBackend {
    let base: any IOBackend
    private let batches = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)
    private let bytes = Atomic<Int>(0)
    /// Reads of this descriptor fail with EIO (-1: none).
    let failingFD = Atomic<Int32>(-1)

    init(_ base: any IOBackend) { self.base = base }

    var readBatchCalls: Int { batches.load(ordering: .relaxed) }
    var readRequests: Int { requests.load(ordering: .relaxed) }
    var bytesRequested: Int { bytes.load(ordering: .relaxed) }
    func resetCounts() {
        batches.store(0, ordering: .relaxed)
        requests.store(0, ordering: .relaxed)
        bytes.store(0, ordering: .relaxed)
    }

    var name: String { base.name }

    func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(IOError) -> Int {
        var requests = [ReadRequest(fd: fd, offset: offset, length: buffer.count, buffer: buffer.baseAddress!)]
        try readBatch(&requests)
        if let error = requests[0].error { throw error }
        return requests[0].bytesRead
    }

    func write(fd: Int32, from buffer: UnsafeRawBufferPointer, offset: UInt64) throws(IOError) {
        try base.write(fd: fd, from: buffer, offset: offset)
    }

    func writeBatch(_ requests: [WriteRequest]) throws(IOError) { try base.writeBatch(requests) }

    func readBatch(_ requests: inout [ReadRequest]) throws(IOError) {
        batches.add(1, ordering: .relaxed)
        self.requests.add(requests.count, ordering: .relaxed)
        bytes.add(requests.reduce(0) { $0 + $1.length }, ordering: .relaxed)
        try base.readBatch(&requests)
        let failing = failingFD.load(ordering: .relaxed)
        for i in requests.indices where requests[i].fd == failing {
            requests[i].error = IOError(operation: "test read", errno: EIO, offset: requests[i].offset)
            requests[i].bytesRead = 0
        }
    }

    /// Counted like a `readBatch` (one submission); the reads stay
    /// asynchronous on the base backend, and `failingFD` fails at harvest.
    func submitReads(_ requests: [ReadRequest], buffer: SharedAlignedBuffer) throws(IOError) -> PendingReads {
        batches.add(1, ordering: .relaxed)
        self.requests.add(requests.count, ordering: .relaxed)
        bytes.add(requests.reduce(0) { $0 + $1.length }, ordering: .relaxed)
        let pending = try base.submitReads(requests, buffer: buffer)
        let failing = failingFD.load(ordering: .relaxed)
        pending.onCompletion { requests in
            for i in requests.indices where requests[i].fd == failing {
                requests[i].error = IOError(operation: "test read", errno: EIO, offset: requests[i].offset)
                requests[i].bytesRead = 0
            }
        }
        return pending
    }

    func sync(fd: Int32, dataOnly: Bool) throws(IOError) { try base.sync(fd: fd, dataOnly: dataOnly) }

    func preallocate(fd: Int32, offset: UInt64, length: UInt64) throws(IOError) {
        try base.preallocate(fd: fd, offset: offset, length: length)
    }
}

enum ReadTestSupport {
    static func key(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return Array(("key" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8)
    }

    /// A value of 60...310 bytes naming its key and version; half of them
    /// compress well.
    static func value(_ i: Int, _ tag: String) -> [UInt8] {
        let head = Array("\(tag)-\(i)-".utf8)
        let n = 60 + (i &* 7919) % 251
        if i % 2 == 0 { return head + [UInt8](repeating: UInt8(i % 251), count: n) }
        var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(tag.utf8.count)
        return head + (0..<n).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: x >> 56)
        }
    }

    /// A table's entries in internal-key order, one version per key.
    static func tableEntries(_ keys: Range<Int>, tag: String, firstSequence: UInt64) -> [(key: [UInt8], value: [UInt8])] {
        keys.enumerated().map { n, i in
            (InternalKey.make(key(i), firstSequence + UInt64(n), .value), value(i, tag))
        }
    }
}

/// A database whose keys live at every depth: three tables at L3, one at
/// L2 (overwrites and deletions), two at L1, two at L0, and the memtable;
/// a snapshot taken between L1 and L0, and models of what each key reads
/// now and at the snapshot. Keys 0..<1000 are written; 1000..<1100 never.
final class LayeredDB {
    static let keySpace = 1100
    let dir: TempDir
    let db: DB
    /// Latest state, and the state the snapshot sees.
    var model: [Int: [UInt8]] = [:]
    var snapshotModel: [Int: [UInt8]] = [:]
    private(set) var snapshot: Snapshot?
    init(directReads: Bool, blockCacheSizeBytes: Int = 64 << 20, bloomBitsPerKey: Int = 10) throws {
        dir = try TempDir("ringkv-read")
        var options = openOptions()
        options.directReads = directReads
        options.blockCacheSizeBytes = blockCacheSizeBytes
        options.bloomBitsPerKey = bloomBitsPerKey
        // Keep the layout as built: no automatic compaction moves tables.
        options.l0CompactionTrigger = 1000
        options.l0SlowdownTrigger = 1000
        options.l0StopTrigger = 1000
        db = try DB(path: dir.sub("db"), options: options)

        try put(0..<400, step: 1, tag: "L3a")
        try flush(into: 3)
        try put(400..<800, step: 1, tag: "L3b")
        try flush(into: 3)
        try put(800..<1000, step: 1, tag: "L3c")
        try flush(into: 3)
        try put(250..<750, step: 2, tag: "L2", deleteEvery: 7)
        try flush(into: 2)
        try put(0..<300, step: 3, tag: "L1a", deleteEvery: 10)
        try flush(into: 1)
        try put(800..<1000, step: 3, tag: "L1b")
        try flush(into: 1)
        snapshot = db.snapshot()
        snapshotModel = model
        try put(100..<900, step: 5, tag: "L0a", deleteEvery: 11)
        try flush(into: 0)
        try put(0..<1000, step: 13, tag: "L0b")
        try flush(into: 0)
        try put(0..<1000, step: 17, tag: "mem", deleteEvery: 19)
    }

    /// Puts keys `range` stepping by `step`; every `deleteEvery`-th of them
    /// (by key number) is deleted instead.
    private func put(_ range: Range<Int>, step: Int, tag: String, deleteEvery: Int = 0) throws {
        var batch = WriteBatch()
        for i in stride(from: range.lowerBound, to: range.upperBound, by: step) {
            if deleteEvery > 0 && i % deleteEvery == 0 {
                batch.delete(ReadTestSupport.key(i))
                model[i] = nil
            } else {
                let v = ReadTestSupport.value(i, tag)
                batch.put(ReadTestSupport.key(i), v)
                model[i] = v
            }
        }
        try db.write(batch)
    }

    /// Flushes the memtable and moves the new L0 table to `level`.
    private func flush(into level: Int) throws {
        let impl = db.impl
        let before = Set(impl.versions.current.files[0].map(\.number))
        try db.flush()
        let fresh = impl.versions.current.files[0].filter { !before.contains($0.number) }
        guard level > 0 else { return }
        var edit = VersionEdit()
        for f in fresh {
            edit.deleteFile(level: 0, number: f.number)
            edit.addFile(level: level, f)
        }
        try impl.versions.logAndApply(edit)
    }

    /// The blocks a lookup of key `i` must read with an empty cache, in
    /// search order, each with its table's level: one per table whose
    /// filter and index point at a block, up to the one that answers.
    /// Empty when the memtable answers. Reads through `readBlocks`, which
    /// bypasses the block cache and the lookup counters.
    func blocksNeeded(_ i: Int, snapshot: Snapshot? = nil) throws -> [(level: Int, block: BlockCacheKey)] {
        let impl = db.impl
        let view = try impl.readView(ReadOptions(snapshot: snapshot))
        let key = ReadTestSupport.key(i)
        let inMemtable = key.withUnsafeBytes { view.mem.get($0, snapshot: view.sequence) }
        if inMemtable != .notFound { return [] }
        var out: [(level: Int, block: BlockCacheKey)] = []
        for (level, file) in view.version.filesToSearch(forUserKey: key) {
            let table = try impl.tableCache.reader(for: file.number)
            guard table.mayContain(userKey: key) else { continue }
            guard let handle = try key.withUnsafeBytes({ try table.locate(userKey: $0, snapshot: view.sequence) })
            else { continue }
            out.append((level, BlockCacheKey(fileNumber: file.number, blockOffset: handle.offset)))
            let block = try table.readBlocks([handle])[0]
            let answer = try key.withUnsafeBytes { try table.search(block, userKey: $0, snapshot: view.sequence) }
            if answer != .notFound { break }
        }
        return out
    }
}

/// Positions where two answer lists differ, with a short rendering (so a
/// failure message does not print every value).
func answerDifferences(_ got: [[UInt8]?], _ want: [[UInt8]?], keys: [Int]) -> String {
    guard got.count == want.count else { return "\(got.count) answers, \(want.count) expected" }
    let bad = got.indices.filter { got[$0] != want[$0] }
    if bad.isEmpty { return "" }
    func show(_ v: [UInt8]?) -> String { v.map { String(decoding: $0.prefix(12), as: UTF8.self) } ?? "nil" }
    return "\(bad.count) wrong answers, e.g. " + bad.prefix(5).map {
        "key \(keys[$0]): got \(show(got[$0])) want \(show(want[$0]))"
    }.joined(separator: "; ")
}
