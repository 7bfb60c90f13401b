import Glibc
@_exported import TestSupport
import RingIO
@testable import RingKV

func openOptions(memtableBytes: Int = 64 << 20) -> Options {
    var options = Options()
    options.createIfMissing = true
    options.memtableSizeBytes = memtableBytes
    options.walPreallocateBytes = 1 << 20
    return options
}

