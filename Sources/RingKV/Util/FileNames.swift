/// The files of a database directory (docs/FORMAT.md §Directory):
///   NNNNNN.log       write-ahead log
///   NNNNNN.sst       sorted table
///   MANIFEST-NNNNNN  version edit log
///   CURRENT          name of the live MANIFEST, one line
///   LOCK             flock target
///   NNNNNN.tmp       a file being written; never referenced
package enum FileKind: Equatable {
    case log, table, manifest, current, lock, temp
}

package enum FileNames {
    package static func log(_ dir: String, _ number: UInt64) -> String { "\(dir)/\(padded(number)).log" }
    package static func table(_ dir: String, _ number: UInt64) -> String { "\(dir)/\(padded(number)).sst" }
    static func manifest(_ dir: String, _ number: UInt64) -> String { "\(dir)/MANIFEST-\(padded(number))" }
    static func temp(_ dir: String, _ number: UInt64) -> String { "\(dir)/\(padded(number)).tmp" }
    package static func current(_ dir: String) -> String { "\(dir)/CURRENT" }
    package static func lock(_ dir: String) -> String { "\(dir)/LOCK" }

    static func padded(_ n: UInt64) -> String {
        let s = String(n)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }

    /// Classifies a directory entry; nil for names RingKV does not own.
    package static func parse(_ name: String) -> (kind: FileKind, number: UInt64)? {
        if name == "CURRENT" { return (.current, 0) }
        if name == "LOCK" { return (.lock, 0) }
        if name.hasPrefix("MANIFEST-"), let n = UInt64(name.dropFirst("MANIFEST-".count)) { return (.manifest, n) }
        guard let dot = name.lastIndex(of: "."), let n = UInt64(name[..<dot]) else { return nil }
        switch name[name.index(after: dot)...] {
        case "log": return (.log, n)
        case "sst": return (.table, n)
        case "tmp": return (.temp, n)
        default: return nil
        }
    }
}
