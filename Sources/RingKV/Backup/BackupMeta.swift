/// One backup's meta file, `meta/<id>` in the backup directory
/// (docs/FORMAT.md §Backups): UTF-8 text, one item per line,
///
///     ringkv-backup 1
///     id <decimal>
///     sequence <decimal>
///     bytes-copied <decimal>
///     table <name in the database> shared/<number>-<size>-<crc32c hex>.sst <size> <crc32c hex>
///     file <name in the database> private/<id>/<name> <size> <crc32c hex>
///     end <crc32c hex of every byte before this line>
///
/// Written last (temp, fsync, rename): a backup exists once its meta does.
struct BackupMeta: Equatable {
    struct Entry: Equatable {
        /// Shared table (`table`) or a file of this backup alone (`file`).
        var isTable: Bool
        /// Its name in a database directory (restore writes it there).
        var name: String
        /// Its path relative to the backup directory.
        var storedPath: String
        var sizeBytes: UInt64
        var crc: UInt32
    }

    var id: UInt64
    var sequence: UInt64
    var bytesCopied: UInt64
    var entries: [Entry]

    func encoded() -> [UInt8] {
        var text = "ringkv-backup 1\nid \(id)\nsequence \(sequence)\nbytes-copied \(bytesCopied)\n"
        for entry in entries {
            text += "\(entry.isTable ? "table" : "file") \(entry.name) \(entry.storedPath) \(entry.sizeBytes) "
                + "\(String(entry.crc, radix: 16))\n"
        }
        let body = Array(text.utf8)
        return body + Array("end \(String(CRC32C.checksum(body), radix: 16))\n".utf8)
    }

    /// Parses a meta file; `path` names it in the error.
    static func parse(_ bytes: [UInt8], path: String) throws(DBError) -> BackupMeta {
        func bad(_ reason: String) -> DBError { DBError.backupCorrupted(path: path, reason: reason) }
        guard let endLine = bytes.dropLast().lastIndex(of: 10).map({ $0 + 1 }), bytes.last == 10 else {
            throw bad("no end line (a truncated meta file)")
        }
        let body = Array(bytes[..<endLine])
        let last = String(decoding: bytes[endLine..<(bytes.count - 1)], as: UTF8.self).split(separator: " ")
        guard last.count == 2, last[0] == "end", let crc = UInt32(last[1], radix: 16) else {
            throw bad("no end line (a truncated meta file)")
        }
        guard crc == CRC32C.checksum(body) else { throw bad("meta checksum mismatch") }
        var lines = String(decoding: body, as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ") }
        guard lines.first == ["ringkv-backup", "1"] else { throw bad("not a RingKV backup meta file (version 1)") }
        lines.removeFirst()
        var values: [String: UInt64] = [:]
        var entries: [Entry] = []
        for fields in lines {
            if fields.count == 2, let value = UInt64(fields[1]) {
                values[String(fields[0])] = value
            } else if fields.count == 5, fields[0] == "table" || fields[0] == "file", let size = UInt64(fields[3]),
                      let crc = UInt32(fields[4], radix: 16), isDatabaseFile(fields[1]), !fields[2].contains("..") {
                entries.append(Entry(isTable: fields[0] == "table", name: String(fields[1]),
                                     storedPath: String(fields[2]), sizeBytes: size, crc: crc))
            } else {
                throw bad("unreadable line \"\(fields.joined(separator: " "))\"")
            }
        }
        guard let id = values["id"], let sequence = values["sequence"], let copied = values["bytes-copied"] else {
            throw bad("id, sequence or bytes-copied missing")
        }
        return BackupMeta(id: id, sequence: sequence, bytesCopied: copied, entries: entries)
    }

    /// Whether `name` is one a backup stores (restore writes it into the
    /// new database's directory): a table, log, MANIFEST or CURRENT —
    /// never `..`, `.`, a path, the LOCK or a temp file.
    private static func isDatabaseFile(_ name: Substring) -> Bool {
        guard let (kind, _) = FileNames.parse(String(name)) else { return false }
        return kind != .lock && kind != .temp
    }
}
