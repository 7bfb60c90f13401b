#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

@Suite("File, FileLock, IOError")
struct FileTests {
    @Test func requiredODirectOnAFilesystemThatRefusesItIsAClearError() throws {
        // tmpfs refused O_DIRECT until Linux 6.6; newer kernels accept it.
        // procfs still refuses it, so it stands in when /dev/shm accepts.
        var candidates: [(path: String, mode: File.Mode, cleanup: Bool)] = []
        if filesystemType(ofMountPoint: "/dev/shm") == "tmpfs" {
            candidates.append(("/dev/shm/ringio-direct-\(getpid())", [.readWrite, .create], true))
        } else {
            print("note: /dev/shm is not tmpfs here; testing O_DIRECT refusal on procfs only")
        }
        candidates.append(("/proc/self/status", .read, false))

        var refusals = 0
        for c in candidates {
            defer { if c.cleanup { unlink(c.path) } }
            do {
                let file = try File.open(c.path, c.mode, direct: .required)
                #expect(file.isDirect)
                try file.close()
                print("note: \(c.path) accepts O_DIRECT on this kernel (tmpfs does since Linux 6.6); skipping it")
                continue
            } catch {
                refusals += 1
                #expect(error.errno == EINVAL)
                #expect(error.operation == "open")
                #expect(error.path == c.path)
                #expect(error.description.contains("refuses O_DIRECT"))
                #expect(error.description.contains(c.path))
            }
            // .preferred falls back to buffered I/O on the same filesystem.
            let fallback = try File.open(c.path, c.mode, direct: .preferred)
            #expect(!fallback.isDirect)
            try fallback.close()
        }
        #expect(refusals >= 1, "no filesystem refusing O_DIRECT was found")
    }

    @Test func preferredODirectOnExt4IsDirect() throws {
        try withTemporaryDirectory { dir in
            let file = try File.open(dir + "/f", [.readWrite, .create], direct: .preferred)
            #expect(file.isDirect)
            try file.close()
            try file.close()  // idempotent
        }
    }

    @Test func openingAMissingFileNamesThePathAndErrno() throws {
        let error = #expect(throws: IOError.self) { _ = try File.open("/tmp/ringio-no-such-dir/x", .read) }
        #expect(error?.errno == ENOENT)
        #expect(error?.path == "/tmp/ringio-no-such-dir/x")
    }

    @Test func secondFileLockInTheSameProcessFailsWithEWOULDBLOCK() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/LOCK"
            let first = try FileLock(path: path)
            let error = #expect(throws: IOError.self) { _ = try FileLock(path: path) }
            #expect(error?.errno == EWOULDBLOCK)
            #expect(error?.operation == "flock")
            #expect(error?.path == path)
            #expect(error?.description.contains("locked") == true)
            // Released: the lock can be taken again.
            first.release()
            let again = try FileLock(path: path)
            again.release()
        }
    }

    @Test func ioErrorDescriptionCarriesOperationPathOffsetAndStrerror() {
        let error = IOError(operation: "io_uring read", errno: EIO, path: "/data/000012.sst", offset: 65536)
        let text = error.description
        #expect(text.contains("io_uring read"))
        #expect(text.contains("/data/000012.sst"))
        #expect(text.contains("65536"))
        #expect(text.contains(String(cString: strerror(EIO))))
        #expect(text.contains("Input/output error"))
        #expect(text.contains("errno \(EIO)"))
        #expect(error.message == "Input/output error")

        let withDetail = IOError(operation: "open", errno: EINVAL, detail: "the filesystem refuses O_DIRECT")
        #expect(withDetail.description.contains("refuses O_DIRECT"))
        #expect(!withDetail.description.contains("offset"))
    }

    @Test func atPathFillsOnlyAMissingPath() {
        let bare = IOError(operation: "pread", errno: EIO, offset: 8)
        #expect(bare.at(path: "/a").path == "/a")
        #expect(bare.at(path: "/a").at(path: "/b").path == "/a")
        #expect(IOError(operation: "write", errno: ENOSPC).isNoSpace)
    }
}
