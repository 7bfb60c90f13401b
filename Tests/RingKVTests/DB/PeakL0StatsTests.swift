import Testing
@testable import RingKV

/// `DBStats.peakL0Files`: the most L0 tables at once since open.
@Suite struct PeakL0StatsTests {
    @Test func peakL0CountsFlushesAndSurvivesCompaction() throws {
        let dir = try TempDir("ringkv-peak-l0")
        var options = openOptions()
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 200
        options.l0StopTrigger = 300
        do {
            let db = try DB(path: dir.path, options: options)
            #expect(db.stats().peakL0Files == 0)
            for i in 0..<5 {
                try db.put("k\(i)", "v\(i)")
                try db.flush()
                #expect(db.stats().peakL0Files == i + 1)
            }
            try db.compactRange()
            let s = db.stats()
            #expect(s.levels[0].files == 0)
            #expect(s.peakL0Files == 5, "the peak is kept after compaction emptied L0")
            // Flushing again stays below the peak.
            try db.put("k9", "v9")
            try db.flush()
            #expect(db.stats().peakL0Files == 5)
            #expect(db.stats().description.contains("peak L0 files 5"))
            try db.close()
        }
        // Since open: a reopened database starts from its L0 count at open.
        let db = try DB(path: dir.path, options: options)
        #expect(db.stats().peakL0Files == db.stats().levels[0].files)
        #expect(db.stats().peakL0Files == 1)
        try db.close()
    }

    @Test func peakL0IsSeenWhileBackgroundCompactionDrainsL0() throws {
        let dir = try TempDir("ringkv-peak-l0-load")
        var options = openOptions(memtableBytes: 64 << 10)
        options.l0CompactionTrigger = 2
        let db = try DB(path: dir.path, options: options)
        let value = [UInt8](repeating: 0x61, count: 500)
        var seenMax = 0
        for i in 0..<4_000 {
            try db.put(bytes("key\(i % 1_000)"), value)
            if i % 200 == 0 { seenMax = max(seenMax, db.stats().levels[0].files) }
        }
        let s = db.stats()
        #expect(s.flushes > 5)
        #expect(s.peakL0Files >= max(seenMax, 1))
        #expect(s.peakL0Files <= options.l0StopTrigger)
        try db.close()
    }
}
