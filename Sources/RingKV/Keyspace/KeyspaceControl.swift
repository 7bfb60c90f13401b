/// A keyspace create or drop travelling through the writer queue
/// (`PendingWrite.Payload.control`): its own leader carries it out alone
/// (`DBImpl.runKeyspaceControlLocked`, KeyspaceLifecycle.swift), so no
/// write group is in flight meanwhile and the WAL does not roll under it.
final class KeyspaceControl {
    enum Request {
        /// Open `name`, creating it when missing; with `options`, store
        /// them (for an existing keyspace: when they differ).
        case create(name: String, options: KeyspaceOptions?)
        /// Drop the keyspace (admission marked it `dropping`).
        case drop(KeyspaceData)
        /// Commit an ingest's staged tables (IngestJob.swift).
        case ingest(IngestJob)
    }

    let request: Request
    /// The keyspace a create opened or created, set by the leader.
    var result: KeyspaceData?

    init(_ request: Request) { self.request = request }
}
