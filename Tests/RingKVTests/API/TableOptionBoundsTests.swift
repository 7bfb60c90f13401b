import RingIO
import Testing
@testable import RingKV

/// Options that reach the table builder (block size, bloom bits) are
/// refused with `DBError.invalidOption` wherever a user can hand them in —
/// at open and by `TableFileWriter(databaseOptions:)` — instead of trapping
/// later in `TableBuilder` or `BloomFilterBuilder`.
@Suite struct TableOptionBoundsTests {
    /// A bloomBitsPerKey so large that `keys × bits` overflows: the
    /// database's own value gets the keyspace option's upper bound.
    @Test func hugeBloomBitsPerKeyIsRefusedAtOpen() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.bloomBitsPerKey = Int.max
        #expect { try DB(path: dir.sub("db"), options: options) } throws: { error in
            guard case DBError.invalidOption(let name, _, _) = error else { return false }
            return name == "bloomBitsPerKey"
        }
        // The largest accepted value opens, and a flush builds its filter.
        options.bloomBitsPerKey = KeyspaceOptions.maxBloomBitsPerKey
        let db = try DB(path: dir.sub("db"), options: options)
        try db.put("k", "v")
        try db.flush()
        #expect(try db.get("k") == "v")
        try db.close()
    }

    @Test(arguments: ["blockSizeBytes", "bloomBitsPerKey"])
    func tableFileWriterRefusesInvalidDatabaseOptions(_ field: String) throws {
        let dir = try TempDir()
        var options = Options()
        switch field {
        case "blockSizeBytes": options.blockSizeBytes = 0
        default: options.bloomBitsPerKey = Int.max
        }
        let path = dir.sub("t.sst")
        #expect {
            let writer = try TableFileWriter(path: path, databaseOptions: options)
            for i in 0..<100 { try writer.add(Array("key\(1000 + i)".utf8), [UInt8](repeating: 1, count: 100)) }
            try writer.finish()
        } throws: { error in
            guard case DBError.invalidOption(let name, _, _) = error else { return false }
            return name == field
        }
        #expect(!FileSystem.exists(path), "a refused writer creates no file")
    }
}
