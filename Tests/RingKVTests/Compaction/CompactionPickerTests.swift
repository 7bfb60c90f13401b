import Testing
@testable import RingKV

/// Which tables the picker chooses, on hand-built versions.
@Suite struct CompactionPickerTests {
    typealias F = CompactionFixtures

    private func picker(l0Trigger: Int = 4, l1Bytes: UInt64 = 10_000, multiplier: UInt64 = 10,
                        targetFileBytes: UInt64 = 1000) -> CompactionPicker {
        var options = Options()
        options.l0CompactionTrigger = l0Trigger
        options.l1TargetSizeBytes = l1Bytes
        options.levelSizeMultiplier = multiplier
        options.targetFileSizeBytes = targetFileBytes
        return CompactionPicker(options: options)
    }

    private let noPointers = [[UInt8]?](repeating: nil, count: Version.numLevels)

    @Test func levelTargetsGrowByTheMultiplier() {
        let p = picker(l1Bytes: 256, multiplier: 10)
        #expect(p.maxBytes(forLevel: 1) == 256)
        #expect(p.maxBytes(forLevel: 2) == 2560)
        #expect(p.maxBytes(forLevel: 6) == 25_600_000)
        #expect(picker(l1Bytes: UInt64.max / 2).maxBytes(forLevel: 6) == UInt64.max)
    }

    @Test func level0BelowTriggerPicksNothing() throws {
        let v = try F.version([0: [F.file(1, "a", "c"), F.file(2, "b", "d"), F.file(3, "e", "f")]])
        #expect(picker().pick(version: v, compactPointers: noPointers, state: CompactionState())?.level == nil)
    }

    @Test func level0TakesTheOverlappingClosureAndTheL1TablesBeneath() throws {
        // 1: a-c, 2: b-e, 3: x-z (disjoint), 4: e-g (overlaps 2's range, so joins).
        let v = try F.version([
            0: [F.file(1, "a", "c"), F.file(2, "b", "e"), F.file(3, "x", "z"), F.file(4, "e", "g")],
            1: [F.file(10, "a", "b"), F.file(11, "f", "h"), F.file(12, "m", "n"), F.file(13, "y", "y")],
        ])
        let c = try #require(picker().pick(version: v, compactPointers: noPointers, state: CompactionState()))
        #expect(c.level == 0 && c.outputLevel == 1 && c.reason == .level0FileCount)
        #expect(c.inputs.map(\.number) == [4, 2, 1])  // newest first, 3 left out
        #expect(c.outputLevelInputs.map(\.number) == [10, 11])
        #expect(c.smallestUserKey == bytes("a") && c.largestUserKey == bytes("h"))
    }

    @Test func highestScoringLevelGoesFirst() throws {
        // L1 at 3x its target beats L0 at 1.25x its trigger.
        let v = try F.version([
            0: (1...5).map { F.file(UInt64($0), "a", "b") },
            1: [F.file(10, "c", "d", sizeBytes: 15_000), F.file(11, "e", "f", sizeBytes: 15_000)],
        ])
        let p = picker()
        #expect(p.levelsNeedingCompaction(v).map(\.level) == [1, 0])
        let c = try #require(p.pick(version: v, compactPointers: noPointers, state: CompactionState()))
        #expect(c.level == 1 && c.inputs.map(\.number) == [10] && c.reason == .levelSize)
    }

    @Test func levelCompactionsWalkTheKeySpaceRoundRobin() throws {
        let v = try F.version([
            1: [F.file(10, "a", "b", sizeBytes: 5000), F.file(11, "c", "d", sizeBytes: 5000),
                F.file(12, "e", "f", sizeBytes: 5000)],
            // One L2 table under each L1 table (one under two would join
            // them in one compaction: levelCompactionsTakeEveryTable…).
            2: [F.file(20, "b", "b"), F.file(21, "d", "d"), F.file(22, "f", "g")],
        ])
        let p = picker()
        var pointers = noPointers
        var picked: [UInt64] = []
        for _ in 0..<4 {
            let c = try #require(p.pick(version: v, compactPointers: pointers, state: CompactionState()))
            picked.append(c.inputs[0].number)
            pointers[1] = c.nextCompactPointer
        }
        #expect(picked == [10, 11, 12, 10])
        // After table 10, table 11 comes with the L2 table it overlaps.
        pointers[1] = v.files[1][0].largest
        let second = try #require(p.pick(version: v, compactPointers: pointers, state: CompactionState()))
        #expect(second.inputs.map(\.number) == [11] && second.outputLevelInputs.map(\.number) == [21])
    }

    @Test func levelCompactionsTakeTheTableWithTheLeastNextLevelOverlapFirst() throws {
        // 10 sits over 8000 bytes of L2, 11 over nothing, 12 over 1000.
        let v = try F.version([
            1: [F.file(10, "a", "b", sizeBytes: 5000), F.file(11, "c", "d", sizeBytes: 5000),
                F.file(12, "e", "f", sizeBytes: 5000)],
            2: [F.file(20, "a", "b", sizeBytes: 8000), F.file(21, "e", "f", sizeBytes: 1000)],
        ])
        let p = picker()
        var state = CompactionState()
        var picked: [UInt64] = []
        for _ in 0..<3 {
            let c = try #require(p.pick(version: v, compactPointers: noPointers, state: state))
            picked.append(c.inputs[0].number)
            _ = state.register(c, keyspace: 0)
        }
        #expect(picked == [11, 12, 10])
        // The compact pointer no longer decides: past table 11 it would be 12.
        var pointers = noPointers
        pointers[1] = v.files[1][1].largest
        #expect(try #require(p.pick(version: v, compactPointers: pointers, state: CompactionState())).inputs[0].number == 11)
    }

    @Test func busyTablesAreSkippedAndOutputRangesNeverMeet() throws {
        let v = try F.version([
            1: [F.file(10, "a", "b", sizeBytes: 6000), F.file(11, "c", "d", sizeBytes: 6000),
                F.file(12, "e", "f", sizeBytes: 6000)],
            2: [F.file(20, "d", "e")],
        ])
        let p = picker()
        var state = CompactionState()
        let first = try #require(p.pick(version: v, compactPointers: noPointers, state: state))
        #expect(first.inputs.map(\.number) == [10])
        _ = state.register(first, keyspace: 0)
        // 11 overlaps L2 table 20 and 12 overlaps it too: 11 is taken next
        // with 12, which lies under the same L2 table (input expansion);
        // then every table is busy -> nothing.
        let second = try #require(p.pick(version: v, compactPointers: noPointers, state: state))
        #expect(second.inputs.map(\.number) == [11, 12] && second.outputLevelInputs.map(\.number) == [20])
        _ = state.register(second, keyspace: 0)
        #expect(p.pick(version: v, compactPointers: noPointers, state: state)?.level == nil)
    }

    @Test func levelCompactionsTakeEveryTableUnderTheSameNextLevelTables() throws {
        // 13 overlaps nothing below and goes first (a trivial move); 10, 11
        // and 12 all lie under L2 table 20: one compaction takes all three,
        // so table 20 is rewritten once rather than three times.
        let v = try F.version([
            1: [F.file(10, "a", "b", sizeBytes: 5000), F.file(11, "c", "d", sizeBytes: 5000),
                F.file(12, "e", "f", sizeBytes: 5000), F.file(13, "x", "y", sizeBytes: 5000)],
            2: [F.file(20, "a", "f", sizeBytes: 1000)],
        ])
        let p = picker()
        var state = CompactionState()
        let first = try #require(p.pick(version: v, compactPointers: noPointers, state: state))
        #expect(first.inputs.map(\.number) == [13] && first.outputLevelInputs.isEmpty)
        _ = state.register(first, keyspace: 0)
        let second = try #require(p.pick(version: v, compactPointers: noPointers, state: state))
        #expect(second.inputs.map(\.number) == [10, 11, 12] && second.outputLevelInputs.map(\.number) == [20])

        // Not past 25 target files of input: with 100-byte targets (2500
        // bytes) table 10 goes alone.
        let small = picker(targetFileBytes: 100)
        let alone = try #require(small.pick(version: v, compactPointers: noPointers, state: state))
        #expect(alone.inputs.map(\.number) == [10])

        // Not when the grown range would take a further L2 table: 11 reaches
        // under 21 as well.
        let wider = try F.version([
            1: [F.file(10, "a", "b", sizeBytes: 5000), F.file(11, "c", "d", sizeBytes: 5000),
                F.file(12, "e", "f", sizeBytes: 5000)],
            2: [F.file(20, "a", "c", sizeBytes: 1000), F.file(21, "d", "z", sizeBytes: 90_000)],
        ])
        let kept = try #require(p.pick(version: wider, compactPointers: noPointers, state: CompactionState()))
        #expect(kept.inputs.map(\.number) == [10] && kept.outputLevelInputs.map(\.number) == [20])
    }

    @Test func onlyOneLevel0CompactionRunsAtATime() throws {
        let v = try F.version([0: (1...8).map { F.file(UInt64($0), "k\($0)", "k\($0)") }])
        let p = picker()
        var state = CompactionState()
        let first = try #require(p.pick(version: v, compactPointers: noPointers, state: state))
        #expect(first.inputs.map(\.number) == [1])  // the oldest, alone (nothing overlaps it)
        _ = state.register(first, keyspace: 0)
        #expect(p.pick(version: v, compactPointers: noPointers, state: state)?.level == nil)
    }

    @Test func trivialMoveNeedsOneTableNoOverlapAndLittleGrandparentOverlap() throws {
        let p = picker(targetFileBytes: 100)  // grandparent limit 1000 bytes
        let lone = try F.version([1: [F.file(10, "a", "c", sizeBytes: 20_000)], 3: [F.file(30, "a", "z", sizeBytes: 500)]])
        let moved = try #require(p.pick(version: lone, compactPointers: noPointers, state: CompactionState()))
        #expect(moved.outputLevelInputs.isEmpty && moved.isTrivialMove(maxGrandparentOverlapBytes: p.maxGrandparentOverlapBytes))

        let heavyGrandparents = try F.version([1: [F.file(10, "a", "c", sizeBytes: 20_000)],
                                               3: [F.file(30, "a", "b", sizeBytes: 5000)]])
        // Level 3 is the grandparent of an L1 -> L2 compaction.
        let kept = try #require(p.pick(version: heavyGrandparents, compactPointers: noPointers, state: CompactionState()))
        #expect(kept.grandparents.map(\.number) == [30])
        #expect(!kept.isTrivialMove(maxGrandparentOverlapBytes: p.maxGrandparentOverlapBytes))

        let overlapping = try F.version([1: [F.file(10, "a", "c", sizeBytes: 20_000)], 2: [F.file(20, "b", "b")]])
        let merged = try #require(p.pick(version: overlapping, compactPointers: noPointers, state: CompactionState()))
        #expect(!merged.isTrivialMove(maxGrandparentOverlapBytes: p.maxGrandparentOverlapBytes))
    }
}

