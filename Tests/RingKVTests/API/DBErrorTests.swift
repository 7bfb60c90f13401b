import Glibc
import RingIOFaults
import Testing
@testable import RingKV

/// `DBError` (API/DBError.swift): Equatable, and each failure arrives as
/// its own case with the data that says what failed — the limit and the
/// size, the range's keys, the option, the path, the errno as a type, the
/// reason writes are refused.
@Suite struct DBErrorTests {
    // MARK: - Equality

    @Test func errorsCompareByCaseAndData() {
        let full = IOError(operation: "write", errno: ENOSPC, path: "/db/000003.log", offset: 4096)
        #expect(DBError.io(full) == DBError.io(full))
        #expect(DBError.io(full) != DBError.io(IOError(operation: "write", errno: EIO, path: "/db/000003.log",
                                                       offset: 4096)))
        #expect(DBError.closed == DBError.closed)
        #expect(DBError.tooLarge(.key, sizeBytes: 70_000) != DBError.tooLarge(.value, sizeBytes: 70_000))
        #expect(DBError.databaseNotFound(path: "/a") != DBError.databaseNotFound(path: "/b"))
        #expect(DBError.readOnly(.logFailed(.io(full))) == DBError.readOnly(.logFailed(.io(full))))
        #expect(DBError.readOnly(.logFailed(.io(full))) != DBError.readOnly(.openedReadOnly))
        #expect(DBError.invalidRange(from: [2], to: [1]) == DBError.invalidRange(from: [2], to: [1]))
    }

    // MARK: - The errno as a type

    @Test func ioErrorsCarryTheErrnoAsATypeAndThePathTheyTook() {
        let full = IOError(operation: "write", errno: ENOSPC, path: "/db/000003.log")
        #expect(full.code == .noSpace && full.errno == ENOSPC && full.isNoSpace)
        #expect(IOError(operation: "write", errno: EDQUOT).isNoSpace)
        #expect(IOError(operation: "open", errno: EACCES).code == .permissionDenied)
        #expect(Errno(rawValue: 4242) != .noSpace, "an unnamed errno is kept as it came")
        #expect(full.ioPath == .posix)
        #expect(IOError(operation: "io_uring read", errno: EIO).ioPath == .ioUring)
        #expect(IOError(operation: "io_uring_setup", errno: EPERM).ioPath == .ioUring)
        #expect("\(IOPath.ioUring)" == "io_uring" && "\(IOPath.posix)" == "posix")
        #expect(DBError.io(full).isNoSpace)
        #expect(DBError.readOnly(.logFailed(.io(full))).isNoSpace, "a refusal that followed a full disk says so")
        #expect(!DBError.readOnly(.openedReadOnly).isNoSpace)
    }

    // MARK: - What the engine throws

    @Test func oversizedKeyValueAndBatchNameTheirLimitAndSize() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let key = [UInt8](repeating: 0x6b, count: Options.maxKeySizeBytes + 5)
        #expect(throws: DBError.tooLarge(.key, sizeBytes: Options.maxKeySizeBytes + 5)) { try db.put(key, []) }
        #expect(throws: DBError.tooLarge(.key, sizeBytes: Options.maxKeySizeBytes + 5)) { try db.delete(key) }
        var batch = WriteBatch()
        batch.put(bytes("k"), [UInt8](repeating: 1, count: Options.maxValueSizeBytes + 1))
        #expect(throws: DBError.tooLarge(.value, sizeBytes: Options.maxValueSizeBytes + 1)) { try db.write(batch) }
        #expect(DBError.SizeLimit.key.maxBytes == Options.maxKeySizeBytes)
        try db.close()
    }

    @Test func anInvertedRangeNamesItsKeys() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        #expect(throws: DBError.invalidRange(from: bytes("z"), to: bytes("a"))) {
            try db.deleteRange(from: bytes("z"), to: bytes("a"))
        }
        var batch = WriteBatch()
        batch.deleteRange(from: bytes("m"), to: bytes("b"))
        #expect(throws: DBError.invalidRange(from: bytes("m"), to: bytes("b"))) { try db.write(batch) }
        try db.close()
    }

    @Test func anInvalidOptionNamesTheOptionAndTheValue() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.walBufferCount = 0
        #expect(throws: DBError.invalidOption(name: "walBufferCount", value: "0", allowed: "at least 1")) {
            try DB(path: dir.sub("db"), options: options)
        }
    }

    @Test func aMissingDatabaseIsNotAMissingKey() throws {
        let dir = try TempDir()
        #expect(throws: DBError.databaseNotFound(path: dir.sub("absent"))) { try DB(path: dir.sub("absent")) }
        let db = try DB(path: dir.sub("db"), options: openOptions())
        #expect(try db.get(bytes("absent")) == nil, "a missing key is nil, not an error")
        try db.close()
    }

    @Test func pathsThatAreNotDirectoriesOrAlreadyExistSaySo() throws {
        let dir = try TempDir()
        try writeWholeFile(dir.sub("file"), [1])
        #expect(throws: DBError.notADirectory(path: dir.sub("file"))) {
            try DB(path: dir.sub("file"), options: openOptions())
        }
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("k", "v")
        try db.checkpoint(to: dir.sub("copy"))
        #expect(throws: DBError.alreadyExists(path: dir.sub("copy"))) { try db.checkpoint(to: dir.sub("copy")) }
        #expect(throws: DBError.notADirectory(path: dir.sub("file"))) { try db.checkpoint(to: dir.sub("file/copy")) }
        try db.close()
    }

    @Test func aClosedDatabaseIsClosed() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.close()
        #expect(throws: DBError.closed) { try db.put("k", "v") }
        #expect(throws: DBError.closed) { try db.get("k") }
    }

    @Test func aFailedLogWriteIsCarriedByTheRefusalsThatFollow() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        var options = openOptions()
        options.faultPlan = plan
        options.forcePosixIO = true
        let db = try DB(path: dir.sub("db"), options: options)
        try db.put("kept", "yes")
        plan.add(.init(kind: .write, nth: 1, errno: ENOSPC, sticky: true))
        var first: DBError?
        do { try db.put("more", "data") } catch { first = error }
        guard case .io(let failure)? = first else {
            Issue.record("expected .io, got \(String(describing: first))")
            return
        }
        #expect(failure.code == .noSpace && failure.path?.hasSuffix(".log") == true)
        // Later writes are refused with the failure that stopped them.
        #expect(throws: DBError.readOnly(.logFailed(.io(failure)))) { try db.put("again", "data") }
        #expect(try db.get("kept") == "yes")
        try db.close()
    }

    @Test func aReadOnlyOpenRefusesWritesWithItsReason() throws {
        let dir = try TempDir()
        try DB(path: dir.sub("db"), options: openOptions()).close()
        var options = Options()
        options.readOnly = true
        let db = try DB(path: dir.sub("db"), options: options)
        #expect(throws: DBError.readOnly(.openedReadOnly)) { try db.put("k", "v") }
        #expect(db.stats().walIOBackend == nil)
        try db.close()
    }
}
