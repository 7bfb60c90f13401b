import Foundation
import Testing
@testable import RingKV

/// A large memtable's node arena in 2 MiB huge-page blocks
/// (HugePageMemory.swift): aligned, marked for transparent huge pages,
/// accounted 2 MiB at a time, and a memtable on it reads what it holds.
@Suite struct HugePageArenaTests {
    @Test func blocksAreAlignedToTwoMiBAndAccountedWhole() {
        let arena = Arena(blockSizeBytes: HugePageMemory.blockBytes, hugePages: true)
        var blockStarts = Set<UInt>()
        var written: [(UnsafeMutableRawPointer, UInt8, Int)] = []
        for i in 0..<40_000 {
            let size = 24 + (i * 37) % 200
            let p = arena.allocate(byteCount: size)
            blockStarts.insert(UInt(bitPattern: p) & ~UInt(HugePageMemory.blockBytes - 1))
            let pattern = UInt8(truncatingIfNeeded: i)
            p.initializeMemory(as: UInt8.self, repeating: pattern, count: size)
            written.append((p, pattern, size))
        }
        // ~4.8 MB of small allocations: three blocks, each a whole aligned
        // 2 MiB (an allocation never leaves the aligned block it starts in).
        #expect(arena.memoryUsageBytes == blockStarts.count * HugePageMemory.blockBytes)
        #expect(blockStarts.count == 3)
        for (p, _, size) in written {
            let start = UInt(bitPattern: p) & ~UInt(HugePageMemory.blockBytes - 1)
            #expect(UInt(bitPattern: p) + UInt(size) <= start + UInt(HugePageMemory.blockBytes))
        }
        #expect(written.allSatisfy { p, pattern, size in
            UnsafeRawBufferPointer(start: p, count: size).allSatisfy { $0 == pattern }
        })
    }

    @Test func blocksAreMarkedForTransparentHugePages() throws {
        // Only where the kernel offers THP at all ("never" ignores madvise).
        let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard mode.contains("[always]") || mode.contains("[madvise]") else { return }
        guard let block = HugePageMemory.allocateBlock() else {
            Issue.record("no 2 MiB mapping")
            return
        }
        defer { HugePageMemory.freeBlock(block) }
        #expect(UInt(bitPattern: block) % UInt(HugePageMemory.blockBytes) == 0)
        // smaps: the mapping holding the block says THPeligible 1.
        #expect(thpEligible(of: UInt(bitPattern: block)) == "1")
    }

    /// The THPeligible field of the mapping of this process holding
    /// `address` (/proc/self/smaps), or nil.
    private func thpEligible(of address: UInt) -> String? {
        guard let file = fopen("/proc/self/smaps", "r") else { return nil }
        defer { fclose(file) }
        var inMapping = false
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if !first.hasSuffix(":") {
                let bounds = first.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inMapping = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inMapping && first == "THPeligible:" {
                return fields.last.map(String.init)
            }
        }
        return nil
    }

    @Test func aMemtableOnHugePageNodesReadsBack() {
        #expect(!MemTable.usesHugePageNodes(forWriteBufferSizeBytes: 8 << 20))
        #expect(MemTable.usesHugePageNodes(forWriteBufferSizeBytes: 16 << 20))
        let memtable = MemTable(filterBytes: 1 << 20, hugePageNodes: true)
        let value = [UInt8](repeating: 7, count: 300)
        for i in 0..<20_000 {
            let key = Array("key\(i * 7919 % 20_000)".utf8)
            key.withUnsafeBytes { k in
                value.withUnsafeBytes { v in memtable.add(sequence: UInt64(i + 1), type: .value, key: k, value: v) }
            }
        }
        for i in stride(from: 0, to: 20_000, by: 97) {
            let key = Array("key\(i)".utf8)
            let found = key.withUnsafeBytes { memtable.get($0, snapshot: 1 << 40) }
            #expect(found == .found(value))
        }
    }
}
