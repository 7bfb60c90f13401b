/// The merge operator a database was written with, by name
/// (`MergeOperator.name`), stored in the MANIFEST: the default keyspace's
/// create record carries it (docs/FORMAT.md §Keyspace options, extension
/// tag 1). Operands mean nothing without the operator that wrote them;
/// another one would combine them at compaction into wrong values, for
/// good.
///
/// At open (Recovery.read, before the WAL replay flushes anything): a
/// stored name and an `Options.mergeOperator` of another name → refused,
/// `DBError.invalidOption` naming both. A writing open with an operator
/// stores its name when none is (a new database, or one written before
/// names were stored); from then on it stays. An open without an operator
/// is never refused: reads of keys with operands throw
/// `DBError.mergeOperatorMissing`, flush and compaction copy operands.
/// Pebble does the same with the merger name its OPTIONS file records
/// ("merger name from file != merger name from options"; a file written
/// without one, "nullptr", takes any), and RocksDB's OPTIONS check lets a
/// database without an operator gain one (kByNameAllowFromNull).
enum MergeOperatorName {
    /// The longest name stored (UTF-8 bytes).
    static let maxBytes = 255

    /// Refuses `options.mergeOperator` when `stored` names another one, or
    /// when its name is too long to store.
    static func check(stored: String?, options: Options, path: String) throws(DBError) {
        guard let given = options.mergeOperator?.name else { return }
        guard given.utf8.count <= maxBytes else {
            throw DBError.invalidOption(name: "mergeOperator", value: "an operator named \(given.utf8.count) bytes long",
                                        allowed: "one whose name is at most \(maxBytes) UTF-8 bytes")
        }
        if let stored, stored != given {
            throw DBError.invalidOption(name: "mergeOperator", value: "\"\(given)\"",
                allowed: "\"\(stored)\", the operator \(path) was written with (its MANIFEST stores the name; "
                    + "operands combined by another operator would be wrong), or nil")
        }
    }

    /// Stores the name of `options.mergeOperator` in `catalog` when none
    /// is stored (a writing open; the new MANIFEST's snapshot writes it).
    static func record<Files>(_ options: Options, in catalog: inout KeyspaceCatalog<Files>) {
        guard let given = options.mergeOperator?.name, catalog[0]?.record.mergeOperatorName == nil else { return }
        catalog.recordMergeOperatorName(given)
    }
}
