import RingKV

/// Entry points for the libFuzzer harness (`Sources/ringkv-fuzz`,
/// `tools/fuzz`): each feeds arbitrary bytes to one decoder of data that
/// comes from disk. A decoder may throw; it must never trap, hang or read
/// out of bounds. Where a checksum would reject almost every input, the
/// harness makes the checksum right so the fuzzer reaches the parser
/// behind it.
public enum FuzzTargets {
    public static let names = ["block", "footer", "wal", "manifest"]

    /// Runs target `name` on `data`; returns false for an unknown name.
    @discardableResult
    public static func run(_ name: String, _ data: UnsafeRawBufferPointer) -> Bool {
        switch name {
        case "block": block(data)
        case "footer": footer(data)
        case "wal": wal(data)
        case "manifest": manifest(data)
        default: return false
        }
        return true
    }

    /// Data/index block contents, and the stored-block codec (trailer, CRC,
    /// LZ4) with a correct CRC so decompression is exercised; the input is
    /// also tried as range deletion block contents (and indexed and probed
    /// when it decodes).
    static func block(_ data: UnsafeRawBufferPointer) {
        if let tombstones = try? RangeTombstone.decodeBlock(data) {
            let index = RangeTombstoneIndex(tombstones)
            for t in tombstones { _ = index.coveringSequence(t.start, atOrBelow: t.sequence) }
        }
        guard let first = data.first else { return }
        let rest = UnsafeRawBufferPointer(rebasing: data.dropFirst())
        let type: BlockCompression = first & 1 == 0 ? .uncompressed : .lz4
        _ = try? BlockCodec.withTrailer(rest, type) { (trailer: UnsafeRawBufferPointer) throws -> Void in
            var stored = Array(rest)
            stored.append(contentsOf: trailer)
            let block = try stored.withUnsafeBytes { try BlockCodec.decode($0, path: "fuzz", offset: 0) }
            try walk(block.makeIterator())
        }
    }

    /// Footer, then the properties block parser.
    static func footer(_ data: UnsafeRawBufferPointer) {
        _ = try? TableFooter.decode(data)
        _ = try? TableProperties.decode(data)
        _ = try? BlockHandle.decodeVarint(data)
    }

    /// The WAL reader over the raw file, then the write-batch decoder over
    /// the input framed as one valid record.
    static func wal(_ data: UnsafeRawBufferPointer) {
        let reader = LogReader(path: "fuzz", data: Array(data))
        if let outcome = try? reader.readAll(evidence: .syncPoints, strict: true) {
            for payload in outcome.payloads {
                _ = try? payload.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
                    try WriteBatch.forEach(raw) { _, _, _, _ in }
                }
            }
        }
        _ = try? reader.readAll(evidence: .everyRecord, strict: false)
        var framed = ByteWriter()
        LogRecord.encode(data, into: &framed)
        if let outcome = try? LogReader(path: "fuzz", data: framed.bytes).readAll(evidence: .syncPoints, strict: true) {
            for payload in outcome.payloads {
                let memtable = MemTable()
                _ = try? payload.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
                    // Recovery's path: the batch goes into a memtable.
                    try MemTableInserter.applyRecovered(raw, to: memtable, path: "fuzz", after: 0)
                }
            }
        }
    }

    /// The version edit decoder (the MANIFEST record payload).
    static func manifest(_ data: UnsafeRawBufferPointer) {
        _ = try? VersionEdit.decode(data)
    }

    private static func walk(_ it: BlockIterator) throws {
        try it.seekToFirst()
        var steps = 0
        while it.isValid && steps < 100_000 {
            _ = it.key.count + it.value.count
            try it.next()
            steps += 1
        }
    }
}
