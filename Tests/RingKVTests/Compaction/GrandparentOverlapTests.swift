import Testing
@testable import RingKV

/// Where compaction outputs are cut against the grandparent level.
@Suite struct GrandparentOverlapTests {
    typealias F = CompactionFixtures

    /// Feeds `keys` with the output growing by `bytesPerKey` per key (from
    /// 0 after each cut); returns the keys an output was cut before.
    func cuts(_ overlap: inout GrandparentOverlap, _ keys: [String], bytesPerKey: UInt64) -> [String] {
        var outputBytes: UInt64 = 0
        var cuts: [String] = []
        for key in keys {
            if Array(key.utf8).withUnsafeBytes({ overlap.shouldStopBefore(userKey: $0, outputBytes: outputBytes) }) {
                cuts.append(key)
                outputBytes = 0
            }
            outputBytes += bytesPerKey
        }
        return cuts
    }

    @Test func outputsAreCutBeforeTooMuchGrandparentOverlap() {
        // Grandparents of 400 bytes each; limit 1000: once the keys of an
        // output have passed over three of them, the next key starts a new
        // output (the first key's grandparent is not counted).
        let grandparents = (0..<10).map { F.file(UInt64($0), "k\($0)0", "k\($0)9", sizeBytes: 400) }
        var overlap = GrandparentOverlap(grandparents: grandparents, limitBytes: 1000)
        #expect(cuts(&overlap, (0..<10).map { "k\($0)5" }, bytesPerKey: 1) == ["k35", "k65", "k95"])
    }

    @Test func outputsOfHalfTheTargetEndWhereAGrandparentTableEnds() {
        // One key per grandparent table, 300 bytes each, target 1000: at the
        // first boundary the output holds 300 (< 500, half the target) and
        // goes on; at the second it holds 600 (>= 550: 50 % plus 5 % for the
        // boundary passed) and ends there, so no output reaches into a
        // grandparent table it barely needs.
        let grandparents = (0..<10).map { F.file(UInt64($0), "k\($0)0", "k\($0)9", sizeBytes: 400) }
        var overlap = GrandparentOverlap(grandparents: grandparents, limitBytes: 1 << 40, targetBytes: 1000)
        #expect(cuts(&overlap, (0..<10).map { "k\($0)5" }, bytesPerKey: 300) == ["k25", "k45", "k65", "k85"])
        // Without a target only the overlap limit cuts.
        var unaligned = GrandparentOverlap(grandparents: grandparents, limitBytes: 1 << 40)
        #expect(cuts(&unaligned, (0..<10).map { "k\($0)5" }, bytesPerKey: 300).isEmpty)
    }

    @Test func manySmallGrandparentTablesDoNotMakeSmallOutputs() {
        // A boundary after every 100 bytes: the share needed grows by 5 %
        // per boundary passed, so the cut comes at 900 bytes (90 %), not at
        // the first boundary past 500.
        let grandparents = (0..<30).map { F.file(UInt64($0), "k\($0 + 10)0", "k\($0 + 10)9", sizeBytes: 100) }
        var overlap = GrandparentOverlap(grandparents: grandparents, limitBytes: 1 << 40, targetBytes: 1000)
        #expect(cuts(&overlap, (10..<40).map { "k\($0)5" }, bytesPerKey: 100) == ["k195", "k285", "k375"])
        #expect(GrandparentOverlap.alignThresholdBytes(targetBytes: 1000, boundariesPassed: 0) == 500)
        #expect(GrandparentOverlap.alignThresholdBytes(targetBytes: 1000, boundariesPassed: 3) == 650)
        #expect(GrandparentOverlap.alignThresholdBytes(targetBytes: 1000, boundariesPassed: 50) == 900)
        #expect(GrandparentOverlap.alignThresholdBytes(targetBytes: 64 << 20, boundariesPassed: 0) == 32 << 20)
    }

    @Test func aCutForSizeRestartsTheCounts() {
        // The job cut an output for its size right after the keys passed two
        // grandparents (800 bytes of overlap, limit 1000): the next output
        // starts from nothing, so the next grandparent does not cut it.
        let grandparents = (0..<10).map { F.file(UInt64($0), "k\($0)0", "k\($0)9", sizeBytes: 400) }
        var overlap = GrandparentOverlap(grandparents: grandparents, limitBytes: 1000)
        let feed = { (o: inout GrandparentOverlap, key: String) -> Bool in
            Array(key.utf8).withUnsafeBytes { o.shouldStopBefore(userKey: $0, outputBytes: 1) }
        }
        #expect(!feed(&overlap, "k05") && !feed(&overlap, "k15") && !feed(&overlap, "k25"))
        overlap.outputEnded()
        // Without the restart k35 would bring the count to 1200 and cut.
        #expect(!feed(&overlap, "k35") && !feed(&overlap, "k45"))
        #expect(feed(&overlap, "k55"))
    }
}

extension GrandparentOverlapTests {
    @Test func outputsAlsoEndWhereTheKeysEnterAGrandparentTableFromAGap() {
        // Grandparents cover k2x and k6x only; 300 bytes per key, target
        // 1000 (this helper never cuts for size). k05 and k15 lie in the gap
        // before k2x: entering k2x at k25 with 600 bytes (>= 500) ends the
        // output there, so the k05-k15 output overlaps no grandparent (a
        // trivial move later). Leaving k2x at k35 with 300 bytes does not
        // cut; k45 and k55 stay in the gap; entering k6x at k65 cuts again.
        // Without the gap rule the cuts come only where the keys leave a
        // grandparent table (k35, k75), and every output overlaps one.
        let grandparents = [F.file(1, "k20", "k29", sizeBytes: 400), F.file(2, "k60", "k69", sizeBytes: 400)]
        var overlap = GrandparentOverlap(grandparents: grandparents, limitBytes: 1 << 40, targetBytes: 1000)
        #expect(cuts(&overlap, (0..<10).map { "k\($0)5" }, bytesPerKey: 300) == ["k25", "k65"])
    }
}
