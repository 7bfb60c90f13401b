import ArgumentParser
import RingKV

/// `kvctl merge KEY OPERAND`: one merge operand through `CounterMerge`.
/// Other commands read merged counters with the global `--counter-merge`
/// (without it they throw "holds merge operands but
/// Options.mergeOperator is not set": kvctl never assumes one; a database
/// written with another operator refuses --counter-merge at open).
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge OPERAND into KEY with the built-in CounterMerge (adds a signed 64-bit integer).",
        discussion: """
            OPERAND is a decimal Int64 (it may be negative), stored as 8 little-endian bytes. With \
            the global --hex, KEY and OPERAND are hex and OPERAND is the raw operand, which must be \
            8 bytes. Read counters with the global --counter-merge (get prints the merged 8 bytes; \
            --hex: as hex; `get --raw | od -t d8` for a number).

            Examples:
              kvctl --db /tmp/db --create merge hits:home 1
              kvctl --db /tmp/db merge balance:alice -- -250
              kvctl --db /tmp/db --hex merge 6b 0500000000000000
              kvctl --db /tmp/db --counter-merge --hex get 6b
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: "The key (escaped, or hex with --hex).") var key: String
    @Argument(help: "The amount to add (decimal Int64), or with --hex the raw operand in hex.") var operand: String
    @Flag(help: "Return only after the write-ahead log is fsynced (survives power loss).") var sync = false
    @Option(help: ArgumentHelp("Act on keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let keyBytes = try global.bytes(key, "KEY")
        let operandBytes: [UInt8]
        if global.hex {
            operandBytes = try global.bytes(operand, "OPERAND")
        } else {
            guard let n = Int64(operand) else {
                throw CLIError.usage("OPERAND \"\(operand)\" is not a decimal Int64 (use --hex for a raw operand)")
            }
            operandBytes = CounterMerge.operand(n)
        }
        let db = try global.openDatabase(counterMerge: true)
        do {
            try global.keyspace(keyspace, in: db).merge(keyBytes, operandBytes, options: WriteOptions(sync: sync))
        } catch {
            try? db.close()
            throw error
        }
        try db.close()
    }
}
