import RingIO

/// WAL retention for change feeds (`Options.changeRetentionBytes`,
/// docs/REPLICATION.md §Retention): the obsolete-file sweep
/// (`DBImpl.deleteObsoleteFiles`) keeps the newest obsolete logs whose
/// file sizes add up to at most the option, and deletes the rest, oldest
/// first. Recovery ignores logs below the MANIFEST's log number, so kept
/// logs are read only by feeds.
extension DBImpl {
    /// The obsolete logs (numbered below `logNumber`) among the directory
    /// entries `names` that the sweep keeps for change feeds.
    func logsRetainedForChanges(_ names: [String], logNumber: UInt64) -> Set<UInt64> {
        guard options.changeRetentionBytes > 0 else { return [] }
        let obsolete = names.compactMap { FileNames.parse($0) }
            .filter { $0.kind == .log && $0.number < logNumber }
            .map(\.number).sorted(by: >)
        var kept: Set<UInt64> = []
        var totalBytes: UInt64 = 0
        for number in obsolete {
            guard let size = try? FileSystem.fileSize(FileNames.log(path, number)) else { continue }
            if totalBytes + size > UInt64(options.changeRetentionBytes) { break }
            totalBytes += size
            kept.insert(number)
        }
        return kept
    }
}
