// crashwriter's `ingest` mode: operation `op` of thread `t` puts
// ingestKey(t, op, 0) = "put", then writes two table files with
// TableFileWriter — keys ingestKey(t, op, 0..<half) and
// ingestKey(t, op, half..<count) = ingestValue — and ingests both in one
// call (moving them on odd ops), then acks. The put makes the memtable
// overlap the first file, so the ingest flushes first.
import Glibc
import RingKV

func ingestKey(_ thread: Int, _ op: Int, _ i: Int) -> [UInt8] {
    Array("t\(thread)-i\(op)-\(String(1_000_000 + i).dropFirst())".utf8)
}
func ingestValue(_ thread: Int, _ op: Int, _ i: Int, _ seed: Int) -> [UInt8] {
    Array("ingest-\(seed)-\(thread)-\(op)-\(i)".utf8)
}
/// Keys per operation (both files together): varies with the op.
func ingestCount(_ op: Int) -> Int { 40 + (op * 37) % 400 }

extension Shared {
    func ingestWriter(_ thread: Int, directory: String) -> Never {
        _ = mkdir(directory, 0o755)
        var op = 0
        while true {
            do {
                try db.put(ingestKey(thread, op, 0), Array("put".utf8), options: WriteOptions(sync: sync))
                let count = ingestCount(op)
                let half = count / 2
                var paths: [String] = []
                for (part, range) in [(0, 0..<half), (1, half..<count)] {
                    let path = "\(directory)/t\(thread)-\(op)-\(part).sst"
                    let writer = try TableFileWriter(path: path, for: db)
                    for i in range { try writer.add(ingestKey(thread, op, i), ingestValue(thread, op, i, seed)) }
                    try writer.finish()
                    paths.append(path)
                }
                try db.ingest(paths, options: IngestOptions(move: op % 2 == 1))
                for path in paths { _ = unlink(path) }
            } catch {
                report("error \(error)")
                exit(4)
            }
            report("ack \(thread) \(op)")
            op += 1
        }
    }
}
