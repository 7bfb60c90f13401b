#if canImport(Glibc)
import Glibc
#endif
import RingIO
import Synchronization

/// Appends group-committed records to one WAL file through its own ring.
///
/// Owns `bufferCount` registered, 4 KiB-aligned buffers. A group is copied
/// into the next buffer (round robin) and submitted as `write_fixed`,
/// linked (IOSQE_IO_LINK) to an `fsync(DATASYNC)` when any writer of the
/// group asked for `sync` — both SQEs go to the kernel in one
/// io_uring_enter. When the file must grow, a `fallocate` SQE is linked in
/// front of the write in the same submission.
///
/// Two groups may be in flight at once (pipelining): each uses its own
/// *slot* — a ring with its own registered buffers — and its own reserved
/// file range. `reserve`/`release` are called with the DB's `mu` held;
/// `writeGroup` runs without it, one thread per slot.
final class WALWriter: @unchecked Sendable {
    // @unchecked Sendable: slot state is touched only by the thread that
    // reserved the slot; offsets and the free list only under the DB's mu.
    let path: String
    let number: UInt64
    // Measured (kvbench load, 8 threads, sync): two slots split the queue into
    // smaller groups whose fdatasyncs the filesystem serialises anyway, so
    // one group in flight is faster here (20.8k vs 12.6k ops/s). The write
    // path relies on it: the leader fills the memtable while its group is
    // in flight, and the memtable takes one inserter at a time.
    static let slotCount = 1
    private let file: File
    /// One ring per slot; slot i owns registered buffers
    /// [i * buffersPerSlot, (i + 1) * buffersPerSlot) of `buffers`.
    private let rings: [Ring]
    private let buffers: AlignedBuffer
    private let bufferSizeBytes: Int
    private let buffersPerSlot: Int
    /// Next buffer to use within each slot (touched by the slot's owner).
    private var nextBuffer: [Int]
    /// Slots not in use (guarded by the DB's mu).
    private var freeSlots: [Int]
    /// Where the next group goes (guarded by the DB's mu).
    private(set) var offsetBytes: UInt64 = 0
    /// The file is allocated (and zero-filled) up to here (guarded by mu).
    private var allocatedBytes: UInt64 = 0
    private let preallocateStepBytes: UInt64

    /// A file range and slot handed to one group.
    struct Reservation {
        var slot: Int
        var offset: UInt64
        var length: Int
        /// When non-zero, this group grows the file first.
        var growFrom: UInt64
        var growBy: UInt64
        /// When non-zero, this group also writes zeros here, ahead of the
        /// log's end (see `zeroFillStepBytes`).
        var zeroFrom: UInt64 = 0
        var zeroBy: Int = 0
        /// When set, the group starts with a sync-point record claiming
        /// this offset durable (counted in `length`; see `syncedBytes`).
        var syncPoint: UInt64?
    }

    // MARK: Sync points (docs/FORMAT.md §Sync points)
    /// End of the last group whose fdatasync completed: every byte before
    /// it is durable. Written by the leader after its sync, read in
    /// `reserve`.
    private let syncedBytes = Atomic<UInt64>(0)
    /// The last offset a sync-point record claimed (guarded by the DB's mu).
    private var claimedSyncedBytes: UInt64 = 0

    /// The log is kept zero-*written* (not just fallocated) up to 1 MiB
    /// ahead of its end. fallocate leaves unwritten extents, and every
    /// fdatasync after writing into one must commit an extent conversion
    /// through the journal; overwriting blocks that were already written
    /// needs only the data flush. Measured on this VM's ext4: 8 KiB
    /// write + fdatasync 266-323 µs into fallocated space, 129-188 µs into
    /// zero-written space.
    static let zeroFillStepBytes = 1 << 20
    /// Zeros are written up to here (guarded by the DB's mu).
    private var zeroedBytes: UInt64 = 0
    private let zeros: AlignedBuffer

    var hasFreeSlot: Bool { !freeSlots.isEmpty }

    /// Set when the last group was written without fdatasync. Written by
    /// the group's leader in `writeGroup`, read with the DB's mu held and
    /// no group in flight (the leader re-took mu after writing).
    private(set) var hasUnsyncedWrites = false

    /// Takes a slot and the next `length` bytes of the log. Call with the
    /// DB's mu held and `hasFreeSlot` true.
    func reserve(length: Int) -> Reservation {
        precondition(!freeSlots.isEmpty, "WAL reserve without a free slot")
        let slot = freeSlots.removeLast()
        let offset = offsetBytes
        // A group written after a sync completed first says so: recovery
        // then knows damage before that offset is not a torn tail.
        var length = length
        let synced = syncedBytes.load(ordering: .acquiring)
        let syncPoint: UInt64? = synced > claimedSyncedBytes ? synced : nil
        if let syncPoint {
            claimedSyncedBytes = syncPoint
            length += LogRecord.syncPointRecordSize
        }
        offsetBytes += UInt64(length)
        var growFrom: UInt64 = 0, growBy: UInt64 = 0
        if offsetBytes > allocatedBytes {
            growFrom = allocatedBytes
            growBy = max(preallocateStepBytes, offsetBytes - allocatedBytes)
            allocatedBytes += growBy
        }
        var reservation = Reservation(slot: slot, offset: offset, length: length, growFrom: growFrom, growBy: growBy)
        reservation.syncPoint = syncPoint
        let step = UInt64(WALWriter.zeroFillStepBytes)
        if zeroedBytes < offsetBytes + step / 4 {
            reservation.zeroFrom = max(zeroedBytes, offsetBytes)
            reservation.zeroBy = Int(step)
            zeroedBytes = reservation.zeroFrom + step
        }
        return reservation
    }

    /// Returns a slot after its group completed. Call with the DB's mu held.
    func release(_ reservation: Reservation) { freeSlots.append(reservation.slot) }

    static func framedLength(_ payloads: [[UInt8]]) -> Int {
        payloads.reduce(0) { $0 + LogRecord.headerSize + $1.count }
    }

    /// Test-only fault injection and crash simulation (nil in production).
    private let faults: FaultPlan?

    /// Opens (creates) the file through `backend`, so a test backend can
    /// fail the open or track the file for crash simulation.
    init(path: String, number: UInt64, bufferCount: Int, bufferSizeBytes: Int,
         preallocateStepBytes: UInt64, backend: any IOBackend, faults: FaultPlan? = nil) throws {
        self.faults = faults
        precondition(bufferCount >= 1 && bufferSizeBytes >= 4096, "WAL buffers too small")
        self.path = path
        self.number = number
        buffersPerSlot = max(bufferCount / WALWriter.slotCount, 1)
        self.bufferSizeBytes = AlignedBuffer.roundUp(bufferSizeBytes)
        self.preallocateStepBytes = max(preallocateStepBytes, 1 << 20)
        nextBuffer = Array(repeating: 0, count: WALWriter.slotCount)
        zeros = AlignedBuffer(capacity: WALWriter.zeroFillStepBytes)
        freeSlots = Array((0..<WALWriter.slotCount).reversed())
        file = try ioCall(path) { () throws(IOError) in
            try backend.openFile(path, [.readWrite, .create, .truncate], direct: .off)
        }
        buffers = AlignedBuffer(capacity: WALWriter.slotCount * buffersPerSlot * self.bufferSizeBytes)
        let base = buffers.pointer
        let size = self.bufferSizeBytes
        let perSlot = buffersPerSlot
        var rings: [Ring] = []
        for slot in 0..<WALWriter.slotCount {
            let ring = try ioCall(path) { () throws(IOError) in try Ring(entries: 8) }
            let regions = (0..<perSlot).map {
                UnsafeMutableRawBufferPointer(start: base + (slot * perSlot + $0) * size, count: size)
            }
            try ioCall(path) { () throws(IOError) in try ring.registerBuffers(regions) }
            rings.append(ring)
        }
        self.rings = rings
    }

    deinit { try? file.close() }

    func close() throws {
        try ioCall(path) { () throws(IOError) in try file.close() }
    }

    private enum Tag: UInt64 { case fallocate = 1, write, fsync, zeroFill }

    /// Writes `payloads` as consecutive records; with `sync`, returns only
    /// after fdatasync completed. Throws `DBError.io` on any failure — the
    /// caller must then stop using this log (no fsync retry).
    ///
    /// `duringIO` runs once the group is submitted, while the kernel writes
    /// and syncs it (the leader inserts the group into the memtable there;
    /// it becomes visible only after this returns). It does not run when
    /// the submission itself fails.
    func writeGroup(_ payloads: [[UInt8]], sync: Bool, reservation: Reservation,
                    duringIO: () -> Void = {}) throws {
        if let faults {
            // Injected failures take the place of the kernel's answer.
            if let code = faults.check(.write, path: path) {
                throw DBError.io(IOError(operation: "io_uring write_fixed", errno: code, path: path,
                                         offset: reservation.offset, detail: "injected fault"))
            }
            if reservation.growBy > 0, let code = faults.check(.fallocate, path: path) {
                throw DBError.io(IOError(operation: "io_uring fallocate", errno: code, path: path,
                                         offset: reservation.growFrom, detail: "injected fault"))
            }
            if sync, let code = faults.check(.fsync, path: path) {
                try submitGroup(payloads, sync: false, reservation: reservation, duringIO: duringIO)
                faults.durability.noteLogWritten(fd: file.fd,
                                                 endOffset: reservation.offset + UInt64(reservation.length))
                throw DBError.io(IOError(operation: "io_uring fdatasync", errno: code, path: path,
                                         detail: "injected fault"))
            }
        }
        try submitGroup(payloads, sync: sync, reservation: reservation, duringIO: duringIO)
        // A synced group's fdatasync covers every earlier group too.
        hasUnsyncedWrites = !sync
        if sync { noteSynced(through: reservation.offset + UInt64(reservation.length)) }
        if let faults {
            // Crash simulation: what a power loss would keep of this log.
            let end = reservation.offset + UInt64(reservation.length)
            faults.durability.noteLogWritten(fd: file.fd, endOffset: end)
            if sync { faults.durability.noteLogSynced(fd: file.fd, endOffset: end) }
        }
    }

    private func submitGroup(_ payloads: [[UInt8]], sync: Bool, reservation: Reservation,
                             duringIO: () -> Void) throws {
        let total = reservation.length
        let syncPointBytes = reservation.syncPoint == nil ? 0 : LogRecord.syncPointRecordSize
        precondition(total == WALWriter.framedLength(payloads) + syncPointBytes, "WAL reservation does not match the group")
        if total == 0 {
            duringIO()
            return
        }
        let ring = rings[reservation.slot]
        let growBy = reservation.growBy
        // A group larger than one registered buffer gets a temporary buffer
        // and a plain (non-fixed) write.
        let oversized = total > bufferSizeBytes
        // The index is the slot ring's own registration index; the memory
        // is that buffer's place in the shared allocation.
        let bufferIndex = nextBuffer[reservation.slot]
        let destination = oversized
            ? UnsafeMutableRawPointer.allocate(byteCount: total, alignment: AlignedBuffer.alignment)
            : buffers.pointer + (reservation.slot * buffersPerSlot + bufferIndex) * bufferSizeBytes
        defer { if oversized { destination.deallocate() } }
        var at = 0
        if let syncPoint = reservation.syncPoint {
            LogRecord.encodeSyncPoint(syncPoint, into: destination)
            at = syncPointBytes
        }
        for payload in payloads {
            payload.withUnsafeBytes { LogRecord.encode($0, into: destination + at) }
            at += LogRecord.headerSize + payload.count
        }
        nextBuffer[reservation.slot] = (nextBuffer[reservation.slot] + 1) % buffersPerSlot

        let writeOffset = reservation.offset
        var expected = 0
        if growBy > 0 {
            precondition(ring.prepFallocate(fd: file.fd, offset: reservation.growFrom, length: growBy,
                                            userData: Tag.fallocate.rawValue, flags: .link), "WAL ring full")
            expected += 1
        }
        if reservation.zeroBy > 0 {
            // Not linked: it lands beyond this group's bytes.
            precondition(ring.prepWrite(fd: file.fd, buffer: zeros.pointer, length: reservation.zeroBy,
                                        offset: reservation.zeroFrom, userData: Tag.zeroFill.rawValue),
                         "WAL ring full")
            expected += 1
        }
        let writeFlags: SQEFlags = sync ? .link : []
        let prepared = oversized
            ? ring.prepWrite(fd: file.fd, buffer: destination, length: total, offset: writeOffset,
                             userData: Tag.write.rawValue, flags: writeFlags)
            : ring.prepWriteFixed(fd: file.fd, buffer: destination, length: total, offset: writeOffset,
                                  bufferIndex: bufferIndex, userData: Tag.write.rawValue, flags: writeFlags)
        precondition(prepared, "WAL ring full")
        expected += 1
        if sync {
            precondition(ring.prepFsync(fd: file.fd, dataOnly: true, userData: Tag.fsync.rawValue), "WAL ring full")
            expected += 1
        }
        var written = 0
        var synced = !sync
        var failure: IOError?
        do {
            try ring.submit()
            duringIO()
            var seen = 0
            while seen < expected {
                seen += ring.harvest { c in
                    switch Tag(rawValue: c.userData) {
                    case .zeroFill:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring write (zero fill)", errno: -c.result,
                                                         path: path, offset: reservation.zeroFrom)
                        }
                    case .fallocate:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring fallocate", errno: -c.result,
                                                         path: path, offset: reservation.growFrom)
                        }
                    case .write:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring write_fixed", errno: -c.result,
                                                         path: path, offset: writeOffset)
                        } else {
                            written = Int(c.result)
                            // Test-only: report it short; the rest is
                            // rewritten and synced on its own below.
                            if written > 1, let faults, faults.triggers(.shortWrite, path: path) { written /= 2 }
                        }
                    case .fsync:
                        if c.result == 0 { synced = true } else if c.result != -ECANCELED {
                            failure = failure ?? IOError(operation: "io_uring fdatasync", errno: -c.result, path: path)
                        }
                    case nil:
                        break
                    }
                }
                if seen < expected { try ring.waitForCompletion() }
            }
        } catch {
            failure = error.at(path: path)
        }
        if let failure { throw DBError.io(failure) }
        // A short write broke the link (the fsync came back -ECANCELED):
        // finish the remainder and sync on their own.
        if written < total {
            try finishShortWrite(ring, from: destination + written, count: total - written,
                                 offset: writeOffset + UInt64(written))
            synced = !sync
        }
        if !synced { try syncNow(ring) }
    }

    /// fdatasync of everything written so far, when the last group was not
    /// synced. Call with no group in flight (the caller leads the write
    /// queue). Throws `DBError.io`; the log must then not be used again.
    func syncUnsyncedWrites() throws {
        guard hasUnsyncedWrites else { return }
        if let code = faults?.check(.fsync, path: path) {
            throw DBError.io(IOError(operation: "io_uring fdatasync", errno: code, path: path, detail: "injected fault"))
        }
        try syncNow(rings[0])
        hasUnsyncedWrites = false
        noteSynced(through: offsetBytes)
        faults?.durability.noteLogSynced(fd: file.fd, endOffset: offsetBytes)
    }

    /// Every byte before `offset` is durable (an fdatasync completed).
    private func noteSynced(through offset: UInt64) {
        var current = syncedBytes.load(ordering: .relaxed)
        while current < offset {
            let (exchanged, original) = syncedBytes.compareExchange(
                expected: current, desired: offset, ordering: .releasing)
            if exchanged { return }
            current = original
        }
    }

    private func finishShortWrite(_ ring: Ring, from pointer: UnsafeMutableRawPointer, count: Int, offset: UInt64) throws {
        var done = 0
        while done < count {
            precondition(ring.prepWrite(fd: file.fd, buffer: pointer + done, length: count - done,
                                        offset: offset + UInt64(done), userData: Tag.write.rawValue), "WAL ring full")
            let result = try singleResult(ring)
            if result <= 0 {
                throw DBError.io(IOError(operation: "io_uring write", errno: result < 0 ? -result : EIO,
                                         path: path, offset: offset + UInt64(done)))
            }
            done += Int(result)
        }
    }

    private func syncNow(_ ring: Ring) throws {
        precondition(ring.prepFsync(fd: file.fd, dataOnly: true, userData: Tag.fsync.rawValue), "WAL ring full")
        let result = try singleResult(ring)
        if result < 0 { throw DBError.io(IOError(operation: "io_uring fdatasync", errno: -result, path: path)) }
    }

    private func singleResult(_ ring: Ring) throws -> Int32 {
        try ioCall(path) { () throws(IOError) in
            try ring.submitAndWait(1)
            var result: Int32?
            while result == nil {
                ring.harvest { result = $0.result }
                if result == nil { try ring.waitForCompletion() }
            }
            return result ?? 0
        }
    }
}
