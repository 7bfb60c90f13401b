import Foundation
import Testing
@testable import RingKV

/// Keys and values as any `KeyValueBytes` (API/KeyValueBytes.swift,
/// DB+Bytes.swift): `[UInt8]`, `Data`, `String`, `Substring`, slices and
/// raw buffers, mixed freely in one call, name the same bytes — what one
/// type wrote, any other reads back.
@Suite struct KeyValueBytesTests {
    @Test func mixedKeyAndValueTypesRoundTrip() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let json = Array(#"{"name":"ada"}"#.utf8)
        try db.put("user:1", json)
        let asBytes: [UInt8]? = try db.get("user:1")
        #expect(asBytes == json)
        #expect(try db.get("user:1") == #"{"name":"ada"}"#, "a String key reads a String")
        #expect(try db.get(Array("user:1".utf8)) == json)
        #expect(try db.get(Data("user:1".utf8)) == json)

        try db.put(Data("k2".utf8), Data("v2".utf8))
        #expect(try db.get(Data("k2".utf8)) == Array("v2".utf8))
        #expect(try db.get("k2") == "v2")

        let line = "set user:3 three"
        let key = line.split(separator: " ")[1]  // a Substring
        try db.put(key, line.suffix(5))
        #expect(try db.get("user:3") == "three")
        #expect(try db.get(key) == Array("three".utf8))

        let buffer: [UInt8] = Array("xxk4yy".utf8)
        try db.put(buffer[2..<4], ContiguousArray("v4".utf8))  // ArraySlice key "k4"
        #expect(try db.get("k4") == "v4")
        try Array("k5".utf8).withUnsafeBytes { raw in try db.put(raw, "v5") }
        #expect(try db.get("k5") == "v5")

        // Non-ASCII text is its UTF-8 bytes; empty keys and values work.
        try db.put("ключ", "значение")
        #expect(try db.get(Array("ключ".utf8)) == Array("значение".utf8))
        try db.put("", Data())
        #expect(try db.get(Data()) == [])
        try db.close()
    }

    @Test func deletesRangesScansAndMultiGetTakeAnyKeyType() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for k in ["a", "b", "c", "d", "e"] { try db.put(k, Data("v\(k)".utf8)) }
        try db.delete(Data("b".utf8))
        try db.deleteRange(from: "c", to: Array("e".utf8))
        #expect(try db.multiGet(["a", "b", "c", "d", "e"]) == [bytes("va"), nil, nil, nil, bytes("ve")])
        #expect(try db.multiGet([Data("a".utf8), Data("e".utf8)]) == [bytes("va"), bytes("ve")])
        #expect(try db.scan(from: "a", to: "z").map(\.key) == [bytes("a"), bytes("e")])
        #expect(try db.scan(from: "b").map(\.key) == [bytes("e")])
        #expect(try db.withValue(forKey: "a") { $0.count } == 2)
        #expect(try db.withValue(forKey: Data("b".utf8)) { $0.count } == nil)
        // An empty range writes nothing; an inverted one names its keys.
        try db.deleteRange(from: "x", to: Data("x".utf8))
        #expect(throws: DBError.invalidRange(from: bytes("z"), to: bytes("a"))) {
            try db.deleteRange(from: "z", to: Data("a".utf8))
        }
        let it = try db.makeIterator()
        try it.seek(to: "b")
        #expect(it.isValid && it.key == bytes("e"))
        try it.seek(forPrev: Data("d".utf8))
        #expect(it.isValid && it.key == bytes("a"))
        try db.close()
    }

    @Test func aBatchTakesAnyKeyAndValueTypes() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        var batch = WriteBatch()
        batch.put("user:1", Data("one".utf8))
        batch.put(Data("user:2".utf8), "two")
        batch.put(bytes("user:3"), bytes("three"))
        batch.put("gone", "x")
        batch.delete("gone"[...])
        batch.deleteRange(from: "w", to: bytes("y"))
        try db.write(batch)
        #expect(try db.multiGet(["user:1", "user:2", "user:3", "gone"])
                == [bytes("one"), bytes("two"), bytes("three"), nil])
        // The same operations in [UInt8] form encode to the same bytes.
        var arrays = WriteBatch()
        arrays.put(bytes("user:1"), bytes("one"))
        arrays.put(bytes("user:2"), bytes("two"))
        arrays.put(bytes("user:3"), bytes("three"))
        arrays.put(bytes("gone"), bytes("x"))
        arrays.delete(bytes("gone"))
        arrays.deleteRange(from: bytes("w"), to: bytes("y"))
        #expect(batch.rep == arrays.rep)
        try db.close()
    }

    @Test func limitsHoldWhateverTheKeyType() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let long = String(repeating: "k", count: Options.maxKeySizeBytes + 1)
        #expect(throws: DBError.tooLarge(.key, sizeBytes: Options.maxKeySizeBytes + 1)) { try db.put(long, "v") }
        #expect(try db.get(long) == nil)
        try db.close()
    }

    /// A type of the caller's own conforms by lending its bytes.
    struct Name: KeyValueBytes {
        var text: String
        func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
            try ("name:" + text).withKeyValueBytes(body)
        }
    }

    @Test func aTypeOfTheCallersOwnConforms() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(Name(text: "ada"), "lovelace")
        #expect(try db.get("name:ada") == "lovelace")
        try db.close()
    }

    @Test func asyncCallsTakeAnyKeyType() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        try await db.put("user:1", Data("one".utf8))
        #expect(try await db.get(Data("user:1".utf8)) == bytes("one"))
        try await db.put("plain", "text")
        let text: String? = try await db.get("plain")
        #expect(text == "text")
        try await db.delete(Data("plain".utf8))
        #expect(try await db.multiGet(["user:1", "plain"]) == [bytes("one"), nil])
        try await db.deleteRange(from: "a", to: Data("z".utf8))
        #expect(try await db.get("user:1") == nil)
        try await db.close()
    }
}
