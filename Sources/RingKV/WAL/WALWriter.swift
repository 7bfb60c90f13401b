#if canImport(Glibc)
import Glibc
#endif
import RingIO
import Synchronization

/// Appends group-committed records to one WAL file (docs/ARCHITECTURE.md
/// §Write path). The leader of a group encodes its records straight into
/// one of this log's 4 KiB-aligned buffers (`writeGroup`'s `encode`), then:
///
/// - **unsynced group** (`sync: false`): one `pwrite(2)`. The bytes are in
///   the kernel when it returns, so the acknowledged write survives a crash
///   of the process. A plain syscall, because io_uring has no non-blocking
///   buffered write on ext4: it punts each one to an io-wq worker (measured
///   with `iobench --write`: docs/ARCHITECTURE.md §Write path).
/// - **synced group** (`sync: true`), io_uring available: `write_fixed` on
///   the registered buffer linked (IOSQE_IO_LINK) to `fsync(DATASYNC)`, both
///   in one io_uring_enter; the leader fills the memtable meanwhile.
/// - **synced group**, io_uring refused (seccomp, `io_uring_disabled`) or
///   `Options.forcePosixIO`: `pwrite` then `fdatasync`.
///
/// The file grows in its own call before a group needs the space: an
/// fallocate that fails (ENOSPC) fails the group before any of its bytes
/// reach the file, so a write reported failed is never durable. Steps are
/// `preallocateStepBytes` (by default 1.1 × the memtable size, as RocksDB
/// sizes its WAL preallocation).
///
/// One group is written at a time (the write path's one WAL slot);
/// `reserve` runs with the DB's `mu` held, `writeGroup` without it, by the
/// leader holding the slot.
final class WALWriter: @unchecked Sendable {
    // @unchecked Sendable: offsets and the slot flag are guarded by the DB's
    // mu; buffers, ring and counters are touched only by the leader that
    // holds the slot (one at a time, handed over under mu).
    let path: String
    let number: UInt64
    private let file: File
    /// Synced groups go through this ring; nil: plain syscalls throughout.
    private let ring: Ring?
    /// Whether the ring registered `buffers` (write_fixed); false when the
    /// registration was refused (e.g. a low RLIMIT_MEMLOCK in a container):
    /// then plain writes on the ring.
    private let fixedBuffers: Bool
    /// pwrite/fdatasync/fallocate: unsynced groups, growth, and every
    /// group when there is no ring.
    private let posix: PosixBackend
    /// `bufferCount` buffers of `bufferSizeBytes`, back to back; owned here
    /// (optional only so a failed ring's leak can take it out).
    private var buffers: AlignedBuffer?
    private let bufferBase: UnsafeMutableRawPointer
    private let bufferSizeBytes: Int
    private let bufferCount: Int
    /// Next buffer to fill (touched by the slot's holder).
    private var nextBuffer = 0
    /// A group holds the slot (guarded by the DB's mu).
    private var slotTaken = false
    /// Where the next group goes (guarded by the DB's mu).
    private(set) var offsetBytes: UInt64 = 0
    /// The file is allocated up to here (guarded by the DB's mu).
    private var allocatedBytes: UInt64 = 0
    let preallocateStepBytes: UInt64
    /// Zeros are written up to here (guarded by the DB's mu).
    private var zeroedBytes: UInt64 = 0
    private var zeros: AlignedBuffer?
    private var zerosBase: UnsafeMutableRawPointer?
    /// Set when the ring failed with I/O in flight: the memory those
    /// operations use is leaked in deinit instead of freed.
    private var quarantined = false
    /// Test-only fault injection and crash simulation (nil in production).
    private let faults: FaultPlan?

    /// A file range handed to one group.
    struct Reservation {
        var offset: UInt64
        var length: Int
        /// When non-zero, the file is grown from `growFrom` by this much
        /// before the group is written.
        var growFrom: UInt64 = 0
        var growBy: UInt64 = 0
        /// When non-zero, this (synced) group also writes zeros here, ahead
        /// of the log's end (see `zeroFillStepBytes`).
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

    /// Ahead of synced groups the log is kept zero-*written* (not just
    /// fallocated) up to 1 MiB past its end. fallocate leaves unwritten
    /// extents, and every fdatasync after writing into one must commit an
    /// extent conversion through the journal; overwriting blocks that were
    /// already written needs only the data flush. Measured on this VM's
    /// ext4: 8 KiB write + fdatasync 266-323 µs into fallocated space,
    /// 129-188 µs into zero-written space. Unsynced groups skip it: the
    /// zeros would double the bytes they copy into the page cache, for an
    /// fdatasync that does not come.
    static let zeroFillStepBytes = 1 << 20

    /// Whether `reserve` may take the slot.
    var hasFreeSlot: Bool { !slotTaken }

    /// Set when the last group was written without fdatasync. Written by
    /// the group's leader in `writeGroup`, read with the DB's mu held and
    /// no group in flight.
    private(set) var hasUnsyncedWrites = false

    /// `.ioUring` (synced groups through the ring) or `.posix`.
    var ioPath: IOPath { ring == nil ? .posix : .ioUring }

    /// Opens (creates) the file through `backend`, so a test backend can
    /// fail the open or track the file for crash simulation. Takes a ring of
    /// its own when `useRing` and io_uring allows it; when io_uring_setup is
    /// refused, `notice` says so and the log uses plain syscalls.
    init(path: String, number: UInt64, bufferCount: Int, bufferSizeBytes: Int, preallocateStepBytes: UInt64,
         backend: any IOBackend, useRing: Bool, faults: FaultPlan? = nil,
         notice: (String) -> Void = { IOBackends.noticeOnce($0) }) throws(DBError) {
        precondition(bufferCount >= 1 && bufferSizeBytes >= 4096, "WAL buffers too small")
        self.path = path
        self.number = number
        self.faults = faults
        self.bufferCount = bufferCount
        self.bufferSizeBytes = AlignedBuffer.roundUp(bufferSizeBytes)
        self.preallocateStepBytes = UInt64(max(AlignedBuffer.roundUp(Int(clamping: preallocateStepBytes)), 4096))
        posix = PosixBackend(shortTransfers: faults?.shortTransfers)
        file = try ioCall(path) { () throws(IOError) in
            try backend.openFile(path, [.readWrite, .create, .truncate], direct: .off)
        }
        let owned = AlignedBuffer(capacity: bufferCount * self.bufferSizeBytes)
        bufferBase = owned.pointer
        buffers = .some(owned)
        var ring: Ring?
        var fixed = false
        if useRing {
            do {
                let r = try Ring(entries: 8, faults: faults, faultLabel: path)
                let size = self.bufferSizeBytes
                let base = bufferBase
                let regions = (0..<bufferCount).map {
                    UnsafeMutableRawBufferPointer(start: base + $0 * size, count: size)
                }
                fixed = (try? r.registerBuffers(regions)) != nil
                ring = r
            } catch {
                notice(IOBackends.fallbackNotice(error))
            }
        }
        self.ring = ring
        fixedBuffers = fixed
    }

    deinit {
        try? file.close()
        if quarantined {
            // The kernel may still read these (see `failRing`).
            buffers.take()?.quarantine()
            zeros.take()?.quarantine()
            if let ring { Quarantine.keep(ring) }
        }
    }

    func close() throws(DBError) {
        try ioCall(path) { () throws(IOError) in try file.close() }
    }

    // MARK: - Reserving (DB mu held)

    /// Takes the slot and the next `length` bytes of the log (plus a
    /// sync-point record's when one is due: `reservation.length` may exceed
    /// `length`). Call with the DB's mu held and `hasFreeSlot` true.
    func reserve(length: Int, sync: Bool) -> Reservation {
        precondition(!slotTaken, "WAL reserve without a free slot")
        slotTaken = true
        // A group written after a sync completed first says so: recovery
        // then knows damage before that offset is not a torn tail.
        var length = length
        let synced = syncedBytes.load(ordering: .acquiring)
        let syncPoint: UInt64? = synced > claimedSyncedBytes ? synced : nil
        if let syncPoint {
            claimedSyncedBytes = syncPoint
            length += LogRecord.syncPointRecordSize
        }
        var reservation = Reservation(offset: offsetBytes, length: length)
        reservation.syncPoint = syncPoint
        offsetBytes += UInt64(length)
        if offsetBytes > allocatedBytes {
            reservation.growFrom = allocatedBytes
            reservation.growBy = max(preallocateStepBytes, offsetBytes - allocatedBytes)
            allocatedBytes += reservation.growBy
        }
        let step = UInt64(WALWriter.zeroFillStepBytes)
        if sync && zeroedBytes < offsetBytes + step / 4 {
            let from = max(zeroedBytes, offsetBytes)
            let by = min(step, allocatedBytes > from ? allocatedBytes - from : 0)
            if by > 0 {
                reservation.zeroFrom = from
                reservation.zeroBy = Int(by)
                zeroedBytes = from + by
            }
        }
        return reservation
    }

    /// Gives the slot back after its group completed (DB mu held).
    func release(_ reservation: Reservation) { slotTaken = false }

    // MARK: - Writing (the slot's holder, without mu)

    /// Writes one group: grows the file if the reservation says so, writes
    /// the sync-point record when one is due, lets `encode` write the
    /// group's records (the `length` passed to `reserve`) into the buffer
    /// it is given, and writes them — with `sync`, returning
    /// only after fdatasync completed. Throws `DBError.io` on any failure;
    /// the caller must then stop using this log (no fsync retry).
    ///
    /// `duringIO` runs once the bytes are on their way: after the pwrite of
    /// an unsynced group, or while the kernel writes and syncs a synced one
    /// (the leader inserts the group into the memtable there; it becomes
    /// visible only after this returns). It does not run when the write
    /// fails before that.
    func writeGroup(sync: Bool, reservation: Reservation, encode: (UnsafeMutableRawPointer) -> Void,
                    duringIO: () -> Void) throws(DBError) {
        let length = reservation.length
        precondition(length > 0, "WAL group without records")
        if let faults {
            // Injected failures take the place of the kernel's answer.
            if let code = faults.check(.write, path: path) {
                throw DBError.io(IOError(operation: "write", errno: code, path: path,
                                         offset: reservation.offset, detail: "injected fault"))
            }
        }
        if reservation.growBy > 0 { try grow(from: reservation.growFrom, by: reservation.growBy) }

        // A group larger than one buffer gets a temporary one (a plain
        // write, never a fixed one).
        var temporary: AlignedBuffer? = length > bufferSizeBytes ? AlignedBuffer(capacity: length) : nil
        let bufferIndex = nextBuffer
        let destination = temporary?.pointer ?? bufferBase + bufferIndex * bufferSizeBytes
        nextBuffer = (nextBuffer + 1) % bufferCount
        if let syncPoint = reservation.syncPoint {
            LogRecord.encodeSyncPoint(syncPoint, into: destination)
            encode(destination + LogRecord.syncPointRecordSize)
        } else {
            encode(destination)
        }
        let bytes = UnsafeRawBufferPointer(start: destination, count: length)
        var keepTemporary = false
        defer { if keepTemporary { temporary.take()?.quarantine() } }

        if !sync {
            try ioCall(path) { () throws(IOError) in try posix.write(fd: file.fd, from: bytes, offset: reservation.offset) }
            duringIO()
            hasUnsyncedWrites = true
            faults?.durability.noteLogWritten(fd: file.fd, endOffset: reservation.offset + UInt64(length))
            return
        }
        if let faults, let code = faults.check(.fsync, path: path) {
            // The bytes go out, the sync "fails".
            try ioCall(path) { () throws(IOError) in try posix.write(fd: file.fd, from: bytes, offset: reservation.offset) }
            duringIO()
            hasUnsyncedWrites = true
            faults.durability.noteLogWritten(fd: file.fd, endOffset: reservation.offset + UInt64(length))
            throw DBError.io(IOError(operation: "fdatasync", errno: code, path: path, detail: "injected fault"))
        }
        if let ring {
            do {
                try writeAndSync(ring, bytes, reservation: reservation,
                                 bufferIndex: temporary == nil && fixedBuffers ? bufferIndex : nil, duringIO: duringIO)
            } catch {
                if ring.failedWith != nil && ring.operationsInFlight > 0 {
                    keepTemporary = true
                    quarantined = true
                }
                throw error
            }
        } else {
            try zeroFill(reservation)
            try ioCall(path) { () throws(IOError) in try posix.write(fd: file.fd, from: bytes, offset: reservation.offset) }
            duringIO()
            try ioCall(path) { () throws(IOError) in try posix.sync(fd: file.fd, dataOnly: true) }
        }
        // A synced group's fdatasync covers every earlier group too.
        hasUnsyncedWrites = false
        noteSynced(through: reservation.offset + UInt64(length))
        if let faults {
            let end = reservation.offset + UInt64(length)
            faults.durability.noteLogWritten(fd: file.fd, endOffset: end)
            faults.durability.noteLogSynced(fd: file.fd, endOffset: end)
        }
    }

    /// fdatasync of everything written so far, when the last group was not
    /// synced. Call with no group in flight (the caller leads the write
    /// queue). Throws `DBError.io`; the log must then not be used again.
    func syncUnsyncedWrites() throws(DBError) {
        guard hasUnsyncedWrites else { return }
        if let code = faults?.check(.fsync, path: path) {
            throw DBError.io(IOError(operation: "fdatasync", errno: code, path: path, detail: "injected fault"))
        }
        try ioCall(path) { () throws(IOError) in try posix.sync(fd: file.fd, dataOnly: true) }
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

    // MARK: - Pieces

    /// Allocates [from, from + by) of the file, in a call of its own that
    /// completes before any byte of the group is written.
    private func grow(from: UInt64, by: UInt64) throws(DBError) {
        if let code = faults?.check(.fallocate, path: path) {
            throw DBError.io(IOError(operation: "fallocate", errno: code, path: path, offset: from,
                                     detail: "injected fault"))
        }
        try ioCall(path) { () throws(IOError) in try posix.preallocate(fd: file.fd, offset: from, length: by) }
    }

    /// Writes the reservation's zeros (plain pwrite; the ring path sends
    /// them with the group instead).
    private func zeroFill(_ reservation: Reservation) throws(DBError) {
        guard reservation.zeroBy > 0 else { return }
        let zeros = zerosPointer()
        try ioCall(path) { () throws(IOError) in
            try posix.write(fd: file.fd, from: UnsafeRawBufferPointer(start: zeros, count: reservation.zeroBy),
                            offset: reservation.zeroFrom)
        }
    }

    private func zerosPointer() -> UnsafeMutableRawPointer {
        if let zerosBase { return zerosBase }
        let buffer = AlignedBuffer(capacity: WALWriter.zeroFillStepBytes)
        let base = buffer.pointer
        zerosBase = base
        zeros = .some(buffer)
        return base
    }

    private enum Tag: UInt64 { case write = 1, fsync, zeroFill }

    /// One io_uring_enter: [zero fill] + write (fixed when `bufferIndex`)
    /// linked to fdatasync. Runs `duringIO` after the submission.
    private func writeAndSync(_ ring: Ring, _ bytes: UnsafeRawBufferPointer, reservation: Reservation,
                              bufferIndex: Int?, duringIO: () -> Void) throws(DBError) {
        let base = bytes.baseAddress!  // a group is never empty
        let offset = reservation.offset
        var expected = 0
        if reservation.zeroBy > 0 {
            // Not linked: it lands beyond this group's bytes.
            precondition(ring.prepWrite(fd: file.fd, buffer: zerosPointer(), length: reservation.zeroBy,
                                        offset: reservation.zeroFrom, userData: Tag.zeroFill.rawValue),
                         "WAL ring full")
            expected += 1
        }
        let prepared = bufferIndex.map {
            ring.prepWriteFixed(fd: file.fd, buffer: base, length: bytes.count, offset: offset, bufferIndex: $0,
                                userData: Tag.write.rawValue, flags: .link)
        } ?? ring.prepWrite(fd: file.fd, buffer: base, length: bytes.count, offset: offset,
                            userData: Tag.write.rawValue, flags: .link)
        precondition(prepared && ring.prepFsync(fd: file.fd, dataOnly: true, userData: Tag.fsync.rawValue),
                     "WAL ring full")
        expected += 2
        var written = 0
        var synced = false
        var failure: IOError?
        do {
            try ring.submit()
            // A submission the kernel took in two parts may have cut the
            // write → fsync link: the fsync could then run first.
            let linkCut = ring.lastSubmitWasSplit
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
                    case .write:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring write", errno: -c.result,
                                                         path: path, offset: offset)
                        } else {
                            written = Int(c.result)
                            // Test-only: report it short; the rest is
                            // rewritten and synced on its own below.
                            if written > 1, let faults, faults.triggers(.shortWrite, path: path) { written /= 2 }
                        }
                    case .fsync:
                        if c.result == 0 { synced = !linkCut } else if c.result != -ECANCELED {
                            failure = failure ?? IOError(operation: "io_uring fdatasync", errno: -c.result, path: path)
                        }
                    case nil:
                        break
                    }
                }
                if seen < expected { try ring.waitForCompletion() }
            }
        } catch {
            failure = failure ?? error.at(path: path)
        }
        if let failure { throw DBError.io(failure) }
        // A short write broke the link (the fsync came back -ECANCELED):
        // write the rest and sync on their own.
        if written < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[written...])
            try ioCall(path) { () throws(IOError) in
                try posix.write(fd: file.fd, from: rest, offset: offset + UInt64(written))
            }
            synced = false
        }
        if !synced { try ioCall(path) { () throws(IOError) in try posix.sync(fd: file.fd, dataOnly: true) } }
    }
}
