import ArgumentParser
import RingKV

/// `kvctl keyspace list|create|drop NAME`, and the `--keyspace NAME`
/// lookup the data commands share: a name goes to `DB.existingKeyspace`
/// (an unknown one is an error, never created) or, for `create`, to
/// `DB.keyspace`.
struct KeyspaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyspace",
        abstract: "List, create or drop keyspaces.",
        discussion: """
            Examples:
              kvctl --db /tmp/db keyspace list
              kvctl --db /tmp/db keyspace create users
              kvctl --db /tmp/db keyspace create sessions --ttl 3600
              kvctl --db /tmp/db --keyspace users put user1 'hello'
              kvctl --db /tmp/db keyspace drop users
            """,
        subcommands: [List.self, Create.self, Drop.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every keyspace's name, one a line (\"default\" first).")
        @ParentCommand var keyspace: KeyspaceCommand
        @ParentCommand var global: KVCtl

        func run() throws {
            let db = try global.openDatabase(readOnly: true)
            let names = db.keyspaceNames()
            try db.close()
            let out = StandardOutput()
            for name in names { try out.line(name) }
            try out.flush()
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create keyspace NAME (nothing happens when it exists).")
        @ParentCommand var keyspace: KeyspaceCommand
        @ParentCommand var global: KVCtl
        @Argument(help: "The keyspace's name (1-255 bytes of UTF-8).") var name: String
        @Option(help: "Time to live in seconds: older values are never read and compaction removes them.")
        var ttl: Int64?

        func run() throws {
            let db = try global.openDatabase()
            let options = ttl.map { KeyspaceOptions(ttl: .seconds($0)) }
            do { _ = try db.keyspace(name, options: options) } catch { try? db.close(); throw error }
            try db.close()
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop keyspace NAME and its data (\"default\" cannot be dropped).")
        @ParentCommand var keyspace: KeyspaceCommand
        @ParentCommand var global: KVCtl
        @Argument(help: "The keyspace's name.") var name: String

        func run() throws {
            let db = try global.openDatabase()
            do {
                _ = try db.existingKeyspace(name)
                try db.dropKeyspace(name)
            } catch {
                try? db.close()
                throw error
            }
            try db.close()
        }
    }
}

extension KVCtl {
    /// The keyspace a data command acts on: --keyspace NAME, or "default".
    /// An unknown name throws `DBError.unknownKeyspace` (after closing `db`):
    /// neither reads nor writes create one (`keyspace create` does).
    func keyspace(_ name: String?, in db: DB) throws -> Keyspace {
        do {
            return try db.existingKeyspace(name ?? "default")
        } catch {
            try? db.close()
            throw error
        }
    }
}
