import RingIO

/// The N read offsets every mode issues: block-aligned, drawn with
/// SplitMix64 from `seed`, never block 0 (it holds the pattern file header).
struct ReadPlan: Sendable {
    let offsets: [UInt64]
    let blockSizeBytes: Int

    var count: Int { offsets.count }
    var totalBytes: Int { offsets.count * blockSizeBytes }

    init(count: Int, fileSizeBytes: UInt64, blockSizeBytes: Int, seed: UInt64) {
        precondition(blockSizeBytes > 0 && fileSizeBytes / UInt64(blockSizeBytes) >= 2,
                     "the file must hold at least two blocks")
        let dataBlocks = fileSizeBytes / UInt64(blockSizeBytes) - 1
        var rng = SplitMix64(seed: seed)
        offsets = (0..<count).map { _ in (1 + rng.next() % dataBlocks) * UInt64(blockSizeBytes) }
        self.blockSizeBytes = blockSizeBytes
    }

    /// Checks every read's slot of `buffer` (slot i holds read i) against
    /// the pattern; throws on the first wrong word.
    func verify(_ buffer: UnsafeRawPointer, mode: BenchMode, path: String) throws(BenchError) {
        for (i, offset) in offsets.enumerated() {
            let slot = buffer + i * blockSizeBytes
            if let bad = PatternFile.firstMismatch(in: slot, length: blockSizeBytes, fileOffset: offset) {
                throw BenchError.verification(
                    mode: mode, read: i,
                    detail: "\(path) offset \(offset + UInt64(bad)): word differs from the pattern "
                        + "(delete the file to recreate it if it was changed)")
            }
        }
    }
}

/// Everything that makes iobench exit non-zero.
enum BenchError: Error, CustomStringConvertible {
    case io(String)
    case readFailed(mode: BenchMode, read: Int, offset: UInt64, detail: String)
    case verification(mode: BenchMode, read: Int, detail: String)

    var description: String {
        switch self {
        case .io(let text): return text
        case let .readFailed(mode, read, offset, detail):
            return "\(mode.rawValue): read \(read) at offset \(offset) failed: \(detail)"
        case let .verification(mode, read, detail):
            return "\(mode.rawValue): read \(read) returned wrong bytes at \(detail)"
        }
    }
}
