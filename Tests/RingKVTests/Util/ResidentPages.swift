#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// How many of the pages [first, first + count) of the file at `path` are
/// in the page cache (mincore over a read-only map), and how many pages
/// the file has.
func residentPages(_ path: String, first: Int = 0, count: Int = .max) throws -> (resident: Int, pages: Int) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw IOError(operation: "open", errno: errno, path: path) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw IOError(operation: "fstat", errno: errno, path: path) }
    let size = Int(st.st_size)
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let pages = (size + pageSize - 1) / pageSize
    let wanted = max(0, min(pages - first, count))
    guard wanted > 0 else { return (0, pages) }
    guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
        throw IOError(operation: "mmap", errno: errno, path: path)
    }
    defer { munmap(map, size) }
    var vector = [UInt8](repeating: 0, count: wanted)
    guard mincore(map + first * pageSize, wanted * pageSize, &vector) == 0 else {
        throw IOError(operation: "mincore", errno: errno, path: path)
    }
    return (vector.filter { $0 & 1 != 0 }.count, pages)
}
