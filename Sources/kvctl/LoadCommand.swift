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

            Examples:
              kvctl --db /tmp/db --create load data.tsv
              printf 'k1\\tv1\\nk2\\tv2\\n' | kvctl --db /tmp/db load -
              kvctl --db /tmp/src export | kvctl --db /tmp/copy --create load -
              kvctl --db /tmp/db --hex load data.hex.tsv --batch-records 10000
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: ArgumentHelp("Input file, or - for stdin.", valueName: "FILE")) var file: String
    @Option(name: .customLong("batch-records"), help: ArgumentHelp("Lines per WriteBatch.", valueName: "N")) var batchRecords = 1000
    @Option(name: .customLong("batch-bytes"), help: ArgumentHelp("Encoded bytes per WriteBatch.", valueName: "BYTES")) var batchBytes = 4 << 20

    func validate() throws {
        guard batchRecords >= 1, batchBytes >= 1 else {
            throw ValidationError("--batch-records and --batch-bytes must be >= 1")
        }
    }

    /// A line that cannot be loaded, and why.
    struct BadLine: Error {
        var reason: String
    }

    func run() throws {
        let input = try InputSource(path: file)
        let db = try global.openDatabase()
        let progress = ProgressReporter(totalBytes: input.sizeBytes)
        var reader = LineReader(input)
        var batch = WriteBatch()
        var written: UInt64 = 0
        var line: [UInt8] = []

        func commit(sync: Bool) throws {
            guard !batch.isEmpty else { return }
            try db.write(batch, options: WriteOptions(sync: sync))
            written += UInt64(batch.count)
            batch.clear()
        }

        do {
            while try reader.next(into: &line) {
                let (key, value) = try parse(line)
                if batch.count >= batchRecords || batch.approximateSizeBytes >= batchBytes {
                    try commit(sync: false)
                    progress.update(bytes: reader.bytesConsumed, records: written)
                }
                batch.put(key, value)
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
