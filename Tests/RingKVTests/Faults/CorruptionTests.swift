import Glibc
import RingIO
import Testing
@testable import RingKV

/// Flips sampled bytes of every file kind of a closed database and
/// reopens: open, get and scan must either report an error or give the
/// right answer — never crash, never a wrong value. Only the WAL may lose
/// records, and only its suffix (prefix recovery of a torn tail).
@Suite struct CorruptionTests {
    static let flushedKeys = 300
    static let walKeys = 100

    static func value(_ i: Int) -> [UInt8] { bytes("value-\(i)-") + [UInt8](repeating: UInt8(i & 0xff), count: i % 90) }

    func buildDatabase(_ path: String) throws {
        let db = try DB(path: path, options: openOptions())
        for i in 0..<Self.flushedKeys { try db.put(bytes("key\(i)"), Self.value(i)) }
        try db.flush()
        for i in Self.flushedKeys..<(Self.flushedKeys + Self.walKeys) {
            try db.put(bytes("key\(i)"), Self.value(i), options: WriteOptions(sync: true))
        }
        try db.close()
    }

    @Test(arguments: ["sst", "log", "MANIFEST", "CURRENT"])
    func flippedBytesAreReportedNeverReturnedAsWrongValues(kind: String) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        let original = dir.sub("original")
        try buildDatabase(original)
        guard let name = try FileSystem.listDirectory(original).first(where: { $0.contains(kind) }) else {
            Issue.record("no \(kind) file in the database")
            return
        }
        let pristine = try readWholeFile(original + "/" + name)
        // Sample offsets over the meaningful bytes (the WAL's zero tail is
        // preallocation) plus a few at the very ends.
        var meaningful = pristine.count
        if kind == "log" { while meaningful > 0 && pristine[meaningful - 1] == 0 { meaningful -= 1 } }
        var offsets = Set([0, max(meaningful - 1, 0)])
        while offsets.count < min(40, meaningful) { offsets.insert(Int.random(in: 0..<meaningful, using: &rng)) }
        var detected = 0
        for (n, offset) in offsets.sorted().enumerated() {
            let copy = dir.sub("copy\(n)")
            try copyDatabaseFiles(from: original, to: copy)
            var damaged = pristine
            damaged[offset] ^= 0x5A
            try writeWholeFile(copy + "/" + name, damaged)
            let context = "seed \(seed): \(name) byte \(offset) of \(pristine.count)"
            let db: DB
            do {
                db = try DB(path: copy, options: openOptions())
            } catch let error as DBError {
                detected += 1
                if case .corruption(let path, _, _) = error {
                    #expect(path.hasSuffix(name) || kind == "CURRENT", "\(context): error names \(path)")
                }
                continue
            }
            var lostWALSuffix = false
            for i in 0..<(Self.flushedKeys + Self.walKeys) {
                do {
                    let got = try db.get(bytes("key\(i)"))
                    if got == nil && kind == "log" && i >= Self.flushedKeys {
                        lostWALSuffix = true  // prefix recovery: later keys may be gone too
                        continue
                    }
                    #expect(!lostWALSuffix || kind != "log" || got == nil || got == Self.value(i), "\(context)")
                    #expect(got == Self.value(i), "\(context): key\(i) wrong")
                } catch {
                    // `get` throws only DBError (typed), never another error.
                    detected += 1
                }
            }
            _ = try? db.scan().allSatisfy { row in
                let i = Int(String(decoding: row.key.dropFirst(3), as: UTF8.self)) ?? -1
                return row.value == Self.value(i)
            }
            try db.close()
        }
        #expect(detected > 0 || kind == "log", "\(context(kind)): no flip was ever detected")
    }

    private func context(_ kind: String) -> String { "kind \(kind)" }
}
