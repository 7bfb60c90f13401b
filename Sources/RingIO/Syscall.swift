#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// The one place raw libc calls are checked: retries EINTR and turns -1 into
/// an `IOError` carrying the operation name and errno (swift-nio style).
@inline(__always)
package func syscall<T: BinaryInteger>(
    _ operation: String, path: String? = nil, offset: UInt64? = nil, _ body: () -> T
) throws(IOError) -> T {
    BlockingCheck.willBlock(operation)
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = rk_errno()
        if code == EINTR { continue }
        throw IOError(operation: operation, errno: code, path: path, offset: offset)
    }
}
