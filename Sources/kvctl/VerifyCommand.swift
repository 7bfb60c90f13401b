import ArgumentParser
import RingKV
import RingKVTools

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every checksum: CURRENT, MANIFEST records, SSTable blocks, WAL records.",
        discussion: """
            Reads, without changing anything and while holding the LOCK: CURRENT; every record of \
            the MANIFEST it names (replayed with full validation); every block of every table \
            (CRC, entry framing, key order, entry count, size recorded in the MANIFEST); every \
            record of the WAL files recovery would replay. Each damaged file is printed with its \
            path and the offset of the damage (DAMAGED). Bytes recovery drops or dropped are \
            printed as DROPPED: a torn WAL or MANIFEST tail (what a power loss leaves of unsynced \
            appends; the next open keeps the bytes under lost/ and drops them), and every file \
            under lost/ (bytes an earlier open dropped; delete the file once inspected).

            Exit status: 0 when clean, 2 when anything is damaged or dropped, 4 when a file could \
            not be read.

            Examples:
              kvctl --db /tmp/db verify
              kvctl --db /tmp/db verify || echo "damaged: restore from a backup"
            """)

    @ParentCommand var global: KVCtl

    func run() throws {
        let path = try global.databasePath()
        let report: VerifyReport
        do { report = try DatabaseTools.verify(dbPath: path) } catch let e as DBError { throw CLIError(e) }
        let out = StandardOutput()
        for file in report.checked {
            try out.line("ok       \(pad(baseName(file.path), 18)) \(file.detail)")
        }
        for problem in report.problems {
            let label = problem.isDropped ? "DROPPED  " : problem.isCorruption ? "DAMAGED  " : "ERROR    "
            try out.line(label + problem.description)
        }
        for note in report.notes {
            try out.line("note     " + note)
        }
        try out.flush()
        if report.isClean {
            try out.line("verify: no damage found in \(report.checked.count) files of \(path)")
            try out.flush()
            return
        }
        let count = report.problems.count
        let what = count == 1 ? "1 problem" : "\(count) problems"
        throw CLIError(message: "verify found \(what) in \(path) (listed on stdout)",
                       status: report.hasCorruption ? .corruption : .failure)
    }

    private func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
