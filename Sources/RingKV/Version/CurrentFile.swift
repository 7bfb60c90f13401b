import RingIO

/// The CURRENT file: one line naming the live MANIFEST,
/// `MANIFEST-NNNNNN\n` (docs/FORMAT.md §CURRENT). It is only ever replaced
/// whole, by rename, so a reader sees the old name or the new one.
package enum CurrentFile {
    /// Anything longer is not a CURRENT file we wrote.
    static let maxSizeBytes = 256

    /// The MANIFEST that CURRENT names: its file name as written and its
    /// number. Throws `.databaseNotFound(dbPath)` when CURRENT does not exist and
    /// `.corruption` (path CURRENT, offset 0) when its content is not one
    /// `MANIFEST-<digits>\n` line.
    package static func read(dbPath: String, backend: any IOBackend) throws -> (name: String, number: UInt64) {
        let path = FileNames.current(dbPath)
        guard FileSystem.exists(path) else { throw DBError.databaseNotFound(path: dbPath) }
        var bytes = [UInt8](repeating: 0, count: maxSizeBytes + 1)
        do {
            let file = try backend.openFile(path, .read, direct: .off)
            defer { try? file.close() }
            let n = try bytes.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: 0) }
            bytes.removeLast(bytes.count - n)
        } catch let e as IOError {
            if e.memoryMayStillBeInUse { Quarantine.keep(value: bytes) }
            throw DBError.io(e.at(path: path))
        }
        guard bytes.count <= maxSizeBytes else {
            throw DBError.corruption(path: path, offset: 0, reason: "CURRENT is longer than \(maxSizeBytes) bytes")
        }
        guard bytes.last == UInt8(ascii: "\n") else {
            throw DBError.corruption(path: path, offset: UInt64(bytes.count),
                                     reason: "CURRENT does not end with a newline (torn write?)")
        }
        let name = bytes.dropLast()
        let prefix = Array("MANIFEST-".utf8)
        let digits = name.dropFirst(prefix.count)
        guard name.starts(with: prefix), !digits.isEmpty, digits.count <= 19,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let number = UInt64(String(decoding: digits, as: UTF8.self)) else {
            throw DBError.corruption(path: path, offset: 0,
                                     reason: "CURRENT holds \"\(FileMetaData.render(Array(name)))\", not MANIFEST-<number>")
        }
        return (String(decoding: name, as: UTF8.self), number)
    }

    /// Points CURRENT at MANIFEST-`manifestNumber`: write a temp file, fsync
    /// it, rename it over CURRENT, fsync the directory. After a crash at any
    /// step CURRENT names either the old MANIFEST or the new one.
    ///
    /// `switched` is set once the rename succeeded: from then on CURRENT
    /// may name the new MANIFEST on disk even if this throws (the
    /// directory sync failed), so the caller must not remove it.
    static func write(dbPath: String, manifestNumber: UInt64, backend: any IOBackend, switched: inout Bool) throws {
        let tempPath = FileNames.temp(dbPath, manifestNumber)
        let content = Array("MANIFEST-\(FileNames.padded(manifestNumber))\n".utf8)
        do {
            let file = try backend.openFile(tempPath, [.write, .create, .truncate], direct: .off)
            defer { try? file.close() }
            try content.withUnsafeBytes { try backend.write(fd: file.fd, from: $0, offset: 0) }
            try backend.sync(fd: file.fd, dataOnly: false)
            try file.close()
            try backend.rename(tempPath, to: FileNames.current(dbPath))
            switched = true
            try backend.syncDirectory(dbPath)
        } catch let e as IOError {
            if e.memoryMayStillBeInUse { Quarantine.keep(value: content) }
            if !switched { try? backend.removeFile(tempPath) }
            throw DBError.io(e.at(path: switched ? dbPath : tempPath))
        }
    }
}
