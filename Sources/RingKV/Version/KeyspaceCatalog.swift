/// The keyspace bookkeeping of version edits (docs/FORMAT.md §Keyspaces),
/// shared by MANIFEST replay (Files = a `VersionBuilder` per keyspace,
/// kept across edits) and `VersionSet.logAndApply` (Files = the
/// keyspace's current `Version`): which keyspaces are live, under which
/// id and name, their stored options, log numbers and compact pointers,
/// and the largest id ever handed out.
///
/// An edit applies in this order, whatever the order of its fields on
/// disk: `maxKeyspaceId`; creations (an id already live under the same
/// name: its options change); drops; keyspace log numbers; then the table
/// changes and compact pointers of `edit.keyspaceId`. "default" (id 0)
/// is live from the start and can never be dropped.
struct KeyspaceCatalog<Files> {
    struct Entry {
        var record: VersionEdit.KeyspaceRecord
        var files: Files
        /// nil until an edit names it (a format-4 MANIFEST never does:
        /// replay then takes the database's log number).
        var logNumber: UInt64?
        var compactPointers = [[UInt8]?](repeating: nil, count: Version.numLevels)
    }

    typealias Violation = VersionBuilder.Violation

    private(set) var live: [UInt32: Entry]
    private(set) var maxKeyspaceId: UInt32 = 0
    /// The keyspaces this catalog saw dropped and still carries (a change
    /// feed names their changes in older WAL files:
    /// Version/DroppedKeyspaces.swift; error messages).
    private(set) var dropped: [UInt32: DroppedKeyspace] = [:]

    init(defaultFiles: Files) {
        live = [0: Entry(record: .init(id: 0, name: KeyspaceName.defaultName, options: KeyspaceOptions()),
                         files: defaultFiles)]
    }

    init(entries: [Entry], maxKeyspaceId: UInt32) {
        live = Dictionary(uniqueKeysWithValues: entries.map { ($0.record.id, $0) })
        self.maxKeyspaceId = maxKeyspaceId
    }

    /// The live keyspaces, "default" first, then by id.
    var entries: [Entry] { live.keys.sorted().compactMap { live[$0] } }

    /// Applies `edit`. `emptyFiles` makes the files of a new keyspace;
    /// `applyFiles` applies the edit's table changes to one keyspace's
    /// files. With `monotonicLogNumbers`, a keyspace log number that moves
    /// backwards is a violation (logAndApply); replay takes each as it
    /// comes. On a thrown violation the catalog may hold part of the edit
    /// and must be discarded.
    mutating func apply(_ edit: VersionEdit, monotonicLogNumbers: Bool, emptyFiles: () -> Files,
                        applyFiles: (inout Files) throws(Violation) -> Void) throws(Violation) {
        if let max = edit.maxKeyspaceId {
            if monotonicLogNumbers && max < maxKeyspaceId {
                throw Violation(reason: "max keyspace id moves back from \(maxKeyspaceId) to \(max)")
            }
            maxKeyspaceId = Swift.max(maxKeyspaceId, max)
        }
        for record in edit.createdKeyspaces {
            if var existing = live[record.id] {
                guard existing.record.name == record.name else {
                    throw Violation(reason: "keyspace \(record.id) is \"\(existing.record.name)\", "
                                    + "an edit creates it as \"\(record.name)\"")
                }
                existing.record.options = record.options
                // A stored merge operator name is never dropped by a
                // record without one (DB.keyspace("default", options:)).
                if let name = record.mergeOperatorName { existing.record.mergeOperatorName = name }
                live[record.id] = existing
                continue
            }
            if let clash = live.values.first(where: { $0.record.name == record.name }) {
                throw Violation(reason: "keyspace \"\(record.name)\" created as \(record.id) while it is live as "
                                + "\(clash.record.id)")
            }
            if dropped[record.id] != nil {
                throw Violation(reason: "keyspace id \(record.id) reused after it was dropped")
            }
            live[record.id] = Entry(record: record, files: emptyFiles())
            maxKeyspaceId = Swift.max(maxKeyspaceId, record.id)
        }
        for id in edit.droppedKeyspaces {
            guard id != 0 else { throw Violation(reason: "an edit drops the default keyspace") }
            guard let dropped = live.removeValue(forKey: id) else {
                throw Violation(reason: "an edit drops keyspace \(id), which is not live")
            }
            self.dropped[id] = DroppedKeyspace(record: dropped.record, droppedLogNumber: dropped.logNumber)
        }
        for (id, logNumber) in edit.keyspaceLogNumbers {
            guard var entry = live[id] else {
                throw Violation(reason: "an edit sets the log number of keyspace \(id), which is not live")
            }
            if monotonicLogNumbers, let old = entry.logNumber, logNumber < old {
                throw Violation(reason: "keyspace \(id) log number moves back from \(old) to \(logNumber)")
            }
            entry.logNumber = logNumber
            live[id] = entry
        }
        guard edit.changesFiles else { return }
        guard var entry = live[edit.keyspaceId] else {
            throw Violation(reason: "an edit changes the tables of keyspace \(edit.keyspaceId), which is not live")
        }
        // Moved out while it is changed, so a builder is not copied.
        live[edit.keyspaceId] = nil
        defer { live[edit.keyspaceId] = entry }
        try applyFiles(&entry.files)
        for (level, key) in edit.compactPointers { entry.compactPointers[level] = key }
    }

    /// Every keyspace without a log number of its own takes `logNumber`
    /// (replay of a format-4 MANIFEST, whose database log number was the
    /// default keyspace's).
    mutating func fillLogNumbers(_ logNumber: UInt64) {
        for id in live.keys where live[id]?.logNumber == nil { live[id]?.logNumber = logNumber }
    }

    /// The database's log number: the smallest keyspace log number (WAL
    /// files below it hold nothing any live keyspace still needs).
    var minLogNumber: UInt64? { live.values.compactMap(\.logNumber).min() }

    /// Stores the database's merge operator name in the default
    /// keyspace's record (the next snapshot writes it).
    mutating func recordMergeOperatorName(_ name: String) { live[0]?.record.mergeOperatorName = name }

    /// Replaces the dropped keyspaces (DroppedKeyspaces.retain).
    mutating func replaceDropped(_ kept: [UInt32: DroppedKeyspace]) { dropped = kept }

    func mapFiles<Other>(_ transform: (Files) -> Other) -> KeyspaceCatalog<Other> {
        var out = KeyspaceCatalog<Other>(entries: live.values.map {
            KeyspaceCatalog<Other>.Entry(record: $0.record, files: transform($0.files), logNumber: $0.logNumber,
                                         compactPointers: $0.compactPointers)
        }, maxKeyspaceId: maxKeyspaceId)
        out.dropped = dropped
        return out
    }

    subscript(id: UInt32) -> Entry? { live[id] }
}
