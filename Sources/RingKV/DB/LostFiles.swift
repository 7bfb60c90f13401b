import RingIO

/// The `lost/` directory of a database: bytes recovery dropped — a torn or
/// damaged WAL tail, a damaged MANIFEST tail — copied out before the file
/// they came from can be deleted, so nothing is dropped without a trace
/// (RocksDB's repair keeps what it cannot use in `lost/` the same way).
/// `kvctl verify` lists them; the engine never reads them back.
///
/// A file is named after its source and the offset of its first byte:
/// `lost/000007.log.at-3027` holds bytes 3027... of `000007.log`.
package enum LostFiles {
    package static let directoryName = "lost"

    package static func directory(_ dbPath: String) -> String { dbPath + "/" + directoryName }

    package static func name(source: String, offset: UInt64) -> String {
        "\(FileSystem.baseName(source)).at-\(offset)"
    }

    /// Parses a name made by `name(source:offset:)`.
    package static func parse(_ name: String) -> (source: String, offset: UInt64)? {
        guard let range = name.ranges(of: ".at-").last,
              let offset = UInt64(name[range.upperBound...]) else { return nil }
        return (String(name[..<range.lowerBound]), offset)
    }

    /// Copies bytes [tail.offset, tail.endOffset) of `source` into
    /// `lost/`, then fsyncs the copy, `lost/` and the database directory:
    /// when this returns the bytes survive a crash, so the caller may go on
    /// to make `source` obsolete. Returns the copy's path.
    static func save(_ tail: DroppedTail, of source: String, dbPath: String, backend: any IOBackend) throws -> String {
        let directory = directory(dbPath)
        let path = directory + "/" + name(source: source, offset: tail.offset)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        do {
            if !FileSystem.isDirectory(directory) {
                try backend.createDirectory(directory)
                try backend.syncDirectory(dbPath)
            }
            let input = try backend.openFile(source, .read, direct: .off)
            defer { try? input.close() }
            let output = try backend.openFile(path, [.write, .create, .truncate], direct: .off)
            defer { try? output.close() }
            var at = tail.offset
            while at < tail.endOffset {
                let want = Int(min(UInt64(chunk.count), tail.endOffset - at))
                let n = try chunk.withUnsafeMutableBytes { buffer in
                    try backend.read(fd: input.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]),
                                     offset: at)
                }
                guard n > 0 else { break }  // the source ended early; keep what there is
                try chunk.withUnsafeBytes { buffer in
                    try backend.write(fd: output.fd, from: UnsafeRawBufferPointer(rebasing: buffer[0..<n]),
                                      offset: at - tail.offset)
                }
                at += UInt64(n)
            }
            try backend.sync(fd: output.fd, dataOnly: false)
            try backend.syncDirectory(directory)
        } catch let error as IOError {
            // A failed ring may still use `chunk`'s storage: kept then.
            if error.memoryMayStillBeInUse { Quarantine.keep(value: chunk) }
            throw DBError.io(error.at(path: error.path ?? path))
        }
        return path
    }

    /// Every file under `lost/` with its size, by name.
    package static func list(dbPath: String) -> [(name: String, sizeBytes: UInt64)] {
        let directory = directory(dbPath)
        guard let names = try? FileSystem.listDirectory(directory) else { return [] }
        return names.sorted().map { ($0, (try? FileSystem.fileSize(directory + "/" + $0)) ?? 0) }
    }
}
