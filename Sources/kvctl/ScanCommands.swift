import ArgumentParser
import RingKV

/// Writes `key<TAB>value` (or `key`) lines for every pair the iterator
/// yields in [start, end) with the prefix, in key order or (`reverse`)
/// descending, streaming: one pair in memory at a time, output flushed
/// every 64 KiB. The range and prefix become the iterator's bounds, so no
/// block outside them is read in either direction.
struct PairPrinter {
    let text: ByteText
    let keysOnly: Bool
    var reverse = false

    /// Returns the number of lines written.
    @discardableResult
    func run(_ db: Keyspace, from: [UInt8]?, to: [UInt8]?, prefix: [UInt8]?, limit: Int?) throws -> Int {
        let out = StandardOutput()
        var options = ReadOptions()
        options.lowerBound = from
        if let prefix, options.lowerBound.map({ lexicographicallyPrecedes($0, prefix) }) ?? true {
            options.lowerBound = prefix
        }
        options.upperBound = to
        if let prefix, let end = ReadOptions.prefixEnd(prefix),
           options.upperBound.map({ lexicographicallyPrecedes(end, $0) }) ?? true {
            options.upperBound = end
        }
        let it = try db.makeIterator(options: options)
        if reverse { try it.seekToLast() } else { try it.seekToFirst() }
        var count = 0
        var line: [UInt8] = []
        while it.isValid {
            if let limit, count >= limit { break }
            let key = it.key
            if let prefix, !key.starts(with: prefix) { break }
            line.removeAll(keepingCapacity: true)
            text.append(key, to: &line)
            if !keysOnly {
                line.append(UInt8(ascii: "\t"))
                text.append(it.value, to: &line)
            }
            line.append(UInt8(ascii: "\n"))
            try out.write(line)
            count += 1
            if reverse { try it.prev() } else { try it.next() }
        }
        try out.flush()
        return count
    }

    private func lexicographicallyPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print key<TAB>value lines in key order.",
        discussion: """
            Streams through the database iterator (the result is never held in memory). \
            --from is inclusive, --to exclusive; with --prefix only keys starting with it. \
            --reverse prints the same range in descending key order (from the last key \
            below --to down to --from; --limit then keeps the last N keys of the range).

            Examples:
              kvctl --db /tmp/db scan
              kvctl --db /tmp/db scan --from user100 --to user200 --limit 50
              kvctl --db /tmp/db scan --prefix 'user' --keys-only
              kvctl --db /tmp/db scan --reverse --to user200 --limit 10
              kvctl --db /tmp/db --hex scan --prefix 00
              kvctl --db /tmp/db scan --keyspace users --prefix u
            """)

    @ParentCommand var global: KVCtl
    @Option(help: ArgumentHelp("First key (inclusive).", valueName: "K")) var from: String?
    @Option(help: ArgumentHelp("Stop before this key (exclusive).", valueName: "K")) var to: String?
    @Option(help: ArgumentHelp("Only keys starting with P.", valueName: "P")) var prefix: String?
    @Option(help: ArgumentHelp("At most N lines.", valueName: "N")) var limit: Int?
    @Flag(name: .customLong("keys-only"), help: "Print keys only.") var keysOnly = false
    @Flag(help: "Descending key order.") var reverse = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be >= 0") }
    }

    func run() throws {
        let fromBytes = try from.map { try global.bytes($0, "--from") }
        let toBytes = try to.map { try global.bytes($0, "--to") }
        let prefixBytes = try prefix.map { try global.bytes($0, "--prefix") }
        let db = try global.openDatabase(readOnly: true)
        try PairPrinter(text: global.text, keysOnly: keysOnly, reverse: reverse)
            .run(global.keyspace(keyspace, in: db), from: fromBytes, to: toBytes, prefix: prefixBytes, limit: limit)
        try db.close()
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every key<TAB>value line (the input format of load).",
        discussion: """
            `export | load` into a fresh database gives an identical database, binary keys \
            included (use the same --hex setting on both sides).

            Examples:
              kvctl --db /tmp/db export > dump.tsv
              kvctl --db /tmp/db export --prefix user | kvctl --db /tmp/copy --create load -
              kvctl --db /tmp/db --hex export > dump.hex.tsv
              kvctl --db /tmp/db export --keyspace users > users.tsv
            """)

    @ParentCommand var global: KVCtl
    @Option(help: ArgumentHelp("Only keys starting with P.", valueName: "P")) var prefix: String?
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let prefixBytes = try prefix.map { try global.bytes($0, "--prefix") }
        let db = try global.openDatabase(readOnly: true)
        try PairPrinter(text: global.text, keysOnly: false).run(global.keyspace(keyspace, in: db), from: nil, to: nil, prefix: prefixBytes, limit: nil)
        try db.close()
    }
}
