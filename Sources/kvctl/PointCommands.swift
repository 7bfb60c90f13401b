import ArgumentParser
import RingKV

struct Put: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store VALUE under KEY.",
        discussion: """
            The value comes from the VALUE argument (escapes or --hex apply) or, raw and \
            unescaped, from --value-file. Values over 64 MiB are refused by the engine.

            Examples:
              kvctl --db /tmp/db --create put user1 'hello world'
              kvctl --db /tmp/db put 'tab\\tkey' 'line1\\nline2' --sync
              kvctl --db /tmp/db put 'bin\\x00\\xff' ''
              kvctl --db /tmp/db --hex put 00ff 68656c6c6f
              kvctl --db /tmp/db put photo --value-file photo.jpg
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: "The key (escaped, or hex with --hex).") var key: String
    @Argument(help: "The value (escaped, or hex with --hex).") var value: String?
    @Option(name: .customLong("value-file"),
            help: ArgumentHelp("Read the value's raw bytes from FILE (- for stdin).", valueName: "FILE"))
    var valueFile: String?
    @Flag(help: "Return only after the write-ahead log is fsynced (survives power loss).") var sync = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func validate() throws {
        if (value == nil) == (valueFile == nil) { throw ValidationError("give either VALUE or --value-file FILE") }
    }

    func run() throws {
        let keyBytes = try global.bytes(key, "KEY")
        let valueBytes: [UInt8]
        if let valueFile {
            valueBytes = try InputSource(path: valueFile).readAll()
        } else {
            valueBytes = try global.bytes(value ?? "", "VALUE")
        }
        let db = try global.openDatabase()
        try global.keyspace(keyspace, in: db).put(keyBytes, valueBytes, options: WriteOptions(sync: sync))
        try db.close()
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the value stored under KEY.",
        discussion: """
            Prints the value escaped (or hex with --hex) and a newline. When the key is absent, \
            prints "not found" on stderr and exits with status 1.

            Examples:
              kvctl --db /tmp/db get user1
              kvctl --db /tmp/db get 'bin\\x00\\xff'
              kvctl --db /tmp/db get photo --raw > photo.jpg
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: "The key (escaped, or hex with --hex).") var key: String
    @Flag(help: "Print the value's bytes exactly as stored: no escaping, no newline.") var raw = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let keyBytes = try global.bytes(key, "KEY")
        let db = try global.openDatabase(readOnly: true)
        let value = try global.keyspace(keyspace, in: db).get(keyBytes)
        try db.close()
        guard let value else {
            throw CLIError(message: "not found: \(global.text.render(keyBytes))", status: .notFound)
        }
        let out = StandardOutput()
        if raw {
            try out.write(value)
        } else {
            var line: [UInt8] = []
            global.text.append(value, to: &line)
            line.append(UInt8(ascii: "\n"))
            try out.write(line)
        }
        try out.flush()
    }
}

struct DeleteRange: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-range",
        abstract: "Delete every key from FROM (inclusive) to TO (exclusive) with one range tombstone.",
        discussion: """
            Writes one WAL record whatever the range holds; the space is reclaimed as \
            compaction reaches the range (kvctl compact reclaims it now). FROM equal to TO \
            deletes nothing; FROM after TO is an error.

            Examples:
              kvctl --db /tmp/db delete-range user1000 user2000
              kvctl --db /tmp/db --hex delete-range 00 ff --sync
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: "The first key deleted (escaped, or hex with --hex).") var from: String
    @Argument(help: "The end of the range, not deleted (escaped, or hex with --hex).") var to: String
    @Flag(help: "Return only after the write-ahead log is fsynced.") var sync = false
    @Flag(help: "Print how long the deleteRange call took (open and close excluded) on stderr.") var timing = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let fromBytes = try global.bytes(from, "FROM")
        let toBytes = try global.bytes(to, "TO")
        let db = try global.openDatabase()
        let target = try global.keyspace(keyspace, in: db)
        do {
            let clock = ContinuousClock()
            let elapsed = try clock.measure {
                try target.deleteRange(from: fromBytes, to: toBytes, options: WriteOptions(sync: sync))
            }
            if timing {
                let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
                StandardStreams.error("deleteRange took \(Int(micros.rounded())) µs")
            }
        } catch {
            try? db.close()
            throw error
        }
        try db.close()
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete KEY (deleting an absent key is not an error).",
        discussion: """
            Examples:
              kvctl --db /tmp/db delete user1
              kvctl --db /tmp/db --hex delete 00ff --sync
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: "The key (escaped, or hex with --hex).") var key: String
    @Flag(help: "Return only after the write-ahead log is fsynced.") var sync = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let keyBytes = try global.bytes(key, "KEY")
        let db = try global.openDatabase()
        try global.keyspace(keyspace, in: db).delete(keyBytes, options: WriteOptions(sync: sync))
        try db.close()
    }
}
