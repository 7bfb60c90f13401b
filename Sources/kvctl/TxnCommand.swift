import ArgumentParser
import RingKV

/// `kvctl txn`: lines of `get K`, `put K V`, `delete K` from stdin (or a
/// file), applied as ONE optimistic transaction (docs/TRANSACTIONS.md).
struct Txn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply lines of get/put/delete from stdin as one transaction.",
        discussion: """
            Each input line is `get KEY`, `put KEY VALUE` or `delete KEY` (words separated by \
            one space; KEY and VALUE escaped as in the other commands, or hex with --hex; a space \
            inside a key is written \\x20; VALUE is the rest of the line). Empty lines and lines \
            starting with # are skipped. Gets see the transaction's own earlier puts and deletes, \
            then the database as of the transaction's start; each prints the value (escaped) on \
            its own line, or "(not found)". All writes are committed atomically at the end of \
            the input. A bad line aborts the transaction (nothing written, exit 3). A conflict \
            (another writer committed a key it read or wrote after it began) writes nothing and \
            exits with status 5.

            Examples:
              printf 'get balance/a\\nput balance/a 90\\nput balance/b 110\\n' | kvctl --db /tmp/db txn
              kvctl --db /tmp/db txn --sync < script.txt
            """)

    @ParentCommand var global: KVCtl
    @Option(help: ArgumentHelp("Read the lines from FILE instead of stdin (- is stdin).", valueName: "FILE"))
    var file: String = "-"
    @Flag(help: "Commit only after the write-ahead log is fsynced (survives power loss).") var sync = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let db = try global.openDatabase()
        defer { try? db.close() }
        var ks: Keyspace?
        if let keyspace { ks = try global.keyspace(keyspace, in: db) }
        let txn = db.beginTransaction(options: WriteOptions(sync: sync))
        var reader = LineReader(try InputSource(path: file))
        var line: [UInt8] = []
        let out = StandardOutput()
        do {
            while try reader.next(into: &line) {
                try apply(line, number: reader.lineNumber, txn: txn, keyspace: ks, out: out)
            }
        } catch {
            txn.rollback()
            throw error
        }
        do {
            try txn.commit()
        } catch {
            guard case .conflict(let key) = error else { throw error }
            throw CLIError(message: "transaction conflict on key \(global.text.render(key)): another writer "
                           + "committed it after the transaction began; nothing was written", status: .conflict)
        }
    }

    /// Applies one input line to `txn`.
    private func apply(_ line: [UInt8], number: Int, txn: Transaction, keyspace ks: Keyspace?,
                       out: StandardOutput) throws {
        if line.isEmpty || line.first == UInt8(ascii: "#") { return }
        let (verbBytes, rest) = Self.split(line)
        let verb = String(decoding: verbBytes, as: UTF8.self)
        let place = "line \(number)"
        switch verb {
        case "get":
            let value = try txn.get(try parse(rest, "KEY", place), in: ks)
            var text: [UInt8] = []
            if let value { global.text.append(value, to: &text) } else { text = Array("(not found)".utf8) }
            text.append(UInt8(ascii: "\n"))
            try out.write(text)
        case "put":
            guard rest.contains(UInt8(ascii: " ")) else { throw CLIError.usage("\(place): put needs KEY and VALUE") }
            let (key, value) = Self.split(rest)
            try txn.put(try parse(key, "KEY", place), try parse(value, "VALUE", place), in: ks)
        case "delete":
            try txn.delete(try parse(rest, "KEY", place), in: ks)
        default:
            throw CLIError.usage("\(place): unknown operation \"\(verb)\" (use get, put or delete)")
        }
    }

    private func parse(_ text: [UInt8], _ what: String, _ place: String) throws -> [UInt8] {
        do {
            return try global.text.parse(text)
        } catch {
            throw CLIError.usage("\(place): bad \(what): \(error.reason) at byte \(error.position)")
        }
    }

    /// The line up to its first space, and the rest after it.
    static func split(_ line: [UInt8]) -> ([UInt8], [UInt8]) {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return (line, []) }
        return (Array(line[..<space]), Array(line[(space + 1)...]))
    }
}
