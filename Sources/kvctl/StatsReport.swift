import RingKV
import RingKVTools

/// `kvctl stats` output: a table for people, one JSON object for scripts.
struct StatsReport {
    let summary: DatabaseSummary
    let text: ByteText

    func table() -> String {
        let s = summary
        var lines: [String] = []
        lines.append("database        \(s.path)")
        lines.append("manifest        \(s.manifestName) (\(s.manifestRecords) records)")
        lines.append("last sequence   \(s.lastSequence)")
        lines.append("next file       \(s.nextFileNumber)")
        lines.append("log number      \(s.logNumber)")
        lines.append("")
        lines.append(row(["level", "files", "bytes", "entries"], levelWidths))
        var files = 0
        for level in s.levels where level.files > 0 || level.level == 0 {
            lines.append(row(["L\(level.level)", "\(level.files)", "\(level.bytes)", "\(level.entries)"], levelWidths))
            files += level.files
        }
        // Counts from disk: saturating, never a trap.
        let bytes = DatabaseSummary.saturatingSum(s.tables.map(\.fileSizeBytes))
        let entries = DatabaseSummary.saturatingSum(s.tables.map(\.entryCount))
        lines.append(row(["total", "\(files)", "\(bytes)", "\(entries)"], levelWidths))
        if !s.tables.isEmpty {
            lines.append("")
            lines.append(row(["table", "level", "bytes", "entries", "deletes", "sequences", "keys"], tableWidths))
            for t in s.tables {
                lines.append(row([t.fileName, "L\(t.level)", "\(t.fileSizeBytes)", "\(t.entryCount)",
                                  "\(t.deletionCount)", "\(t.smallestSequence)..\(t.largestSequence)",
                                  "\(quoted(t.smallestKey)) .. \(quoted(t.largestKey))"], tableWidths))
            }
        }
        lines.append("")
        lines.append(row(["wal", "bytes", "records", "operations", "state"], walWidths))
        for w in s.wals {
            lines.append(row([w.fileName, "\(w.validBytes)", "\(w.records)", "\(w.operations)",
                              state(w.stop)], walWidths))
        }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        let s = summary
        let levels = s.levels.map {
            "{\"level\":\($0.level),\"files\":\($0.files),\"bytes\":\($0.bytes),\"entries\":\($0.entries)}"
        }
        let tables = s.tables.map { t in
            "{\"file\":\(quote(t.fileName)),\"level\":\(t.level),\"bytes\":\(t.fileSizeBytes),"
                + "\"entries\":\(t.entryCount),\"deletions\":\(t.deletionCount),\"data_blocks\":\(t.dataBlockCount),"
                + "\"smallest_sequence\":\(t.smallestSequence),\"largest_sequence\":\(t.largestSequence),"
                + "\"smallest_key\":\(quote(text.render(t.smallestKey))),"
                + "\"largest_key\":\(quote(text.render(t.largestKey)))}"
        }
        let wals = s.wals.map { w in
            "{\"file\":\(quote(w.fileName)),\"file_bytes\":\(w.fileSizeBytes),\"valid_bytes\":\(w.validBytes),"
                + "\"records\":\(w.records),\"operations\":\(w.operations),\"state\":\(quote(state(w.stop)))}"
        }
        let totalBytes = DatabaseSummary.saturatingSum(s.tables.map(\.fileSizeBytes))
        let totalEntries = DatabaseSummary.saturatingSum(s.tables.map(\.entryCount))
        return "{\"path\":\(quote(s.path)),\"manifest\":\(quote(s.manifestName)),"
            + "\"manifest_records\":\(s.manifestRecords),\"last_sequence\":\(s.lastSequence),"
            + "\"next_file_number\":\(s.nextFileNumber),\"log_number\":\(s.logNumber),"
            + "\"table_files\":\(s.tables.count),\"table_bytes\":\(totalBytes),\"table_entries\":\(totalEntries),"
            + "\"key_encoding\":\(quote(text.hex ? "hex" : "escaped")),"
            + "\"levels\":[\(levels.joined(separator: ","))],\"tables\":[\(tables.joined(separator: ","))],"
            + "\"wal\":[\(wals.joined(separator: ","))]}"
    }

    private func state(_ stop: LogStop?) -> String {
        guard let stop else { return "clean" }
        return (stop.isTornTail ? "torn tail" : "damaged") + " at offset \(stop.offset)"
    }

    private let levelWidths = [8, 7, 14, 10]
    private let tableWidths = [12, 7, 14, 10, 9, 14]
    private let walWidths = [12, 14, 10, 12]

    /// A key for people: rendered and in single quotes, so the empty key shows.
    private func quoted(_ key: [UInt8]) -> String { "'" + text.render(key) + "'" }

    private func row(_ cells: [String], _ widths: [Int]) -> String {
        var out = ""
        for (i, cell) in cells.enumerated() {
            let width = i < widths.count ? widths[i] : 0
            out += cell.count >= width ? cell + " " : cell + String(repeating: " ", count: width - cell.count)
        }
        while out.last == " " { out.removeLast() }
        return out
    }

    /// A JSON string literal. Paths may hold any Unicode; rendered keys are ASCII.
    private func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
