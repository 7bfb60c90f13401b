import RingIO

/// Runs a RingIO call and turns its `IOError` into `DBError.io`, filling in
/// the path when the layer below did not know it.
@inline(__always)
package func ioCall<R>(_ path: String, _ body: () throws(IOError) -> R) throws(DBError) -> R {
    do {
        return try body()
    } catch {
        throw DBError.io(error.at(path: path))
    }
}
