import Glibc
import RingIO
@testable import RingKV

/// SplitMix64 seeded from RINGKV_SEED when set, so a run can be replayed.
struct TableTestRNG {
    private var generator: SplitMix64
    let seed: UInt64

    init(seedFromEnvironmentOr fallback: UInt64? = nil) {
        let s: UInt64
        if let env = getenv("RINGKV_SEED"), let v = UInt64(String(cString: env)) {
            s = v
        } else {
            s = fallback ?? UInt64.random(in: 0...UInt64.max)
        }
        seed = s
        generator = SplitMix64(seed: s)
    }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

enum TableTestSupport {
    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "ringkv-table-test")
        defer { try? FileSystem.removeTree(dir) }
        return try body(dir)
    }

    static func userKey(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return Array(("key" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits).utf8)
    }

    /// Writes `entries` (already in internal-key order) as a table at `path`.
    @discardableResult
    static func writeTable(path: String, entries: [(key: [UInt8], value: [UInt8])], backend: any IOBackend,
                           options: TableBuilderOptions = TableBuilderOptions(),
                           direct: File.DirectIO = .preferred) throws -> TableProperties {
        let file = try File.open(path, [.readWrite, .create, .truncate], direct: direct)
        defer { try? file.close() }
        let builder = TableBuilder(file: file, backend: backend, options: options)
        for e in entries { try builder.add(e.key, e.value) }
        return try builder.finish()
    }

    static func openTable(path: String, backend: any IOBackend, direct: File.DirectIO = .preferred,
                          fileNumber: UInt64 = 7) throws -> TableReader {
        let file = try File.open(path, .read, direct: direct)
        return try TableReader.open(file: file, fileNumber: fileNumber, backend: backend)
    }

    static func makeBackend() throws -> any IOBackend { try URingBackend() }

    /// Every entry of a table, copied out through its iterator.
    static func scan(_ it: any InternalIterator) throws -> [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        try it.seekToFirst()
        while it.isValid {
            out.append((Array(it.key), Array(it.value)))
            try it.next()
        }
        return out
    }

    /// True when `path` lives on tmpfs (which refuses O_DIRECT): the
    /// filesystem type of the longest mount point in /proc/mounts that
    /// prefixes the path.
    static func isOnTmpfs(_ path: String) -> Bool {
        guard let f = fopen("/proc/mounts", "r") else { return false }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 4096)
        var best = (mount: "", type: "")
        while fgets(&line, Int32(line.count), f) != nil {
            let fields = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mount = String(fields[1]), type = String(fields[2])
            let covers = mount == "/" || path == mount || path.hasPrefix(mount + "/")
            if covers && mount.count >= best.mount.count { best = (mount, type) }
        }
        return best.type == "tmpfs"
    }

    /// Overwrites one byte of a file (through a buffered descriptor).
    static func flipByte(path: String, at offset: UInt64) throws {
        let file = try File.open(path, .readWrite)
        defer { try? file.close() }
        let backend = PosixBackend()
        var byte: [UInt8] = [0]
        _ = try byte.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: offset) }
        byte[0] ^= 0x5A
        try byte.withUnsafeBytes { try backend.write(fd: file.fd, from: $0, offset: offset) }
    }
}

/// A randomized history of puts and deletes, with the table entries it
/// produces and a model answering "what does key k read at snapshot s".
struct TableTestHistory {
    /// Per user key index: (sequence, value or nil for deletion), newest first.
    var versions: [Int: [(sequence: UInt64, value: [UInt8]?)]] = [:]
    var lastSequence: UInt64 = 0
    let keySpace: Int

    init(operations: Int, keySpace: Int, rng: inout TableTestRNG) {
        self.keySpace = keySpace
        for _ in 0..<operations {
            lastSequence += 1
            let k = rng.below(keySpace)
            let isDelete = rng.below(100) < 15
            var value: [UInt8]?
            if !isDelete {
                let prefix = Array("value-\(lastSequence)-".utf8)
                // Half the values compress well, half are random.
                value = prefix + (rng.below(2) == 0 ? [UInt8](repeating: UInt8(k % 251), count: 20 + rng.below(60))
                                                    : rng.bytes(10 + rng.below(60)))
            }
            versions[k, default: []].insert((lastSequence, value), at: 0)
        }
    }

    /// All versions as internal-key-ordered entries.
    var entries: [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        for k in versions.keys.sorted() {
            for v in versions[k]! {
                let type: ValueType = v.value == nil ? .deletion : .value
                out.append((InternalKey.make(TableTestSupport.userKey(k), v.sequence, type), v.value ?? []))
            }
        }
        return out
    }

    func expected(_ k: Int, snapshot: UInt64) -> TableLookupResult {
        guard let list = versions[k], let v = list.first(where: { $0.sequence <= snapshot }) else { return .notFound }
        return v.value.map { .found($0) } ?? .deleted
    }
}
