/// Decodes one WAL batch record (docs/FORMAT.md §WAL payload) into the
/// change feed's `Change` values: the header's first sequence and count,
/// then each operation with its keyspace id mapped to a name by `keyspace`;
/// the names of keyspaces with a ttl go to `stampedKeyspaces`.
/// Operation types: 0 delete, 1 put, 2 range deletion, 3 merge (default
/// keyspace); 4 put, 5 delete, 6 range deletion, 7 merge in the keyspace
/// whose varint id follows.
/// Everything is checked (sequences within 1...2^56-1 included): damage
/// is `DBError.corruption` naming the file and the record's offset; an id
/// `keyspace` does not know (a keyspace dropped before this open) is
/// `DBError.unknownKeyspace(name: "id N")`.
enum ChangeDecoding {
    static func decode(_ raw: UnsafeRawBufferPointer, path: String, recordOffset: Int,
                       keyspace: (UInt32) -> FeedKeyspace?) throws(DBError) -> CommittedBatch {
        var changes: [Change] = []
        var stamped: Set<String> = []
        var unknownId: UInt32?
        var first: UInt64 = 0
        do throws(DecodeError) {
            var reader = ByteReader(raw)
            first = try reader.readFixed64()
            let count = Int(try reader.readFixed32())
            // Sequences are 56 bits, from 1 (the feed and `apply` add to
            // them). A log kept for feeds is never replayed, so this is
            // where a damaged one is caught.
            guard first >= 1, first <= InternalKey.maxSequenceNumber,
                  UInt64(max(count, 1) - 1) <= InternalKey.maxSequenceNumber - first else {
                throw DecodeError(reason: "write batch sequence \(first) (+\(count)) lies outside "
                                  + "1...\(InternalKey.maxSequenceNumber)", offset: 0)
            }
            changes.reserveCapacity(min(count, 1 << 16))
            var lastId: UInt32 = 0
            var lastName = keyspace(0)?.name ?? KeyspaceName.defaultName
            while !reader.isAtEnd {
                let at = reader.position
                let tag = try reader.readByte()
                var id: UInt32 = 0
                if tag >= 4 && tag <= 7 {
                    let value = try reader.readVarint64()
                    guard value != 0, value <= UInt64(UInt32.max) else {
                        throw DecodeError(reason: "operation type \(tag) names keyspace \(value)", offset: at)
                    }
                    id = UInt32(value)
                } else if tag > 7 {
                    throw DecodeError(reason: "unknown write batch operation \(tag)", offset: at)
                }
                if id != lastId {
                    lastId = id
                    guard let found = keyspace(id) else {
                        unknownId = id
                        break
                    }
                    lastName = found.name
                    if found.stamped { stamped.insert(found.name) }
                }
                let key = Array(try reader.readLengthPrefixed())
                // 0/5 delete, 1/4 put, 2/6 range deletion, 3/7 merge.
                switch tag < 4 ? tag : [1, 0, 2, 3][Int(tag) - 4] {
                case 0:
                    changes.append(.delete(keyspace: lastName, key: key))
                case 1:
                    changes.append(.put(keyspace: lastName, key: key, value: Array(try reader.readLengthPrefixed())))
                case 2:
                    changes.append(.deleteRange(keyspace: lastName, from: key,
                                                to: Array(try reader.readLengthPrefixed())))
                default:
                    changes.append(.merge(keyspace: lastName, key: key,
                                          operand: Array(try reader.readLengthPrefixed())))
                }
            }
            if unknownId == nil {
                guard changes.count == count, count > 0 else {
                    throw DecodeError(reason: "write batch declares \(count) operations, holds \(changes.count)",
                                      offset: 8)
                }
            }
        } catch {
            throw DBError.corruption(path: path, offset: UInt64(recordOffset + LogRecord.headerSize + error.offset),
                                     reason: error.reason)
        }
        if let unknownId { throw DBError.unknownKeyspace(name: "id \(unknownId)") }
        return CommittedBatch(sequence: first, changes: changes, stampedKeyspaces: stamped)
    }
}

/// What a change feed knows of a keyspace id: its name, and whether its
/// values carry the TTL write time (`KeyspaceOptions.ttl`).
struct FeedKeyspace: Sendable {
    let name: String
    let stamped: Bool
}
