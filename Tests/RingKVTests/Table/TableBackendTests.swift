import Testing
import RingIO
@testable import RingKV

@Suite struct TableBackendTests {
    @Test func uringAndPosixBackendsWriteIdenticalFilesAndReadIdenticalResults() throws {
        var rng = TableTestRNG()
        let history = TableTestHistory(operations: 8_000, keySpace: 4_000, rng: &rng)
        let entries = history.entries
        let uring = try URingBackend()
        let posix = PosixBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let uringPath = dir + "/000001.sst", posixPath = dir + "/000002.sst"
            let a = try TableTestSupport.writeTable(path: uringPath, entries: entries, backend: uring)
            let b = try TableTestSupport.writeTable(path: posixPath, entries: entries, backend: posix)
            #expect(a == b)

            var results: [[TableLookupResult]] = []
            var scans: [[[UInt8]]] = []
            for (path, backend) in [(uringPath, uring as any IOBackend), (posixPath, posix), (uringPath, posix), (posixPath, uring)] {
                let reader = try TableTestSupport.openTable(path: path, backend: backend)
                var got: [TableLookupResult] = []
                for k in 0..<4_100 {
                    got.append(try reader.get(userKey: TableTestSupport.userKey(k), snapshot: history.lastSequence / 2))
                }
                results.append(got)
                scans.append(try TableTestSupport.scan(reader.makeIterator()).map { $0.key + $0.value })
                try reader.verifyChecksums()
            }
            #expect(results.allSatisfy { $0 == results[0] }, "seed \(rng.seed)")
            #expect(scans.allSatisfy { $0 == scans[0] }, "seed \(rng.seed)")
            #expect(results[0].enumerated().allSatisfy { $1 == history.expected($0, snapshot: history.lastSequence / 2) })
        }
    }
}
