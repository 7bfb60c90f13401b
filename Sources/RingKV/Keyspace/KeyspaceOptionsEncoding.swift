/// The options blob of a keyspace's create record (docs/FORMAT.md
/// §Keyspace options): only the fields set are stored.
///
///     version  u8      1
///     present  varint  bit 0 memtableSizeBytes, 1 blockSizeBytes,
///                      2 compression, 3 bloomBitsPerKey, 4 prefixLength,
///                      5 ttl (nanoseconds)
///     then one varint per bit set, in bit order (compression: 0 or 1)
///     then extensions, to the end: varint tag ≥ 1, varint length, bytes
///         tag 1: the database's merge operator name (UTF-8, ≤ 255
///                bytes; only in the default keyspace's record)
///
/// Every field is one varint, so a reader skips the fields of bits it
/// does not know; it skips extensions of tags it does not know (builds
/// before extensions ignored every byte after the last field): a later
/// build may add either without a format bump.
enum KeyspaceOptionsEncoding {
    static let version: UInt8 = 1
    static let mergeOperatorNameTag: UInt64 = 1

    /// `options`, then the merge operator name extension when one is given.
    static func encode(_ options: KeyspaceOptions, mergeOperatorName: String? = nil) -> [UInt8] {
        var w = ByteWriter()
        w.bytes = encodeFields(options)
        if let mergeOperatorName {
            w.appendVarint(mergeOperatorNameTag)
            w.appendLengthPrefixed(Array(mergeOperatorName.utf8))
        }
        return w.bytes
    }

    /// Decodes the options and the merge operator name (nil: none stored).
    static func decodeRecord(_ raw: UnsafeRawBufferPointer)
        throws(DecodeError) -> (options: KeyspaceOptions, mergeOperatorName: String?) {
        var r = ByteReader(raw)
        let options = try decodeFields(&r)
        var name: String?
        while !r.isAtEnd {
            let at = r.position
            let tag = try r.readVarint64()
            let body = try r.readLengthPrefixed(limit: 1 << 16)
            switch tag {
            case 0: throw DecodeError(reason: "keyspace options extension tag 0", offset: at)
            case mergeOperatorNameTag:
                guard name == nil else { throw DecodeError(reason: "merge operator name stored twice", offset: at) }
                let bytes = Array(body)
                guard bytes.count <= MergeOperatorName.maxBytes, let text = String(validating: bytes, as: UTF8.self)
                else {
                    throw DecodeError(reason: "merge operator name of \(bytes.count) bytes is not 0–"
                                      + "\(MergeOperatorName.maxBytes) bytes of UTF-8", offset: at)
                }
                name = text
            default: continue  // an extension of a later build: skipped
            }
        }
        return (options, name)
    }

    private static func encodeFields(_ options: KeyspaceOptions) -> [UInt8] {
        var fields: [UInt64] = []
        var present: UInt64 = 0
        func add(_ bit: Int, _ value: UInt64?) {
            guard let value else { return }
            present |= 1 << UInt64(bit)
            fields.append(value)
        }
        add(0, options.memtableSizeBytes.map { UInt64($0) })
        add(1, options.blockSizeBytes.map { UInt64($0) })
        add(2, options.compression.map { $0 ? 1 : 0 })
        add(3, options.bloomBitsPerKey.map { UInt64($0) })
        add(4, options.prefixLength.map { UInt64($0) })
        add(5, options.ttl.map { TTLPolicy.nanos($0) })
        var w = ByteWriter(capacity: 2 + fields.count * 5)
        w.append(version)
        w.appendVarint(present)
        for value in fields { w.appendVarint(value) }
        return w.bytes
    }

    /// Decodes a stored blob; malformed bytes throw (the caller names the
    /// MANIFEST and offset). Values are range-checked as `validate` does
    /// (a ttl of 0 is refused).
    static func decode(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> KeyspaceOptions {
        try decodeRecord(raw).options
    }

    /// The version, `present` and its fields; `r` stops after the last one.
    private static func decodeFields(_ r: inout ByteReader) throws(DecodeError) -> KeyspaceOptions {
        let version = try r.readByte()
        guard version == KeyspaceOptionsEncoding.version else {
            throw DecodeError(reason: "keyspace options version \(version) (expected 1)", offset: 0)
        }
        let present = try r.readVarint64()
        var options = KeyspaceOptions()
        for bit in 0..<64 where present & (1 << UInt64(bit)) != 0 {
            let at = r.position
            let value = try r.readVarint64()
            func int(max: Int, min: Int = 0) throws(DecodeError) -> Int {
                guard value >= UInt64(min), value <= UInt64(max) else {
                    throw DecodeError(reason: "keyspace option \(bit) value \(value) out of range \(min)...\(max)",
                                      offset: at)
                }
                return Int(value)
            }
            switch bit {
            case 0: options.memtableSizeBytes = try int(max: KeyspaceOptions.maxMemtableSizeBytes, min: 1)
            case 1: options.blockSizeBytes = try int(max: Options.maxBlockSizeBytes, min: 1)
            case 2: options.compression = try int(max: 1) == 1
            case 3: options.bloomBitsPerKey = try int(max: KeyspaceOptions.maxBloomBitsPerKey)
            case 4: options.prefixLength = try int(max: Options.maxKeySizeBytes, min: 1)
            case 5: options.ttl = .nanoseconds(Int64(try int(max: Int(Int64.max), min: 1)))
            default: break  // a field of a later build: one varint, skipped
            }
        }
        return options
    }
}
