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
/// - **small synced group** (at most `syncViaSyscallsMaxOperations`
///   operations, e.g. a lone writer's put): `pwrite` then `fdatasync` on the
///   leader even with a ring. On ext4 the ring punts the buffered write and
///   the fsync to an io-wq worker; that hand-off costs more than the
///   overlap with a small group's memtable insert gains.
/// - **synced group**, io_uring refused (seccomp, `io_uring_disabled`) or
///   `Options.forcePosixIO`: `pwrite` then `fdatasync`.
///
/// The bytes move through the log's `LogFile` (RingIO), which owns the
/// file, the buffers and the ring; this type decides what goes where.
///
/// The file grows in its own call before a group needs the space: an
/// fallocate that fails (ENOSPC) fails the group before any of its bytes
/// reach the file, so a write reported failed is never durable. Steps are
/// `preallocateStepBytes` (by default 1.1 × the memtable size, as RocksDB
/// sizes its WAL preallocation). A log retired at a memtable switch is cut
/// back to its written end (`truncate(toWrittenEnd:)`): it may be kept
/// for a long while, and checkpoints and backups copy it.
///
/// Unsynced groups are handed to writeback as the log grows: once
/// `writebackStepBytes` of whole pages were appended since the last hand-
/// off, the leader asks the kernel to start writing them
/// (sync_file_range, no waiting). Without it the kernel keeps up to a
/// whole memtable's worth (~70 MiB) of the log dirty, and the fdatasync
/// of a memtable switch (MakeRoomForWrite.swift) writes all of it inside
/// one write: ~40-80 ms on the machine of issue 25, a stall of every
/// writer and of a replica's `apply`. With it that fdatasync has at most
/// about one step left to write.
///
/// One group is written at a time (the write path's one WAL slot);
/// `reserve` runs with the DB's `mu` held, `writeGroup` without it, by the
/// leader holding the slot.
final class WALWriter: @unchecked Sendable {
    // @unchecked Sendable: offsets and the slot flag are guarded by the DB's
    // mu; the log file and the counters are touched only by the leader that
    // holds the slot (one at a time, handed over under mu).
    let path: String
    let number: UInt64
    /// The file, its buffers and its ring.
    private let log: LogFile
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
    static let zeroFillStepBytes = LogFile.zeroFillMaxBytes

    /// Synced groups of at most this many operations are written with
    /// `pwrite` + `fdatasync` on the leader instead of through the ring
    /// (see the type's comment): a lone writer's put. Larger groups keep
    /// the ring, whose overlap of the memtable insert with the kernel's
    /// write and sync won at 8 and 32 writers on a quiet machine. Issue
    /// 21's VM, 1 thread of synced 1 KB puts: p50 61 µs with syscalls,
    /// 76 µs through the ring (quiet); with the device loaded by other
    /// processes, groups alternating between the two paths in one run took
    /// 1.9-4.2 ms on average with syscalls, 2.1-5.1 ms through the ring.
    /// 0 turns the syscall path off.
    static let syncViaSyscallsMaxOperations = 1

    /// Whether `reserve` may take the slot.
    var hasFreeSlot: Bool { !slotTaken }

    /// Unsynced appends are handed to writeback in steps of this many bytes.
    static let writebackStepBytes: UInt64 = 1 << 20
    /// Writeback was started for the log's bytes below this (a page
    /// boundary; touched by the slot's holder).
    private(set) var writebackStartedBytes: UInt64 = 0

    /// Set when the last group was written without fdatasync. Written by
    /// the group's leader in `writeGroup`, read with the DB's mu held and
    /// no group in flight.
    private(set) var hasUnsyncedWrites = false

    /// `.ioUring` (synced groups through the ring) or `.posix`.
    var ioPath: IOPath { log.usesRing ? .ioUring : .posix }

    /// Opens (creates) the file through `backend`, so a wrapping backend
    /// can fail the open or note the new file. Takes a ring of its own when
    /// `useRing` and io_uring allows it; when io_uring_setup is refused,
    /// `notice` says so and the log uses plain syscalls. `seam`: see
    /// `Options.ioSeam`.
    init(path: String, number: UInt64, bufferCount: Int, bufferSizeBytes: Int, preallocateStepBytes: UInt64,
         backend: any IOBackend, useRing: Bool, seam: (any IOSeam)? = nil,
         notice: (String) -> Void = { IOBackends.noticeOnce($0) }) throws(DBError) {
        precondition(bufferCount >= 1 && bufferSizeBytes >= 4096, "WAL buffers too small")
        self.path = path
        self.number = number
        // Capped so the rounding cannot overflow (Options.walPreallocateBytes
        // is the user's; a step no disk holds fails at its fallocate).
        let step = Int(clamping: min(preallocateStepBytes, 1 << 62))
        self.preallocateStepBytes = UInt64(max(AlignedBuffer.roundUp(step), 4096))
        log = try ioCall(path) { () throws(IOError) in
            try LogFile(path: path, bufferCount: bufferCount, bufferSizeBytes: bufferSizeBytes, useRing: useRing,
                        backend: backend, seam: seam, notice: notice)
        }
        self.bufferCount = log.bufferCount
        self.bufferSizeBytes = log.bufferSizeBytes
    }

    func close() throws(DBError) {
        try ioCall(path) { () throws(IOError) in try log.close() }
    }

    /// Cuts the file to `writtenEnd`, giving back the preallocated and
    /// zero-filled tail: a log retired at a memtable switch is kept until
    /// every keyspace with data in it flushed, and checkpoints and backups
    /// copy it (docs/FORMAT.md §Log records). The caller read `writtenEnd`
    /// (`offsetBytes`) under mu after the log's last fdatasync and leads
    /// the writer queue; no group is written to this log again. Returns
    /// the failure, not thrown: it costs only space (the zeros read as the
    /// log's clean end). A reader that opened the log earlier meets a
    /// shorter file: `LogReader` takes a short read as the new end of the
    /// file.
    func truncate(toWrittenEnd writtenEnd: UInt64) -> DBError? {
        do throws(IOError) {
            try log.truncate(to: writtenEnd)
            return nil
        } catch {
            return DBError.io(error.at(path: path))
        }
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
    /// `operations`: how many the group holds (a small synced group skips
    /// the ring, see `syncViaSyscallsMaxOperations`).
    func writeGroup(sync: Bool, reservation: Reservation, operations: Int, encode: (UnsafeMutableRawPointer) -> Void,
                    duringIO: () -> Void) throws(DBError) {
        let length = reservation.length
        precondition(length > 0, "WAL group without records")
        if reservation.growBy > 0 {
            // In a call of its own that completes before any byte of the
            // group is written.
            try ioCall(path) { () throws(IOError) in
                try log.preallocate(offset: reservation.growFrom, length: reservation.growBy)
            }
        }

        // A group larger than one buffer gets a temporary one (a plain
        // write, never a fixed one).
        var temporary: AlignedBuffer? = length > bufferSizeBytes ? AlignedBuffer(capacity: length) : nil
        let bufferIndex = nextBuffer
        let destination = temporary?.pointer ?? log.buffer(bufferIndex)
        nextBuffer = (nextBuffer + 1) % bufferCount
        if let syncPoint = reservation.syncPoint {
            LogRecord.encodeSyncPoint(syncPoint, into: destination)
            encode(destination + LogRecord.syncPointRecordSize)
        } else {
            encode(destination)
        }
        let bytes = UnsafeRawBufferPointer(start: destination, count: length)

        if !sync {
            try ioCall(path) { () throws(IOError) in try log.append(bytes, at: reservation.offset) }
            duringIO()
            hasUnsyncedWrites = true
            startWritebackIfDue(end: reservation.offset + UInt64(length))
            return
        }
        let group = LogFile.Group(bytes: bytes, offset: reservation.offset,
                                  bufferIndex: temporary == nil ? bufferIndex : nil,
                                  zeroFillFrom: reservation.zeroFrom, zeroFillBytes: reservation.zeroBy,
                                  viaSyscalls: operations <= WALWriter.syncViaSyscallsMaxOperations)
        do {
            try log.appendAndSync(group, duringIO: duringIO)
        } catch {
            // The kernel may still read the temporary buffer (the log keeps
            // its own buffers itself).
            if error.memoryMayStillBeInUse { temporary.take()?.quarantine() }
            throw DBError.io(error.at(path: path))
        }
        // A synced group's fdatasync covers every earlier group too.
        hasUnsyncedWrites = false
        noteSynced(through: reservation.offset + UInt64(length))
    }

    /// fdatasync of everything written so far, when the last group was not
    /// synced. Call with no group in flight (the caller leads the write
    /// queue). Throws `DBError.io`; the log must then not be used again.
    func syncUnsyncedWrites() throws(DBError) {
        guard hasUnsyncedWrites else { return }
        try ioCall(path) { () throws(IOError) in try log.sync(through: offsetBytes) }
        hasUnsyncedWrites = false
        noteSynced(through: offsetBytes)
    }

    /// Hands the whole pages below `end` appended since the last hand-off
    /// to writeback, once they are `writebackStepBytes` or more. The page
    /// holding `end` is left out: the next group writes into it. A failure
    /// is not thrown: the group's bytes are already in the file (a thrown
    /// write must not be in the log), and the fdatasync that makes them
    /// durable reports any device error itself.
    private func startWritebackIfDue(end: UInt64) {
        let pageEnd = end & ~UInt64(4095)
        guard pageEnd >= writebackStartedBytes + WALWriter.writebackStepBytes else { return }
        try? log.startWriteback(offset: writebackStartedBytes, length: pageEnd - writebackStartedBytes)
        writebackStartedBytes = pageEnd
    }

    /// Every byte of this log before this offset is durable (read by the
    /// change feed's durability watermark, FeedNotifier.swift).
    var durableBytes: UInt64 { syncedBytes.load(ordering: .acquiring) }

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

}
