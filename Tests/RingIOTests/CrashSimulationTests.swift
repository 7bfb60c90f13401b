#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO
@testable import RingIOFaults

/// The power-loss model of `DurabilityTracker.simulateCrash` and
/// `FaultPlan.cutPower`: what survives is exactly what was synced, plus
/// whatever of the rest the chosen policy keeps.
@Suite struct CrashSimulationTests {
    func write(_ backend: any IOBackend, _ path: String, _ bytes: [UInt8], at offset: UInt64 = 0,
               sync: Bool = false) throws {
        let file = try backend.openFile(path, offset == 0 ? [.write, .create, .truncate] : [.write], direct: .off)
        defer { try? file.close() }
        try bytes.withUnsafeBytes { try backend.write(fd: file.fd, from: $0, offset: offset) }
        if sync { try backend.sync(fd: file.fd, dataOnly: false) }
    }

    func read(_ path: String) throws -> [UInt8] {
        let file = try File.open(path, .read)
        defer { try? file.close() }
        var data = [UInt8](repeating: 0, count: Int(try file.size()))
        let n = try data.withUnsafeMutableBytes { try PosixBackend().read(fd: file.fd, into: $0, offset: 0) }
        return Array(data.prefix(n))
    }

    @Test func directoryChangesWithoutADirectorySyncAreUndone() throws {
        try withTemporaryDirectory { root in
            let dir = root + "/db"
            try FileSystem.createDirectory(dir)
            try write(PosixBackend(), dir + "/old", [1, 2, 3], sync: true)
            try write(PosixBackend(), dir + "/target", [9], sync: true)
            let plan = FaultPlan()
            let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
            try write(backend, dir + "/new", [4, 5], sync: true)
            try write(backend, dir + "/tmp", [7, 7], sync: true)
            try backend.rename(dir + "/tmp", to: dir + "/target")
            try backend.removeFile(dir + "/old")
            try backend.createDirectory(dir + "/sub")
            #expect(plan.durability.pendingChanges.count == 5)
            let report = try plan.simulateCrash(directories: .undoAll)
            #expect(report.undone.count == 5)
            #expect(!FileSystem.exists(dir + "/new"), "an unsynced create must vanish")
            #expect(try read(dir + "/old") == [1, 2, 3], "an unsynced removal must come back")
            #expect(try read(dir + "/target") == [9], "an unsynced rename must be reverted")
            #expect(!FileSystem.exists(dir + "/tmp"), "its create was undone too")
            #expect(!FileSystem.exists(dir + "/sub"))
            #expect(!FileSystem.exists(DurabilityTracker.graveyard(for: dir)), "the graveyard is cleaned up")
        }
    }

    @Test func aDirectorySyncMakesTheChangesStick() throws {
        try withTemporaryDirectory { root in
            let dir = root + "/db"
            try FileSystem.createDirectory(dir)
            try write(PosixBackend(), dir + "/old", [1], sync: true)
            let plan = FaultPlan()
            let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
            try write(backend, dir + "/new", [4, 5], sync: true)
            try backend.removeFile(dir + "/old")
            try backend.syncDirectory(dir)
            #expect(plan.durability.pendingChanges.isEmpty)
            try plan.simulateCrash(directories: .undoAll)
            #expect(try read(dir + "/new") == [4, 5])
            #expect(!FileSystem.exists(dir + "/old"))
        }
    }

    /// With `.pages`, the unsynced part of a file may keep a later page
    /// while losing an earlier one — the case a prefix model never makes.
    /// Synced bytes always survive; the size stays within [synced, size].
    @Test func unsyncedPagesSurviveInAnySubset() throws {
        try withTemporaryDirectory { dir in
            let synced = (0..<5000).map { UInt8(truncatingIfNeeded: $0 % 251 + 1) }
            let unsynced = [UInt8](repeating: 0xAB, count: 6 * 4096)
            var laterPageWithoutEarlier = false
            for seed in UInt64(0)..<40 {
                let path = dir + "/f\(seed)"
                let plan = FaultPlan()
                let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
                try write(backend, path, synced, sync: true)
                try backend.syncDirectory(dir)
                try write(backend, path, unsynced, at: UInt64(synced.count))
                try plan.simulateCrash(tear: .pages, seed: seed)
                let after = try read(path)
                #expect(Array(after.prefix(synced.count)) == synced, "seed \(seed): synced bytes changed")
                #expect(after.count >= synced.count && after.count <= synced.count + unsynced.count)
                // Pages 2 and 3 of the file lie wholly in the unsynced part.
                if after.count >= 4 * 4096 {
                    let page2 = after[(2 * 4096)..<(3 * 4096)], page3 = after[(3 * 4096)..<(4 * 4096)]
                    if page2.allSatisfy({ $0 == 0 }) && page3.allSatisfy({ $0 == 0xAB }) { laterPageWithoutEarlier = true }
                }
            }
            #expect(laterPageWithoutEarlier, "no seed kept a later page while losing an earlier one")
        }
    }

    /// A log keeps its (preallocated) size; what was lost reads as zeros.
    @Test func aLogLosesItsUnsyncedBytesToZeros() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/000001.log"
            let plan = FaultPlan()
            let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
            try write(backend, path, [UInt8](repeating: 5, count: 10_000) + [UInt8](repeating: 0, count: 6384))
            try backend.syncDirectory(dir)
            let file = try File.open(path, .read)
            plan.durability.noteLogWritten(fd: file.fd, endOffset: 10_000)
            plan.durability.noteLogSynced(fd: file.fd, endOffset: 3000)
            try file.close()
            let report = try plan.simulateCrash(tear: .none)
            let after = try read(path)
            #expect(after.count == 16_384)
            #expect(after[0..<3000].allSatisfy { $0 == 5 } && after[3000...].allSatisfy { $0 == 0 })
            #expect(report.droppedBytes == 7000)
        }
    }

    @Test func afterAPowerCutNothingChangesTheDiskButReadsGoOn() throws {
        try withTemporaryDirectory { dir in
            let plan = FaultPlan()
            let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
            plan.cutPower(afterMutations: 3)  // create, write, fsync
            try write(backend, dir + "/a", [1, 2], sync: true)
            #expect(!plan.isPowerCut && plan.mutationCount == 3)
            #expect(throws: IOError.self) { try backend.syncDirectory(dir) }
            #expect(plan.isPowerCut)
            #expect(throws: IOError.self) { try backend.removeFile(dir + "/a") }
            #expect(throws: IOError.self) { try backend.rename(dir + "/a", to: dir + "/b") }
            #expect(throws: IOError.self) { try write(backend, dir + "/c", [3]) }
            #expect(plan.check(.write) == EIO && plan.check(.fsync) == EIO)
            let file = try backend.openFile(dir + "/a", .read, direct: .off)
            var buffer = [UInt8](repeating: 0, count: 2)
            let n = try buffer.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: 0) }
            #expect(n == 2 && buffer == [1, 2])
            try file.close()
            #expect(FileSystem.exists(dir + "/a") && !FileSystem.exists(dir + "/c"))
        }
    }
}
