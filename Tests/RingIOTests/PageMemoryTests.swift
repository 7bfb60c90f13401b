import Glibc
import RingIO
import XCTest

/// `PageMemory`: large buffers go back to the kernel when freed, whatever
/// glibc's mmap threshold has become. XCTest, not Swift Testing: XCTest
/// cases run one at a time, so the process's RSS measured here moves only
/// with this test's own allocations.
final class PageMemoryTests: XCTestCase {
    func testFreedLargeBuffersLeaveTheProcess() throws {
        // Free one 4 MiB malloc block first: glibc then serves 1 MiB
        // requests from its arenas, where freed memory stays resident.
        let raised = UnsafeMutableRawPointer.allocate(byteCount: 4 << 20, alignment: 16)
        memset(raised, 1, 4 << 20)
        raised.deallocate()

        let count = 96
        let before = try Self.anonymousResidentBytes()
        var buffers: [SharedAlignedBuffer] = []
        // A small long-lived allocation after each buffer, as a compaction
        // thread makes them (index blocks, table readers): with malloc, the
        // freed buffers become holes that glibc cannot give back.
        var pins: [UnsafeMutableRawPointer] = []
        defer { for pin in pins { pin.deallocate() } }
        for _ in 0..<count {
            let buffer = SharedAlignedBuffer(capacity: 1 << 20)
            memset(buffer.pointer, 0xA5, buffer.capacity)
            buffers.append(buffer)
            let pin = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
            memset(pin, 1, 256)
            pins.append(pin)
        }
        let held = try Self.anonymousResidentBytes()
        XCTAssertGreaterThan(held - before, count << 19, "the buffers are resident while held")
        buffers.removeAll()
        let after = try Self.anonymousResidentBytes()
        print("PageMemoryTests: anonymous RSS \(before >> 20) MiB before, \(held >> 20) held, \(after >> 20) after")
        // At most `reusedLimitBytes` of freed mappings are kept for reuse.
        XCTAssertLessThan(after - before, (8 << 20) + PageMemory.reusedLimitBytes,
                          "freed: \(before >> 20) MiB before, \(held >> 20) held, \(after >> 20) after")
    }

    func testMappedMemoryIsZeroedAndSmallMemoryWorks() {
        for byteCount in [64, PageMemory.mapThresholdBytes - 4096, PageMemory.mapThresholdBytes, 3 << 20] {
            let pointer = PageMemory.allocate(byteCount: byteCount, alignment: 4096, zeroed: true)
            XCTAssertEqual(Int(bitPattern: pointer) % 4096, 0)
            let bytes = UnsafeRawBufferPointer(start: pointer, count: byteCount)
            XCTAssertTrue(bytes.allSatisfy { $0 == 0 }, "\(byteCount) bytes zeroed")
            memset(pointer, 0xFF, byteCount)
            PageMemory.free(pointer, byteCount: byteCount)
        }
    }

    /// RssAnon of /proc/self/status, in bytes.
    static func anonymousResidentBytes() throws -> Int {
        guard let f = fopen("/proc/self/status", "r") else { throw XCTSkip("no /proc/self/status") }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("RssAnon:") {
                let kib = text.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
                if let kib { return kib << 10 }
            }
        }
        throw XCTSkip("no RssAnon line")
    }
}

