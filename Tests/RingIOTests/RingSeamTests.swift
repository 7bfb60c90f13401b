#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport
@testable import RingIO
import RingIOFaults

/// The ring seam (RingFaults.swift): io_uring_enter answering EAGAIN/EBUSY,
/// taking part of a submission, or failing with I/O in flight, and
/// io_uring_setup refused — and `Ring` staying correct through each.
@Suite("Ring seam: refused, partial and failed submissions")
struct RingSeamTests {
    /// Harvests until `count` completions arrived (waiting in between).
    private func collect(_ ring: Ring, count: Int) throws -> [Completion] {
        var out: [Completion] = []
        while out.count < count {
            ring.harvest { out.append($0) }
            if out.count < count { try ring.waitForCompletion() }
        }
        return out
    }

    @Test(arguments: [EAGAIN, EBUSY])
    func refusedEntersAreRetriedUntilEverySQEIsSubmitted(errno code: Int32) throws {
        let plan = FaultPlan((1...3).map { FaultPlan.Rule(kind: .ringBusy, nth: $0, errno: code) })
        let ring = try Ring(entries: 8, faults: plan)
        for i in 0..<4 { #expect(ring.prepNop(userData: UInt64(i))) }
        let submitted = Locked(0)
        let finished = completes(within: 10) {
            submitted.withLock { $0 = (try? ring.submit()) ?? -1 }
        }
        #expect(finished && submitted.withLock { $0 } == 4, "refused enters came back as fewer submitted")
        #expect(plan.injectedCount == 3)
        guard finished && submitted.withLock({ $0 }) == 4 else { return _ = Unmanaged.passRetained(ring) }
        #expect(Set(try collect(ring, count: 4).map(\.userData)) == [0, 1, 2, 3])
        #expect(ring.operationsInFlight == 0)
    }

    @Test func partialSubmissionIsCompletedAndReportedAsSplit() throws {
        let plan = FaultPlan([FaultPlan.Rule(partialSubmitNth: 1)])
        let ring = try Ring(entries: 8, faults: plan)
        for i in 0..<4 { #expect(ring.prepNop(userData: UInt64(i))) }
        #expect(try ring.submit() == 4)
        #expect(ring.lastSubmitWasSplit, "a link chain may have been cut: the caller must know")
        #expect(ring.sqReady == 0)
        #expect(try collect(ring, count: 4).count == 4)
        for i in 0..<2 { #expect(ring.prepNop(userData: UInt64(i))) }
        try ring.submit()
        #expect(!ring.lastSubmitWasSplit)
        _ = try collect(ring, count: 2)
    }

    /// io_uring_wait_cqe submits nothing: a wait must not wait for an SQE
    /// nobody handed to the kernel (the WAL leader hang of issue #15).
    @Test func waitSubmitsWhatIsStillPrepared() throws {
        let ring = try Ring(entries: 8)
        #expect(ring.prepNop(userData: 7))
        let completed = completes(within: 10) {
            do {
                try ring.waitForCompletion()
            } catch {
                Issue.record("wait failed: \(error)")
            }
        }
        #expect(completed, "waitForCompletion hung on an SQE it never submitted")
        guard completed else { return _ = Unmanaged.passRetained(ring) }
        #expect(try collect(ring, count: 1) == [Completion(userData: 7, result: 0)])
    }

    /// Each submission of a batch of reads is split in two: every read
    /// still completes with the right bytes.
    @Test func batchReadsCompleteUnderStickyPartialSubmissions() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/data"
            try writePatternFile(path, sizeBytes: 64 << 10)
            let file = try File.open(path, .read)
            defer { try? file.close() }
            let plan = FaultPlan([FaultPlan.Rule(partialSubmitNth: 1, sticky: true)])
            let backend = try URingBackend(ringEntries: 8, faults: plan)
            let buffer = AlignedBuffer(capacity: 64 << 10)
            var requests = (0..<16).map {
                ReadRequest(fd: file.fd, offset: UInt64($0 * 4096), length: 4096, buffer: buffer.pointer + $0 * 4096)
            }
            try backend.readBatch(&requests)
            for r in requests {
                #expect(r.error == nil && r.bytesRead == 4096)
            }
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(buffer.bytes), fileOffset: 0) == nil)
            #expect(plan.injectedCount > 0)
        }
    }

    @Test func failureWithIOInFlightFailsTheRingAndLogsTheMemory() throws {
        try withTemporaryDirectory { dir in
            let file = try File.open(dir + "/out", [.readWrite, .create])
            defer { try? file.close() }
            let plan = FaultPlan([.init(kind: .ringFailure, nth: 1, errno: ENXIO)])
            let ring = try Ring(entries: 8, faults: plan)
            let buffer = AlignedBuffer(capacity: 8192)
            #expect(ring.prepWrite(fd: file.fd, buffer: buffer.pointer, length: 8192, offset: 0, userData: 1))
            #expect(throws: IOError.self) { try ring.submit() }
            #expect(ring.failedWith?.errno == ENXIO)
            // The kernel took the write: it is in flight as far as the
            // caller can know, and its memory was logged.
            #expect(ring.operationsInFlight == 1)
            #expect(plan.memoryInFlightAtFailures.ranges
                == [InFlightMemoryLog.Range(address: UInt(bitPattern: buffer.pointer), count: 8192)])
            // A failed ring refuses every later use.
            #expect(ring.prepNop(userData: 2))
            #expect { try ring.submit() } throws: { ($0 as? IOError)?.errno == ENXIO }
            #expect { try ring.waitForCompletion() } throws: { ($0 as? IOError)?.errno == ENXIO }
            plan.touchMemoryInFlightAtFailures()  // still allocated here
        }
    }

    @Test func quarantinedBufferStaysReadable() {
        let before = Quarantine.keptCount
        let buffer = AlignedBuffer(capacity: 4096)
        let pointer = buffer.pointer
        pointer.storeBytes(of: 0xAB, as: UInt8.self)
        buffer.quarantine()
        #expect(Quarantine.keptCount >= before + 1)
        #expect(pointer.load(as: UInt8.self) == 0xAB)
    }

    @Test func refusedSetupFallsBackToPlainSyscallsWithANotice() throws {
        let plan = FaultPlan([.init(kind: .ringSetup, nth: 1, errno: EPERM, sticky: true)])
        #expect { try Ring(entries: 8, faults: plan) } throws: { ($0 as? IOError)?.errno == EPERM }
        var notices: [String] = []
        let backend = IOBackends.makeDefault(notice: { notices.append($0) }, faults: plan)
        #expect(backend.name == "posix")
        #expect(!backend.usesIOUring)
        #expect(notices.count == 1)
        #expect(notices.first?.contains("Operation not permitted") == true)
        #expect(notices.first?.contains("io_uring_setup") == true)
        // The fallback does real I/O.
        try withTemporaryDirectory { dir in
            let file = try File.open(dir + "/f", [.readWrite, .create])
            defer { try? file.close() }
            let data: [UInt8] = Array(0..<200)
            try data.withUnsafeBytes { try backend.write(fd: file.fd, from: $0, offset: 0) }
            var back = [UInt8](repeating: 0, count: 200)
            let n = try back.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: 0) }
            #expect(n == 200 && back == data)
        }
    }
}
