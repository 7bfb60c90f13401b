import ArgumentParser
import RingKV

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bulk-import key<TAB>value lines from FILE (- for stdin).",
        discussion: """
            Each line is KEY<TAB>VALUE with the escapes of kvctl's output (or hex with --hex); \
            exactly one tab per line, CRLF endings accepted. Lines go into the database in \
            WriteBatches of --batch-records lines or --batch-bytes bytes, whichever fills first; \
            the last batch is fsynced, so a load that exits with status 0 is durable.

            On a terminal a progress bar is drawn on stderr (bytes/s, records/s, and percentage \
            and ETA when FILE is a regular file); otherwise one summary line is printed at the end.

            A bad line (no tab, more than one tab, invalid escape or hex, key over 64 KiB, value \
            over 64 MiB) stops the load with its line number and status 4. Every line before it \
            has been written and stays in the database (its batches are committed and fsynced); \
            nothing from the bad line on is written. Fix the line and load the rest.

            With --ingest the lines are not written through the WAL: they gather in memory \
            (--ingest-chunk-bytes at a time), are sorted by key (for a key given twice the later \
            line wins), written to table files and ingested (DB.ingest; docs/INGEST.md), one \
            atomic ingest per chunk. Many times faster for bulk data; a bad line stops the load \
            after the lines before it are ingested.

            Examples:
              kvctl --db /tmp/db --create load data.tsv
              kvctl --db /tmp/db --create load data.tsv --ingest
              kvctl --db /tmp/db load users.tsv --keyspace users
              printf 'k1\\tv1\\nk2\\tv2\\n' | kvctl --db /tmp/db load -
              kvctl --db /tmp/src export | kvctl --db /tmp/copy --create load -
              kvctl --db /tmp/db --hex load data.hex.tsv --batch-records 10000
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: ArgumentHelp("Input file, or - for stdin.", valueName: "FILE")) var file: String
    @Option(name: .customLong("batch-records"), help: ArgumentHelp("Lines per WriteBatch.", valueName: "N")) var batchRecords = 1000
    @Option(name: .customLong("batch-bytes"), help: ArgumentHelp("Encoded bytes per WriteBatch.", valueName: "BYTES")) var batchBytes = 4 << 20
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?
    @Flag(help: "Build table files and ingest them instead of writing through the WAL.") var ingest = false
    @Option(name: .customLong("ingest-chunk-bytes"),
            help: ArgumentHelp("Keys and values held in memory per ingested file.", valueName: "BYTES"))
    var ingestChunkBytes = 256 << 20

    func validate() throws {
        guard batchRecords >= 1, batchBytes >= 1, ingestChunkBytes >= 1 else {
            throw ValidationError("--batch-records, --batch-bytes and --ingest-chunk-bytes must be >= 1")
        }
    }

    /// A line that cannot be loaded, and why.
    struct BadLine: Error {
        var reason: String
    }

    func run() throws {
        let input = try InputSource(path: file)
        let db = try global.openDatabase()
        let target = try global.keyspace(keyspace, in: db)
        let progress = ProgressReporter(totalBytes: input.sizeBytes)
        var reader = LineReader(input)
        var batch = WriteBatch()
        var written: UInt64 = 0
        var line: [UInt8] = []
        var loader = ingest ? try IngestLoader(target: target, databasePath: try global.databasePath(),
                                               chunkBytes: ingestChunkBytes) : nil
        defer { loader?.cleanUp() }

        func commit(sync: Bool) throws {
            if var active = loader {
                try active.flush()
                loader = active
                written = active.ingested
                return
            }
            guard !batch.isEmpty else { return }
            try db.write(batch, options: WriteOptions(sync: sync))
            written += UInt64(batch.count)
            batch.clear()
        }

        do {
            while try reader.next(into: &line) {
                let (key, value) = try parse(line)
                if var active = loader {
                    let before = active.ingested
                    try active.add(key, value)
                    loader = active
                    if active.ingested != before {
                        written = active.ingested
                        progress.update(bytes: reader.bytesConsumed, records: written)
                    }
                    continue
                }
                if batch.count >= batchRecords || batch.approximateSizeBytes >= batchBytes {
                    try commit(sync: false)
                    progress.update(bytes: reader.bytesConsumed, records: written)
                }
                batch.put(key, value, in: target)
            }
            // Synced last: its fdatasync also covers every earlier batch.
            try commit(sync: true)
        } catch let bad as BadLine {
            let n = reader.lineNumber
            try commit(sync: true)
            try db.close()
            progress.finish(bytes: reader.bytesConsumed, records: written, lines: n - 1, stopped: true)
            throw CLIError.failure("load stopped at line \(n) of \(input.name): \(bad.reason). "
                + "Everything before it (\(Format.count(n - 1, "line")), \(Format.count(Int(written), "record"))) "
                + "was written and committed; "
                + "nothing from line \(n) on was written")
        } catch let error as DBError {
            try? db.close()
            let failure = CLIError(error)
            throw CLIError(message: "load failed near line \(reader.lineNumber) of \(input.name): \(failure.message). "
                + "Batches written before it stay (\(Format.count(Int(written), "record")))", status: failure.status)
        }
        try db.close()
        progress.finish(bytes: reader.bytesConsumed, records: written, lines: reader.lineNumber, stopped: false)
    }

    /// KEY<TAB>VALUE with exactly one tab, both parts decoded and checked
    /// against the engine's size limits.
    func parse(_ line: [UInt8]) throws -> ([UInt8], [UInt8]) {
        let tab = UInt8(ascii: "\t")
        guard let split = ByteText.firstIndex(of: tab, in: line, from: 0) else {
            throw BadLine(reason: line.isEmpty ? "empty line (expected KEY<TAB>VALUE)" : "no tab between key and value")
        }
        if ByteText.firstIndex(of: tab, in: line, from: split + 1) != nil {
            throw BadLine(reason: "more than one tab (write a tab inside a key or value as \\t)")
        }
        let text = global.text
        let key: [UInt8], value: [UInt8]
        do { key = try text.parse(line[..<split]) } catch {
            throw BadLine(reason: "key: \(error.reason) at byte \(error.position) of the line")
        }
        do { value = try text.parse(line[(split + 1)...]) } catch {
            throw BadLine(reason: "value: \(error.reason) at byte \(split + 1 + error.position) of the line")
        }
        if key.count > Options.maxKeySizeBytes {
            throw BadLine(reason: "key of \(key.count) bytes exceeds the \(Options.maxKeySizeBytes)-byte limit")
        }
        if value.count > Options.maxValueSizeBytes {
            throw BadLine(reason: "value of \(value.count) bytes exceeds the \(Options.maxValueSizeBytes)-byte limit")
        }
        return (key, value)
    }
}
