import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

@Suite struct VersionSetTests {
    typealias F = VersionFixtures
    let backend: any IOBackend = PosixBackend()

    /// Three edits: a flush to L0, a compaction L0 -> L1, another flush.
    private func applyHistory(_ vs: VersionSet) throws {
        let log = vs.newFileNumber()
        let t1 = vs.newFileNumber()
        var flush = VersionEdit()
        flush.logNumber = log
        flush.lastSequence = 100
        flush.addFile(level: 0, F.file(t1, "a", "m", sizeBytes: 4096, sequences: 1...100))
        try vs.logAndApply(flush)

        let t2 = vs.newFileNumber(), t3 = vs.newFileNumber()
        var compaction = VersionEdit()
        compaction.deleteFile(level: 0, number: t1)
        compaction.addFile(level: 1, F.file(t2, "a", "f", sizeBytes: 2000, sequences: 1...60))
        compaction.addFile(level: 1, F.file(t3, "g", "m", sizeBytes: 2100, sequences: 2...100))
        compaction.setCompactPointer(level: 0, internalKey: F.key("m", 1))
        try vs.logAndApply(compaction)

        vs.setLastSequence(250)
        let log2 = vs.newFileNumber(), t4 = vs.newFileNumber()
        var flush2 = VersionEdit()
        flush2.logNumber = log2
        flush2.addFile(level: 0, F.file(t4, "c", "k", sizeBytes: 512, sequences: 101...250))
        try vs.logAndApply(flush2)
    }

    private func expectSameState(_ a: VersionSet, _ b: VersionSet) {
        for level in 0..<Version.numLevels {
            #expect(a.current.files[level] == b.current.files[level], "level \(level)")
            #expect(a.compactPointer(level: level) == b.compactPointer(level: level), "level \(level)")
        }
        #expect(a.lastSequence == b.lastSequence)
        #expect(a.logNumber == b.logNumber)
    }

    @Test func recoverRebuildsWhatLogAndApplyInstalled() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            #expect(vs.manifestFileNumber == 1 && vs.nextFileNumber == 2)
            try applyHistory(vs)
            #expect(vs.lastSequence == 250 && vs.logNumber == 6)
            #expect(vs.current.files[0].map(\.number) == [7])
            #expect(vs.current.files[1].map(\.number) == [4, 5])
            let next = vs.nextFileNumber
            try vs.close()

            let recovered = try VersionSet.recover(dbPath: dir, backend: backend)
            expectSameState(vs, recovered)
            // The new MANIFEST takes the next number; allocation goes on after it.
            #expect(recovered.manifestFileNumber == next)
            #expect(recovered.nextFileNumber == next + 1)
            // The snapshot (a global record and the default keyspace's) and three edits.
            #expect(recovered.recovery?.recordCount == 5)
            #expect(recovered.recovery?.droppedTailOffset == nil)
            #expect(try CurrentFile.read(dbPath: dir, backend: backend).number == next)

            // The new MANIFEST is a complete snapshot: recovering again from
            // it alone gives the same state.
            try recovered.close()
            let again = try VersionSet.recover(dbPath: dir, backend: backend)
            expectSameState(vs, again)
            #expect(again.recovery?.recordCount == 2)
            #expect(again.manifestFileNumber == next + 1)
            try again.close()
        }
    }

    @Test func recoverWorksThroughTheDefaultBackend() throws {
        // io_uring where the kernel allows it (the POSIX backend otherwise).
        let uring = IOBackends.makeDefault(notice: { _ in })
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: uring)
            try applyHistory(vs)
            try vs.close()
            let recovered = try VersionSet.recover(dbPath: dir, backend: uring)
            expectSameState(vs, recovered)
            try recovered.close()
        }
    }

    @Test func tornTailOfTheManifestIsDropped() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            try applyHistory(vs)
            try vs.close()
            let path = FileNames.manifest(dir, 1)
            let offsets = try F.recordOffsets(path)
            let bytes = try F.readFile(path)

            // Cut the last record in the middle, as a crash mid-append does.
            for cut in [1, 5, 9, 12, bytes.count - offsets[4] - 1] {
                try F.writeFile(path, Array(bytes.prefix(bytes.count - cut)))
                try F.writeFile(FileNames.current(dir), Array("MANIFEST-000001\n".utf8))
                let recovered = try VersionSet.recover(dbPath: dir, backend: backend)
                #expect(recovered.recovery?.recordCount == 4, "cut \(cut)")
                #expect(recovered.recovery?.droppedTailOffset == UInt64(offsets[4]), "cut \(cut)")
                // State after the second edit: no second flush.
                #expect(recovered.current.files[0].isEmpty, "cut \(cut)")
                #expect(recovered.current.files[1].map(\.number) == [4, 5], "cut \(cut)")
                #expect(recovered.lastSequence == 100, "cut \(cut)")
                // Numbers the lost edit used are not reused for the new MANIFEST.
                #expect(recovered.manifestFileNumber > 5)
                try recovered.close()
            }
        }
    }

    /// A power loss during the last append can leave its bytes inside the
    /// file size as zeros or garbage (the size reached the disk, the data
    /// did not), not only cut at the end: with no valid record after it,
    /// that is a torn append too, and is dropped.
    @Test func tornAppendOfZerosOrGarbageInsideTheFileIsDropped() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            try applyHistory(vs)
            try vs.close()
            let path = FileNames.manifest(dir, 1)
            let last = try F.recordOffsets(path)[4]  // two snapshot records, three edits
            let bytes = try F.readFile(path)
            var zeroHeader = bytes
            for i in last..<(last + LogRecord.headerSize) { zeroHeader[i] = 0 }
            var zeroPage = bytes
            for i in (last + 4)..<bytes.count { zeroPage[i] = 0 }
            var flipped = bytes
            flipped[bytes.count - 3] ^= 0x10
            for (name, damaged) in [("zero header", zeroHeader), ("zeroed payload", zeroPage), ("bad checksum", flipped)] {
                try F.writeFile(path, damaged)
                try F.writeFile(FileNames.current(dir), Array("MANIFEST-000001\n".utf8))
                let recovered = try VersionSet.recover(dbPath: dir, backend: backend)
                #expect(recovered.recovery?.recordCount == 4, "\(name)")
                #expect(recovered.recovery?.droppedTailOffset == UInt64(last), "\(name)")
                #expect(recovered.current.files[1].map(\.number) == [4, 5], "\(name)")
                try recovered.close()
            }
        }
    }

    @Test func corruptRecordInTheMiddleNamesManifestAndOffset() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            try applyHistory(vs)
            try vs.close()
            let path = FileNames.manifest(dir, 1)
            let offsets = try F.recordOffsets(path)
            var bytes = try F.readFile(path)
            bytes[offsets[3] + LogRecord.headerSize + 3] ^= 0x40  // the second edit
            try F.writeFile(path, bytes)

            let error = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            let details = try #require(corruptionDetails(error))
            #expect(details.path == path)
            #expect(details.offset == UInt64(offsets[3]))
            // CURRENT still names the damaged MANIFEST: nothing was switched.
            #expect(try CurrentFile.read(dbPath: dir, backend: backend).number == 1)

            // Without strict, the prefix before the bad record is used.
            let lenient = try VersionSet.recover(dbPath: dir, backend: backend, strict: false)
            #expect(lenient.recovery?.recordCount == 3)
            #expect(lenient.recovery?.droppedTailOffset == UInt64(offsets[3]))
            #expect(lenient.current.files[0].map(\.number) == [3])
            try lenient.close()
        }
    }

    @Test func editThatDeletesAMissingFileIsCorruptionAtItsOffset() throws {
        try F.withTemporaryDirectory { dir in
            var snapshot = VersionEdit()
            snapshot.formatVersion = 1
            snapshot.logNumber = 2
            snapshot.nextFileNumber = 10
            snapshot.lastSequence = 5
            snapshot.addFile(level: 1, F.file(3, "a", "c"))
            var bad = VersionEdit()
            bad.deleteFile(level: 1, number: 4)
            try F.writeManifest(dir: dir, number: 1, edits: [snapshot, bad])
            let path = FileNames.manifest(dir, 1)
            let error = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            let details = try #require(corruptionDetails(error))
            #expect(details.path == path)
            #expect(details.offset == UInt64(try F.recordOffsets(path)[1]))
            #expect(details.reason.contains("file 4"))
        }
    }

    @Test func editThatOverlapsAtLevel1IsCorruption() throws {
        try F.withTemporaryDirectory { dir in
            var snapshot = VersionEdit()
            snapshot.formatVersion = 1
            snapshot.logNumber = 2
            snapshot.nextFileNumber = 10
            snapshot.lastSequence = 5
            snapshot.addFile(level: 1, F.file(3, "a", "c"))
            var bad = VersionEdit()
            bad.addFile(level: 1, F.file(4, "b", "d"))
            try F.writeManifest(dir: dir, number: 1, edits: [snapshot, bad])
            let error = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            let details = try #require(corruptionDetails(error))
            #expect(details.reason.contains("overlaps"))
        }
    }

    @Test func manifestWithoutFormatVersionOrCountersIsRejected() throws {
        try F.withTemporaryDirectory { dir in
            var noVersion = VersionEdit()
            noVersion.logNumber = 1; noVersion.nextFileNumber = 2; noVersion.lastSequence = 0
            try F.writeManifest(dir: dir, number: 1, edits: [noVersion])
            let e1 = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            #expect(corruptionDetails(e1)?.reason.contains("format version") == true)

            var newer = noVersion
            newer.formatVersion = VersionEdit.currentFormatVersion + 1
            try F.writeManifest(dir: dir, number: 1, edits: [newer])
            let e2 = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            #expect(corruptionDetails(e2)?.reason.contains("newer") == true)

            var noCounters = VersionEdit()
            noCounters.formatVersion = 1
            try F.writeManifest(dir: dir, number: 1, edits: [noCounters])
            #expect(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }

            try F.writeManifest(dir: dir, number: 1, edits: [])
            #expect(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
        }
    }

    @Test func currentNamingAMissingManifestIsAClearError() throws {
        try F.withTemporaryDirectory { dir in
            try F.writeFile(FileNames.current(dir), Array("MANIFEST-000099\n".utf8))
            let error = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            let details = try #require(corruptionDetails(error))
            #expect(details.path == FileNames.current(dir))
            #expect(details.reason.contains("MANIFEST-000099") && details.reason.contains("does not exist"))
        }
    }

    @Test func malformedOrMissingCurrentIsRejected() throws {
        try F.withTemporaryDirectory { dir in
            let missing = try #require(throws: DBError.self) { try VersionSet.recover(dbPath: dir, backend: backend) }
            guard case .databaseNotFound = missing else { Issue.record("expected databaseNotFound, got \(missing)"); return }
            for content in ["MANIFEST-000001", "", "\n", "MANIFEST-\n", "MANIFEST-+1\n", "MANIFEST-1/../x\n",
                            "LOG-000001\n", String(repeating: "9", count: 300) + "\n"] {
                try F.writeFile(FileNames.current(dir), Array(content.utf8))
                let error = try #require(throws: DBError.self, "\(content)") {
                    try VersionSet.recover(dbPath: dir, backend: backend)
                }
                #expect(corruptionDetails(error)?.path == FileNames.current(dir), "\(content)")
            }
        }
    }

    @Test func createRefusesAnExistingDatabase() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            try vs.close()
            #expect(throws: DBError.self) { try VersionSet.create(dbPath: dir, backend: backend) }
        }
    }

    @Test func invalidEditIsRefusedAndNothingIsLogged() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            let before = try FileSystem.fileSize(FileNames.manifest(dir, 1))
            var missing = VersionEdit()
            missing.deleteFile(level: 1, number: 1)
            #expect(throws: DBError.self) { try vs.logAndApply(missing) }
            var unallocated = VersionEdit()
            unallocated.addFile(level: 0, F.file(1000, "a", "b"))
            #expect(throws: DBError.self) { try vs.logAndApply(unallocated) }
            var backwardsLog = VersionEdit()
            backwardsLog.logNumber = vs.nextFileNumber + 5
            #expect(throws: DBError.self) { try vs.logAndApply(backwardsLog) }
            #expect(try FileSystem.fileSize(FileNames.manifest(dir, 1)) == before)
            try vs.close()
            #expect(throws: DBError.self) { try vs.logAndApply(VersionEdit()) }
            try vs.close()
        }
    }

    @Test func failedManifestWriteInstallsNothingAndRefusesLaterEdits() throws {
        try F.withTemporaryDirectory { dir in
            let plan = FaultPlan()
            let vs = try VersionSet.create(dbPath: dir, backend: FaultInjectingBackend(base: PosixBackend(), plan: plan))
            var flush = VersionEdit()
            flush.addFile(level: 0, F.file(vs.newFileNumber(), "a", "b"))
            plan.add(FaultPlan.Rule(kind: .write, errno: EIO, sticky: true))
            let error = try #require(throws: DBError.self) { try vs.logAndApply(flush) }
            guard case .io(let io) = error else { Issue.record("expected .io, got \(error)"); return }
            #expect(io.path == FileNames.manifest(dir, 1))
            #expect(vs.current.totalFileCount == 0)

            plan.reset()
            let later = try #require(throws: DBError.self) { try vs.logAndApply(flush) }
            guard case .readOnly = later else { Issue.record("expected .readOnly, got \(later)"); return }
            try vs.close()
        }
    }

    @Test func filesOfAVersionAReaderHoldsStayLive() throws {
        try F.withTemporaryDirectory { dir in
            let vs = try VersionSet.create(dbPath: dir, backend: backend)
            let t1 = vs.newFileNumber()
            var flush = VersionEdit()
            flush.addFile(level: 0, F.file(t1, "a", "b"))
            try vs.logAndApply(flush)

            var held: Version? = vs.current
            let t2 = vs.newFileNumber()
            var compaction = VersionEdit()
            compaction.deleteFile(level: 0, number: t1)
            compaction.addFile(level: 1, F.file(t2, "a", "b"))
            try vs.logAndApply(compaction)

            #expect(vs.current.fileNumbers == [t2])
            #expect(vs.liveFileNumbers() == [t1, t2])
            #expect(held?.fileCount(0) == 1)
            held = nil
            #expect(vs.liveFileNumbers() == [t2])
            #expect(vs.liveVersionCount() == 1)
            try vs.close()
        }
    }

    @Test func concurrentEditsAllLand() async throws {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "ringkv-version")
        defer { try? FileSystem.removeTree(dir) }
        let vs = try VersionSet.create(dbPath: dir, backend: backend)
        let perTask = 20
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<perTask {
                        let n = vs.newFileNumber()
                        var edit = VersionEdit()
                        edit.addFile(level: 0, F.file(n, "a", "z"))
                        try vs.logAndApply(edit)
                        _ = vs.current.filesToSearch(forUserKey: Array("m".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(vs.current.fileCount(0) == 4 * perTask)
        try vs.close()
        let recovered = try VersionSet.recover(dbPath: dir, backend: backend)
        #expect(recovered.current.files[0] == vs.current.files[0])
        try recovered.close()
    }
}
