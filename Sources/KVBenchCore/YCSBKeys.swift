/// YCSB's record keys: `"user"` + the decimal FNV-1a-64 hash of the record
/// number (CoreWorkload.buildKeyName with insertorder=hashed and the default
/// zeropadding of 1, i.e. no padding).
///
/// Record numbers are `Int64` because YCSB's are Java `long`s: the hash and
/// its sign handling below only match YCSB bit for bit with that type.
public enum YCSBKeys {
    /// FNV-1a 64-bit offset basis (0xCBF29CE484222325) as a Java long.
    public static let fnvOffsetBasis64 = Int64(bitPattern: 0xCBF2_9CE4_8422_2325)
    /// FNV 64-bit prime (1099511628211).
    public static let fnvPrime64: Int64 = 1_099_511_628_211

    /// YCSB's `Utils.fnvhash64`: FNV-1a over the 8 bytes of `value`, low
    /// byte first (arithmetic shift, as Java's `>>`), then `Math.abs` — which
    /// leaves `Int64.min` negative, as Java does.
    @inlinable
    public static func fnvhash64(_ value: Int64) -> Int64 {
        var hash = fnvOffsetBasis64
        var rest = value
        for _ in 0..<8 {
            let octet = rest & 0xff
            rest = rest >> 8
            hash ^= octet
            hash = hash &* fnvPrime64
        }
        return hash == .min ? hash : (hash < 0 ? -hash : hash)
    }

    /// The key of record `record`: "user" + decimal fnvhash64(record).
    public static func key(_ record: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendKey(record, to: &out)
        return out
    }

    /// The key as a `String` (tests, docs).
    public static func keyString(_ record: Int64) -> String {
        String(decoding: key(record), as: UTF8.self)
    }

    /// Replaces the contents of `key` with the key of `record`, keeping its
    /// capacity (the benchmark's per-operation key buffer).
    @inlinable
    public static func setKey(_ record: Int64, in key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        appendKey(record, to: &key)
    }

    /// Appends the key of `record` to `out` (digits written directly, no
    /// intermediate String).
    public static func appendKey(_ record: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: "user".utf8)
        let hash = fnvhash64(record)
        if hash < 0 { out.append(0x2D) }  // "-": only for Int64.min, as Long.toString
        // Magnitude as UInt64 so Int64.min does not overflow; digits are
        // written backwards into space appended up front.
        var magnitude = hash.magnitude
        var digitCount = 1
        var probe = magnitude / 10
        while probe > 0 { digitCount += 1; probe /= 10 }
        let first = out.count
        out.append(contentsOf: repeatElement(0x30, count: digitCount))
        var index = first + digitCount - 1
        repeat {
            out[index] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
            index -= 1
        } while magnitude > 0
    }
}
