import RingIO

/// File copies and checksums for backups (docs/REPLICATION.md §Backups):
/// whole files in 1 MiB chunks through the I/O backend, CRC32C (unmasked)
/// over every byte, the copy fsynced before it is renamed into place.
enum BackupFileCopy {
    static let chunkBytes = 1 << 20

    /// Copies `source` to `destination` (through a temp name beside it,
    /// fsynced, then renamed) and returns the bytes copied and their CRC32C.
    static func copy(_ source: String, to destination: String,
                     backend: any IOBackend) throws -> (sizeBytes: UInt64, crc: UInt32) {
        let temp = destination + ".tmp"
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        var crc: UInt32 = 0
        var offset: UInt64 = 0
        do {
            let input = try backend.openFile(source, .read, direct: .off)
            defer { try? input.close() }
            let output = try backend.openFile(temp, [.write, .create, .truncate], direct: .off)
            defer { try? output.close() }
            while true {
                let got = try buffer.withUnsafeMutableBytes { try backend.read(fd: input.fd, into: $0, offset: offset) }
                if got == 0 { break }
                try buffer.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<got])
                    crc = CRC32C.extend(crc, chunk)
                    try backend.write(fd: output.fd, from: chunk, offset: offset)
                }
                offset += UInt64(got)
            }
            try backend.sync(fd: output.fd, dataOnly: false)
        } catch {
            try? FileSystem.remove(temp)
            throw Self.wrapped(error)
        }
        do {
            try FileSystem.rename(temp, to: destination)
        } catch {
            throw DBError.io(error)
        }
        return (offset, crc)
    }

    /// The size and CRC32C of the file at `path`.
    static func checksum(_ path: String, backend: any IOBackend) throws(DBError) -> (sizeBytes: UInt64, crc: UInt32) {
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        var crc: UInt32 = 0
        var offset: UInt64 = 0
        do {
            let input = try backend.openFile(path, .read, direct: .off)
            defer { try? input.close() }
            while true {
                let got = try buffer.withUnsafeMutableBytes { try backend.read(fd: input.fd, into: $0, offset: offset) }
                if got == 0 { break }
                buffer.withUnsafeBytes { crc = CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
                offset += UInt64(got)
            }
        } catch {
            throw Self.wrapped(error)
        }
        return (offset, crc)
    }

    /// Writes `bytes` to `path` durably: temp file, fsync, rename, fsync
    /// of the directory.
    static func writeDurably(_ bytes: [UInt8], to path: String, backend: any IOBackend) throws(DBError) {
        let temp = path + ".tmp"
        do {
            let output = try backend.openFile(temp, [.write, .create, .truncate], direct: .off)
            defer { try? output.close() }
            try bytes.withUnsafeBytes { raw in try backend.write(fd: output.fd, from: raw, offset: 0) }
            try backend.sync(fd: output.fd, dataOnly: false)
            try FileSystem.rename(temp, to: path)
            try backend.syncDirectory(FileSystem.parentDirectory(of: path))
        } catch {
            throw Self.wrapped(error)
        }
    }

    static func wrapped(_ error: any Error) -> DBError {
        if let io = error as? IOError { return DBError.io(io) }
        if let db = error as? DBError { return db }
        return DBError.internalError("backup file I/O: \(error)")
    }
}
