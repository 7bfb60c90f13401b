import ArgumentParser
import RingKV
import RingKVTools

/// One operation as a dump line: `seq N  PUT  'key'  value N bytes` (the
/// quotes make the empty key visible).
private func operationLine(_ text: ByteText, sequence: UInt64, kind: DatabaseTools.OperationKind,
                           key: [UInt8], valueSizeBytes: Int) -> [UInt8] {
    var line = Array("  seq \(sequence)  \(kind.rawValue)  '".utf8)
    text.append(key, to: &line)
    line.append(UInt8(ascii: "'"))
    if kind == .put { line += Array("  value \(valueSizeBytes) bytes".utf8) }
    line.append(UInt8(ascii: "\n"))
    return line
}

/// `  seq N  DELRANGE  'start' .. 'end'` (end exclusive).
private func rangeDeletionLine(_ text: ByteText, sequence: UInt64, start: [UInt8], end: [UInt8]) -> [UInt8] {
    var line = Array("  seq \(sequence)  \(DatabaseTools.OperationKind.deleteRange.rawValue)  '".utf8)
    text.append(start, to: &line)
    line += Array("' .. '".utf8)
    text.append(end, to: &line)
    line += Array("' (end exclusive)\n".utf8)
    return line
}

struct DumpWAL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-wal",
        abstract: "Print every record of a write-ahead log file (NNNNNN.log).",
        discussion: """
            For each record: its file offset and payload size, then each operation with its \
            sequence number, type (PUT or DEL), key and value size. The end line says whether the \
            log ended cleanly, in a torn tail (a crash mid-append) or in damage (status 2). \
            Works on any WAL file; --db is not needed.

            Examples:
              kvctl dump-wal /tmp/db/000003.log
              kvctl --hex dump-wal /tmp/db/000003.log
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: ArgumentHelp("The WAL file.", valueName: "FILE")) var file: String

    func run() throws {
        try RawArguments.checkPath(file, option: "FILE")
        let dump: WALDump
        do { dump = try DatabaseTools.dumpWAL(path: file) } catch let e as DBError { throw CLIError(e) }
        let out = StandardOutput()
        try out.line("wal \(dump.path): \(Format.count(dump.records.count, "record")), "
                     + "\(Format.count(dump.operationCount, "operation")), "
                     + "records end at offset \(dump.validBytes) of \(dump.fileSizeBytes) bytes")
        var syncPoints = dump.syncPoints[...]
        for (i, record) in dump.records.enumerated() {
            while let point = syncPoints.first, point.offset < record.offset {
                try out.line("sync point at offset \(point.offset): synced up to offset \(point.syncedBytes)")
                syncPoints = syncPoints.dropFirst()
            }
            try out.line("record \(i + 1) at offset \(record.offset): sequence \(record.sequence), "
                         + "\(Format.count(record.operations.count, "operation")), \(record.payloadSizeBytes) payload bytes")
            for op in record.operations {
                if let end = op.endKey {
                    try out.write(rangeDeletionLine(global.text, sequence: op.sequence, start: op.key, end: end))
                    continue
                }
                try out.write(operationLine(global.text, sequence: op.sequence, kind: op.kind, key: op.key,
                                            valueSizeBytes: op.valueSizeBytes))
            }
        }
        for point in syncPoints {
            try out.line("sync point at offset \(point.offset): synced up to offset \(point.syncedBytes)")
        }
        guard let stop = dump.stop else {
            try out.line("end: clean")
            try out.flush()
            return
        }
        if stop.isTornTail {
            try out.line("end: torn tail at offset \(stop.offset): \(stop.reason) (nothing after it is proven synced: an interrupted append; recovery drops it into lost/)")
            try out.flush()
            return
        }
        try out.line("end: DAMAGED at offset \(stop.offset): \(stop.reason)")
        try out.flush()
        throw CLIError(message: "corruption in \(dump.path) at offset \(stop.offset): \(stop.reason)", status: .corruption)
    }
}

struct DumpSST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-sst",
        abstract: "Print a table file (NNNNNN.sst): properties, then every entry.",
        discussion: """
            The header shows the table's properties and where its index, filter and properties \
            blocks lie. Then every entry in key order: sequence, type (PUT or DEL), key, value \
            size. --blocks adds a line per data block: offset, stored size, compression, decoded \
            size, entry count. Every block's checksum is checked on the way (status 2 on damage). \
            Works on any table file; --db is not needed.

            Examples:
              kvctl dump-sst /tmp/db/000005.sst
              kvctl dump-sst /tmp/db/000005.sst --blocks
              kvctl --hex dump-sst /tmp/db/000005.sst
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: ArgumentHelp("The table file.", valueName: "FILE")) var file: String
    @Flag(help: "Also print one line per data block.") var blocks = false

    func run() throws {
        try RawArguments.checkPath(file, option: "FILE")
        let text = global.text
        let out = StandardOutput()
        do {
            let dump = try DatabaseTools.dumpSST(path: file)
            let s = dump.summary
            try out.line("table \(s.path): \(s.fileSizeBytes) bytes")
            try out.line("  entries \(s.entryCount) (\(s.deletionCount) deletions), \(Format.count(s.dataBlockCount, "data block")) "
                         + "(\(s.dataSizeBytes) bytes stored)")
            try out.line("  raw key bytes \(s.rawKeyBytes), raw value bytes \(s.rawValueBytes)")
            try out.line("  sequences \(s.smallestSequence)..\(s.largestSequence), "
                         + (s.bloomBitsPerKey > 0 ? "bloom filter \(s.bloomBitsPerKey) bits/key" : "no bloom filter"))
            if let smallest = s.smallestKey, let largest = s.largestKey {
                try out.line("  keys '\(text.render(smallest))' .. '\(text.render(largest))'")
            }
            try out.line("  index block \(s.indexBlock); filter block \(s.filterBlock.map { "\($0)" } ?? "none"); "
                         + "properties block \(s.propertiesBlock)")
            if let block = s.rangeDeletionBlock {
                try out.line("  range deletion block \(block): "
                             + Format.count(s.rangeTombstones.count, "range tombstone"))
                for t in s.rangeTombstones {
                    try out.write(rangeDeletionLine(text, sequence: t.sequence, start: t.start, end: t.end))
                }
            }
            try dump.forEachBlock { block, entries in
                if blocks {
                    try out.line("block \(block.index) at offset \(block.location.offset): \(block.location.sizeBytes) "
                                 + "bytes stored, \(block.compression), \(block.contentSizeBytes) bytes decoded, "
                                 + Format.count(block.entryCount, "entry", "entries"))
                }
                for e in entries {
                    try out.write(operationLine(text, sequence: e.sequence, kind: e.kind, key: e.key,
                                                valueSizeBytes: e.valueSizeBytes))
                }
            }
        } catch let e as DBError {
            try out.flush()
            throw CLIError(e)
        }
        try out.flush()
    }
}
