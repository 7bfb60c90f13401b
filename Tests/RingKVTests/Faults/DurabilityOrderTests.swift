import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// The order in which open makes files and directory entries durable
/// (issue #15 item 10, docs/ARCHITECTURE.md §Failures), checked by cutting
/// the power at every disk-changing step of an open or a creation and
/// undoing, in turn, every kind of unsynced directory change.
@Suite struct DurabilityOrderTests {
    static func options(_ plan: FaultPlan?) -> Options {
        var o = Options()
        o.walPreallocateBytes = 1 << 20
        o.memtableSizeBytes = 64 << 10
        o.l0CompactionTrigger = 100  // no background compaction: the open's steps alone
        o.faultPlan = plan
        return o
    }

    static func contents(_ path: String) throws -> [String: String] {
        try stringContents(path, options: options(nil))
    }

    /// What a crash may undo: everything, nothing, a random half, or only
    /// the creation of MANIFEST files (the case a missing directory fsync
    /// between a new MANIFEST and the CURRENT rename turns into a CURRENT
    /// naming a missing MANIFEST).
    static let policies: [(name: String, policy: DurabilityTracker.DirectoryPolicy)] = [
        ("undo all", .undoAll), ("keep all", .keepAll), ("random", .random),
        ("undo MANIFEST creates", .undo { change in
            if case .create(let path) = change { return path.contains("MANIFEST-") }
            return false
        }),
    ]

    @Test func createdDatabaseDirectorySurvivesAPowerLoss() throws {
        let dir = try TempDir()
        let path = dir.sub("parent/db")
        let plan = FaultPlan()
        var options = Self.options(plan)
        options.createIfMissing = true
        let db = try DB(path: path, options: options)
        try db.put("k", "v", options: WriteOptions(sync: true))
        db.impl.abandonForCrashTest()
        let report = try plan.simulateCrash(tear: .pages, directories: .undoAll, seed: 1)
        #expect(try Self.contents(path) == ["k": "v"], "crash: \(report)")
    }

    /// A database with tables, a MANIFEST of several edits and a WAL with
    /// synced and unsynced records; then its open is cut at every step.
    @Test func openSurvivesAPowerCutAtEveryStep() throws {
        let dir = try TempDir()
        let pristine = dir.sub("pristine")
        var expected: [String: String] = [:]
        do {
            var options = Self.options(nil)
            options.createIfMissing = true
            let db = try DB(path: pristine, options: options)
            for i in 0..<300 {
                try db.put("a\(i)", "value\(i)")
                expected["a\(i)"] = "value\(i)"
            }
            try db.flush()
            for i in 0..<100 {
                try db.put("b\(i)", "value\(i)", options: WriteOptions(sync: i % 10 == 0))
                expected["b\(i)"] = "value\(i)"
            }
            try db.close()
        }
        // How many disk-changing steps a clean open takes.
        let counting = FaultPlan()
        try copyDatabaseFiles(from: pristine, to: dir.sub("count"))
        try DB(path: dir.sub("count"), options: Self.options(counting)).close()
        let steps = counting.mutationCount
        #expect(steps >= 10, "an open with WAL replay takes more steps than \(steps)")

        for cut in 0...steps {
            for (n, (name, policy)) in Self.policies.enumerated() {
                let path = dir.sub("cut\(cut)-\(n)")
                try copyDatabaseFiles(from: pristine, to: path)
                let plan = FaultPlan()
                plan.cutPower(afterMutations: cut)
                do {
                    try DB(path: path, options: Self.options(plan)).impl.abandonForCrashTest()
                } catch {
                    #expect(plan.isPowerCut, "cut \(cut): the open failed on its own: \(error)")
                }
                let report = try plan.simulateCrash(tear: .pages, directories: policy, seed: UInt64(cut))
                let context = "cut at step \(cut) of \(steps), \(name): \(report)"
                do {
                    let state = try Self.contents(path)
                    #expect(state == expected, "\(context): \(state.count) keys instead of \(expected.count)")
                } catch {
                    Issue.record("\(context): reopen failed: \(error)")
                }
                try FileSystem.removeTree(path)
            }
        }
    }

    /// A creation cut at any step leaves either a database or the
    /// leftovers of none; `createIfMissing` then creates it.
    @Test func creationSurvivesAPowerCutAtEveryStep() throws {
        let dir = try TempDir()
        var options = Self.options(nil)
        options.createIfMissing = true
        let counting = FaultPlan()
        options.faultPlan = counting
        try DB(path: dir.sub("count"), options: options).close()
        let steps = counting.mutationCount
        for cut in 0...steps {
            for (n, (name, policy)) in Self.policies.enumerated() {
                let path = dir.sub("cut\(cut)-\(n)")
                let plan = FaultPlan()
                plan.cutPower(afterMutations: cut)
                options.faultPlan = plan
                _ = try? DB(path: path, options: options)
                let report = try plan.simulateCrash(tear: .pages, directories: policy, seed: UInt64(cut))
                options.faultPlan = nil
                do {
                    let db = try DB(path: path, options: options)
                    try db.put("k", "v", options: WriteOptions(sync: true))
                    #expect(try db.get("k") == "v")
                    try db.close()
                } catch {
                    Issue.record("cut at step \(cut) of \(steps), \(name): \(report): reopen failed: \(error)")
                }
                try? FileSystem.removeTree(path)
            }
        }
    }

    /// A CURRENT switch that fails after its rename (the directory fsync
    /// fails) must keep the MANIFEST that CURRENT now names — even when
    /// reading CURRENT back fails too.
    @Test func failedCurrentSwitchAfterTheRenameKeepsTheNamedManifest() throws {
        for failingSync in 1...3 {
            try VersionFixtures.withTemporaryDirectory { dir in
                let vs = try VersionSet.create(dbPath: dir, backend: PosixBackend())
                var edit = VersionEdit()
                edit.logNumber = vs.newFileNumber()
                edit.lastSequence = 7
                try vs.logAndApply(edit)
                try vs.close()
                let plan = FaultPlan([
                    .init(kind: .syncDirectory, nth: failingSync, errno: EIO),
                    .init(kind: .read, nth: 2, errno: EIO, sticky: true, pathContains: "CURRENT"),
                ])
                let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
                let recovered = try? VersionSet.recover(dbPath: dir, backend: backend)
                try recovered?.close()
                let named = try CurrentFile.read(dbPath: dir, backend: PosixBackend()).name
                #expect(FileSystem.exists(dir + "/" + named),
                        "directory fsync \(failingSync) failed: CURRENT names \(named), which is gone")
                let again = try VersionSet.recover(dbPath: dir, backend: PosixBackend())
                #expect(again.lastSequence == 7)
                try again.close()
            }
        }
    }
}
