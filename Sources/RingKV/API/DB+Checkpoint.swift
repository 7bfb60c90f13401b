extension DB {
    /// Makes `path` a consistent point-in-time copy of this database that
    /// `DB(path:)` opens: every write acknowledged before this call is in
    /// it, nothing written after the call started is required to be.
    /// Tables are hard-linked (copied when `path` is on another
    /// filesystem), the live WAL is copied, and a MANIFEST describing the
    /// copy is written; everything is fsynced before this returns. Reads
    /// and writes continue meanwhile. `path` must not exist; its parent
    /// must. On failure nothing is left at `path`.
    public func checkpoint(to path: String) throws {
        try impl.checkpoint(to: path)
    }
}
