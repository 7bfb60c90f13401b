import Testing
@testable import RingKV

@Suite struct VersionTests {
    typealias F = VersionFixtures

    private func build(_ edits: VersionEdit...) throws -> Version {
        var builder = VersionBuilder(base: .empty)
        for edit in edits { try builder.apply(edit) }
        return builder.build()
    }

    private func numbers(_ hits: [(level: Int, file: FileMetaData)]) -> [UInt64] { hits.map(\.file.number) }

    @Test func level0IsSearchedNewestFirstThenOneFilePerLevel() throws {
        var edit = VersionEdit()
        // Added out of order on purpose: the builder orders L0 by number.
        edit.addFile(level: 0, F.file(3, "a", "m"))
        edit.addFile(level: 0, F.file(9, "k", "z"))
        edit.addFile(level: 0, F.file(5, "b", "c"))
        edit.addFile(level: 0, F.file(7, "f", "h"))
        edit.addFile(level: 1, F.file(20, "a", "e"))
        edit.addFile(level: 1, F.file(21, "f", "j"))
        edit.addFile(level: 1, F.file(22, "l", "p"))
        edit.addFile(level: 3, F.file(30, "g", "g"))
        let v = try build(edit)
        #expect(v.files[0].map(\.number) == [9, 7, 5, 3])
        #expect(numbers(v.filesToSearch(forUserKey: Array("g".utf8))) == [7, 3, 21, 30])
        #expect(numbers(v.filesToSearch(forUserKey: Array("l".utf8))) == [9, 3, 22])
        // Between two L1 tables: no L1 hit.
        #expect(numbers(v.filesToSearch(forUserKey: Array("k".utf8))) == [9, 3])
        #expect(numbers(v.filesToSearch(forUserKey: Array("q".utf8))) == [9])
        #expect(numbers(v.filesToSearch(forUserKey: Array("0".utf8))) == [])
        #expect(numbers(v.filesToSearch(forUserKey: Array("a".utf8))) == [3, 20])
        #expect(numbers(v.filesToSearch(forUserKey: Array("e".utf8))) == [3, 20])
    }

    @Test func binarySearchFindsEveryFileOfALargeLevel() throws {
        var edit = VersionEdit()
        for i in 0..<500 {
            edit.addFile(level: 2, F.file(UInt64(1000 + i), "k\(10000 + 2 * i)", "k\(10000 + 2 * i)a"))
        }
        let v = try build(edit)
        for i in 0..<500 {
            let inside = v.filesToSearch(forUserKey: Array("k\(10000 + 2 * i)5".utf8))
            #expect(numbers(inside) == [UInt64(1000 + i)])
            let between = v.filesToSearch(forUserKey: Array("k\(10000 + 2 * i + 1)".utf8))
            #expect(between.isEmpty)
        }
    }

    @Test func overlappingFilesHonoursBoundsAndNil() throws {
        var edit = VersionEdit()
        edit.addFile(level: 0, F.file(8, "c", "f"))
        edit.addFile(level: 0, F.file(9, "x", "y"))
        edit.addFile(level: 1, F.file(20, "a", "b"))
        edit.addFile(level: 1, F.file(21, "d", "g"))
        edit.addFile(level: 1, F.file(22, "h", "k"))
        edit.addFile(level: 1, F.file(23, "m", "p"))
        let v = try build(edit)
        func nums(_ level: Int, _ low: String?, _ high: String?) -> [UInt64] {
            v.overlappingFiles(level: level, smallestUserKey: low.map { Array($0.utf8) },
                               largestUserKey: high.map { Array($0.utf8) }).map(\.number)
        }
        #expect(nums(1, "e", "i") == [21, 22])
        #expect(nums(1, "g", "h") == [21, 22])
        #expect(nums(1, "l", "l") == [])
        #expect(nums(1, nil, "c") == [20])
        #expect(nums(1, "n", nil) == [23])
        #expect(nums(1, nil, nil) == [20, 21, 22, 23])
        #expect(nums(0, "a", "c") == [8])
        #expect(nums(0, nil, nil) == [9, 8])
        #expect(v.overlapsRange(level: 1, smallestUserKey: Array("b".utf8), largestUserKey: Array("c".utf8)))
        #expect(!v.overlapsRange(level: 1, smallestUserKey: Array("q".utf8), largestUserKey: nil))
    }

    @Test func levelBytesAndCountsSumTheFiles() throws {
        var edit = VersionEdit()
        edit.addFile(level: 0, F.file(1, "a", "b", sizeBytes: 100))
        edit.addFile(level: 0, F.file(2, "a", "b", sizeBytes: 50))
        edit.addFile(level: 4, F.file(3, "a", "b", sizeBytes: 7))
        let v = try build(edit)
        #expect(v.levelBytes(0) == 150 && v.fileCount(0) == 2)
        #expect(v.levelBytes(4) == 7 && v.fileCount(4) == 1)
        #expect(v.levelBytes(1) == 0 && v.fileCount(1) == 0)
        #expect(v.totalFileCount == 3 && v.fileNumbers == [1, 2, 3] && v.maxFileNumber == 3)
    }

    @Test func overlapAtLevel1IsRejected() throws {
        var base = VersionEdit()
        base.addFile(level: 1, F.file(1, "c", "f"))
        base.addFile(level: 1, F.file(2, "m", "p"))
        for (low, high) in [("a", "c"), ("f", "g"), ("d", "e"), ("a", "z"), ("g", "m"), ("p", "q")] {
            var builder = VersionBuilder(base: try build(base))
            var edit = VersionEdit()
            edit.addFile(level: 1, F.file(3, low, high))
            #expect(throws: VersionBuilder.Violation.self, "\(low)...\(high)") { try builder.apply(edit) }
        }
        // Touching nothing: accepted, kept sorted.
        var edit = VersionEdit()
        edit.addFile(level: 1, F.file(3, "g", "l"))
        edit.addFile(level: 1, F.file(4, "a", "b"))
        #expect(try build(base, edit).files[1].map(\.number) == [4, 1, 3, 2])
        // Within level 0 overlap is normal.
        var l0 = VersionEdit()
        l0.addFile(level: 0, F.file(5, "a", "z"))
        l0.addFile(level: 0, F.file(6, "a", "z"))
        #expect(try build(l0).fileCount(0) == 2)
    }

    @Test func deletingAMissingOrMisplacedFileIsRejected() throws {
        var base = VersionEdit()
        base.addFile(level: 2, F.file(1, "a", "b"))
        var missing = VersionEdit()
        missing.deleteFile(level: 2, number: 7)
        #expect(throws: VersionBuilder.Violation.self) { try build(base, missing) }
        var wrongLevel = VersionEdit()
        wrongLevel.deleteFile(level: 3, number: 1)
        #expect(throws: VersionBuilder.Violation.self) { try build(base, wrongLevel) }
        var duplicate = VersionEdit()
        duplicate.addFile(level: 4, F.file(1, "x", "y"))
        #expect(throws: VersionBuilder.Violation.self) { try build(base, duplicate) }
    }

    @Test func oneEditCanMoveAFileDownALevel() throws {
        var base = VersionEdit()
        base.addFile(level: 1, F.file(1, "a", "b"))
        var move = VersionEdit()
        move.deleteFile(level: 1, number: 1)
        move.addFile(level: 2, F.file(1, "a", "b"))
        let v = try build(base, move)
        #expect(v.fileCount(1) == 0 && v.files[2].map(\.number) == [1])
    }
}
