#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// Directory and name operations (mkdir, rename, unlink, listing, dir
/// fsync). File contents move through an `IOBackend`; these are the
/// metadata calls io_uring offers no batching advantage for.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public enum Kind: Sendable { case directory, other }

    /// What `path` is, or nil when it does not exist (ENOENT, ENOTDIR).
    /// Any other failure — EACCES, EIO, ELOOP — throws, so a caller never
    /// mistakes an unreadable path for a missing one.
    public static func kind(of path: String) throws(IOError) -> Kind? {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .other }
        let code = rk_errno()
        if code == ENOENT || code == ENOTDIR { return nil }
        throw IOError(operation: "stat", errno: code, path: path)
    }

    /// True when `path` itself is a symbolic link (lstat; not followed).
    public static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// `path` with every symbolic link, "." and ".." resolved (realpath(3)).
    /// A path that does not exist yet resolves its nearest existing
    /// ancestor and appends the rest, "." and ".." taken as
    /// `createDirectory` would (a ".." after a directory it makes).
    public static func resolvedPath(_ path: String) throws(IOError) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let code = rk_errno()
        let parent = parentDirectory(of: path)
        guard code == ENOENT, parent != path else { throw IOError(operation: "realpath", errno: code, path: path) }
        let base = try resolvedPath(parent)
        switch baseName(path) {
        case "", ".": return base
        case "..": return parentDirectory(of: base)
        case let name: return (base == "/" ? "" : base) + "/" + name
        }
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func fileSize(_ path: String) throws(IOError) -> UInt64 {
        var st = stat()
        _ = try syscall("stat", path: path) { stat(path, &st) }
        return UInt64(st.st_size)
    }

    /// Creates `path` (and missing parents) as directories.
    public static func createDirectory(_ path: String) throws(IOError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path && !parent.isEmpty && !exists(parent) { try createDirectory(parent) }
        if mkdir(path, 0o755) != 0 {
            let code = rk_errno()
            if code == EEXIST && isDirectory(path) { return }
            throw IOError(operation: "mkdir", errno: code, path: path)
        }
    }

    /// One mkdir(2): fails (EEXIST) when `path` exists, whatever it is.
    public static func createNewDirectory(_ path: String) throws(IOError) {
        if mkdir(path, 0o755) != 0 { throw IOError(operation: "mkdir", errno: rk_errno(), path: path) }
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` without trailing slashes ("db/" and "db//" are "db"; "/"
    /// stays "/").
    public static func withoutTrailingSlashes(_ path: String) -> String {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }

    /// The last path component.
    public static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Names in `path`, without "." and "..", unsorted.
    public static func listDirectory(_ path: String) throws(IOError) -> [String] {
        guard let dir = opendir(path) else {
            throw IOError(operation: "opendir", errno: rk_errno(), path: path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func remove(_ path: String) throws(IOError) {
        _ = try syscall("unlink", path: path) { unlink(path) }
    }

    /// Removes a directory tree (restore, backup staging, tests and tools).
    /// A symbolic link is removed, never followed: a link to a directory
    /// inside the tree (or as `path`) leaves that directory alone.
    public static func removeTree(_ path: String) throws(IOError) {
        if isSymbolicLink(path) { return try remove(path) }
        guard isDirectory(path) else {
            if exists(path) { try remove(path) }
            return
        }
        for name in try listDirectory(path) { try removeTree(path + "/" + name) }
        _ = try syscall("rmdir", path: path) { rmdir(path) }
    }

    /// Atomically replaces `to` with `from` (rename(2)).
    public static func rename(_ from: String, to: String) throws(IOError) {
        _ = try syscall("rename", path: from) { Glibc.rename(from, to) }
    }

    /// A second name `to` for the file `from` (link(2)). Fails with EXDEV
    /// when the two lie on different filesystems, EEXIST when `to` exists.
    public static func hardLink(_ from: String, to: String) throws(IOError) {
        _ = try syscall("link", path: to) { link(from, to) }
    }

    /// fsync of a directory, so a create/rename/unlink in it is durable.
    public static func syncDirectory(_ path: String) throws(IOError) {
        let fd = try syscall("open", path: path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        _ = try syscall("fsync", path: path) { fsync(fd) }
    }

    /// A fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX.
    public static func makeTemporaryDirectory(prefix: String) throws(IOError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let ok = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        if !ok { throw IOError(operation: "mkdtemp", errno: rk_errno(), path: base) }
        return String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes bytes to stderr (notices, progress lines); returns bytes written.
@discardableResult
public func writeStandardError(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    return Glibc.write(2, base, bytes.count)
}
