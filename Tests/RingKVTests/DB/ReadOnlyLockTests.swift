import Glibc
import RingIO
import Testing
@testable import RingKV

/// The LOCK of a read-only open where the directory has no LOCK file —
/// a checkpoint, a restored or copied database (issue #21 item 3): the
/// reader still excludes a writer, and readers still share.
@Suite struct ReadOnlyLockTests {
    static func isLocked(_ error: any Error) -> Bool {
        if case DBError.locked = error { return true }
        return false
    }

    /// The names of the files that differ between two `snapshot`s (added,
    /// removed or changed), for short failure messages.
    static func changedFiles(_ before: [String: [UInt8]], _ after: [String: [UInt8]]) -> [String] {
        Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    }

    @Test func aReadOnlyOpenWithoutALockFileStillExcludesAWriter() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let expected = try ReadOnlyOpenTests.makeDatabase(path)
        try FileSystem.remove(FileNames.lock(path))
        let before = try ReadOnlyOpenTests.snapshot(path)

        let reader = try DB(path: path, options: ReadOnlyOpenTests.readOnly())
        #expect { try DB(path: path, options: openOptions()) } throws: { Self.isLocked($0) }
        // Readers share the lock.
        let second = try DB(path: path, options: ReadOnlyOpenTests.readOnly())
        #expect(try ReadOnlyOpenTests.contents(reader) == expected)
        #expect(try ReadOnlyOpenTests.contents(second) == expected)
        try reader.close()
        #expect { try DB(path: path, options: openOptions()) } throws: { Self.isLocked($0) }
        try second.close()
        // The one thing the read-only opens wrote: an empty LOCK file.
        var after = try ReadOnlyOpenTests.snapshot(path)
        #expect(after.removeValue(forKey: "LOCK") == [])
        #expect(Self.changedFiles(before, after) == [], "a read-only open changed files")

        // And a writer excludes a reader, as before.
        let writer = try DB(path: path, options: openOptions())
        #expect { try DB(path: path, options: ReadOnlyOpenTests.readOnly()) } throws: { Self.isLocked($0) }
        #expect(try ReadOnlyOpenTests.contents(writer) == expected)
        try writer.close()
    }

    /// The same for a checkpoint, the usual directory without a LOCK file.
    @Test func aReadOnlyOpenOfACheckpointExcludesAWriter() throws {
        let dir = try TempDir()
        let expected = try ReadOnlyOpenTests.makeDatabase(dir.sub("db"))
        let source = try DB(path: dir.sub("db"), options: openOptions())
        try source.checkpoint(to: dir.sub("cp"))
        try source.close()
        #expect(!FileSystem.exists(FileNames.lock(dir.sub("cp"))))
        let reader = try DB(path: dir.sub("cp"), options: ReadOnlyOpenTests.readOnly())
        #expect { try DB(path: dir.sub("cp"), options: openOptions()) } throws: { Self.isLocked($0) }
        #expect(try ReadOnlyOpenTests.contents(reader) == expected)
        try reader.close()
    }

    /// A directory without a LOCK file on a read-only mount: the LOCK
    /// cannot be created, and no writer can work through this mount (it
    /// creates files), so the open goes on without a lock, logs a warning
    /// and changes nothing. Needs the privilege to mount (root here); skipped
    /// without it.
    @Test func onAReadOnlyMountTheOpenGoesOnWithoutALockAndSaysSo() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let expected = try ReadOnlyOpenTests.makeDatabase(path)
        try FileSystem.remove(FileNames.lock(path))
        let mountPoint = dir.sub("ro")
        guard try mountReadOnlyView(of: path, at: mountPoint) else { return }
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let before = try ReadOnlyOpenTests.snapshot(path)
        let store = CapturingLogHandler.Store()
        var options = ReadOnlyOpenTests.readOnly()
        options.logger = CapturingLogHandler.logger(store)
        let reader = try DB(path: mountPoint, options: options)
        #expect(try ReadOnlyOpenTests.contents(reader) == expected)
        #expect(store.with("opened read-only without a lock").count == 1)
        // A writer cannot open through the read-only mount.
        #expect(throws: DBError.self) { try DB(path: mountPoint, options: openOptions()) }
        // Other readers still can.
        let second = try DB(path: mountPoint, options: ReadOnlyOpenTests.readOnly())
        try second.close()
        try reader.close()
        #expect(Self.changedFiles(before, try ReadOnlyOpenTests.snapshot(path)) == [])
    }
}
