import Testing
@testable import RingKV

/// Compaction's range tombstone rules on their own: which entries a
/// tombstone drops, when the tombstone itself goes, and where outputs may
/// be cut.
@Suite struct CompactionRangeTombstonesTests {
    typealias F = CompactionFixtures
    static let tombstone = RangeTombstone(start: bytes("c"), end: bytes("g"), sequence: 50)

    private func hides(_ ranges: CompactionRangeTombstones, _ key: String, _ sequence: SequenceNumber) -> Bool {
        bytes(key).withUnsafeBytes { ranges.hides($0, sequence: sequence) }
    }

    @Test func withoutSnapshotsCoveredEntriesAndTheBottomTombstoneGo() {
        let ranges = CompactionRangeTombstones(inputs: [Self.tombstone], smallestSnapshot: 100, deeperLevels: [])
        #expect(hides(ranges, "c", 49) && hides(ranges, "f", 1))
        #expect(!hides(ranges, "c", 50) && !hides(ranges, "d", 51), "same or newer entries stay")
        #expect(!hides(ranges, "g", 1) && !hides(ranges, "b", 1), "outside the range")
        #expect(ranges.droppedCount == 1 && !ranges.hasPending, "nothing deeper: the tombstone goes")
    }

    @Test func aSnapshotBelowTheTombstoneKeepsBothEntriesAndTombstone() {
        let ranges = CompactionRangeTombstones(inputs: [Self.tombstone], smallestSnapshot: 40, deeperLevels: [])
        #expect(!hides(ranges, "d", 10), "the snapshot at 40 still reads d@10")
        #expect(ranges.droppedCount == 0 && ranges.hasPending)
    }

    @Test func aDeeperLevelOverlappingTheRangeKeepsTheTombstone() {
        let overlapping = CompactionRangeTombstones(inputs: [Self.tombstone], smallestSnapshot: 100,
                                                    deeperLevels: [[F.file(9, "f", "h")]])
        #expect(overlapping.hasPending && hides(overlapping, "d", 10), "covered inputs still go")
        let apart = CompactionRangeTombstones(inputs: [Self.tombstone], smallestSnapshot: 100,
                                              deeperLevels: [[F.file(9, "h", "k")], [F.file(10, "a", "b")]])
        #expect(!apart.hasPending)
    }

    @Test func outputsAreNotCutInsideAKeptTombstone() throws {
        let dir = try TempDir()
        try FileSystem.createDirectory(dir.sub("db"))
        let output = try TableOutput(number: 1, dbPath: dir.sub("db"), backend: try URingBackend(), options: openOptions())
        defer { output.abandon() }
        var ranges = CompactionRangeTombstones(inputs: [Self.tombstone], smallestSnapshot: 10, deeperLevels: [])
        func canCut(_ key: String) -> Bool { bytes(key).withUnsafeBytes { ranges.canCut(before: $0) } }
        bytes("b").withUnsafeBytes { ranges.attach(startingBefore: $0, inclusive: true, to: output) }
        #expect(ranges.hasPending && canCut("b"), "the tombstone starts after b")
        bytes("d").withUnsafeBytes { ranges.attach(startingBefore: $0, inclusive: false, to: output) }
        #expect(!ranges.hasPending)
        #expect(!canCut("d") && !canCut("g"), "the output claims [c, g]")
        #expect(canCut("g\u{0}"))
        ranges.startOutput()
        #expect(canCut("d"))
    }
}
