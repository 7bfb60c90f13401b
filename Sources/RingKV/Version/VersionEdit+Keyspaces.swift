/// The keyspace fields of a version edit (docs/FORMAT.md §Keyspaces,
/// tags 8–12), written after tags 1–7, in tag order:
///
///     8  keyspace           varint id (omitted for 0): the keyspace the
///                           edit's compactPointer/deletedFile/newFile
///                           fields belong to
///     9  createKeyspace     varint id, length-prefixed name (UTF-8),
///                           length-prefixed options blob
///     10 dropKeyspace       varint id
///     11 maxKeyspaceId      varint
///     12 keyspaceLogNumber  varint id, varint log number
extension VersionEdit {
    /// Whether any of tags 8–12 is set (a format-4 MANIFEST has none).
    var hasKeyspaceFields: Bool {
        keyspaceId != 0 || !createdKeyspaces.isEmpty || !droppedKeyspaces.isEmpty || maxKeyspaceId != nil
            || !keyspaceLogNumbers.isEmpty
    }

    func encodeKeyspaceFields(into w: inout ByteWriter) {
        if keyspaceId != 0 {
            w.appendVarint(Tag.keyspace.rawValue)
            w.appendVarint(UInt64(keyspaceId))
        }
        for record in createdKeyspaces {
            w.appendVarint(Tag.createKeyspace.rawValue)
            w.appendVarint(UInt64(record.id))
            w.appendLengthPrefixed(Array(record.name.utf8))
            w.appendLengthPrefixed(KeyspaceOptionsEncoding.encode(record.options,
                                                                  mergeOperatorName: record.mergeOperatorName))
        }
        for id in droppedKeyspaces {
            w.appendVarint(Tag.dropKeyspace.rawValue)
            w.appendVarint(UInt64(id))
        }
        if let maxKeyspaceId {
            w.appendVarint(Tag.maxKeyspaceId.rawValue)
            w.appendVarint(UInt64(maxKeyspaceId))
        }
        for (id, logNumber) in keyspaceLogNumbers {
            w.appendVarint(Tag.keyspaceLogNumber.rawValue)
            w.appendVarint(UInt64(id))
            w.appendVarint(logNumber)
        }
    }

    static func decodeKeyspaceField(_ tag: Tag, at tagOffset: Int, from r: inout ByteReader,
                                    into edit: inout VersionEdit) throws(DecodeError) {
        switch tag {
        case .keyspace:
            let id = try readKeyspaceId(&r)
            guard edit.keyspaceId == 0 else { throw DecodeError(reason: "field keyspace appears twice", offset: tagOffset) }
            guard id != 0 else { throw DecodeError(reason: "keyspace 0 is written as no keyspace field", offset: tagOffset) }
            edit.keyspaceId = id
        case .createKeyspace:
            let id = try readKeyspaceId(&r)
            let nameAt = r.position
            let nameBytes = Array(try r.readLengthPrefixed(limit: KeyspaceName.maxBytes + 1))
            if let problem = KeyspaceName.problem(nameBytes) {
                throw DecodeError(reason: "keyspace \(id) name: \(problem)", offset: nameAt)
            }
            let optionsAt = r.position
            let blob = try r.readLengthPrefixed(limit: 1 << 16)
            let decoded: (options: KeyspaceOptions, mergeOperatorName: String?)
            do { decoded = try KeyspaceOptionsEncoding.decodeRecord(blob) } catch {
                throw DecodeError(reason: "keyspace \(id) options: \(error.reason)", offset: optionsAt + error.offset)
            }
            guard id == 0 || decoded.mergeOperatorName == nil else {
                throw DecodeError(reason: "keyspace \(id) stores a merge operator name (only \"default\" does)",
                                  offset: optionsAt)
            }
            edit.createdKeyspaces.append(KeyspaceRecord(id: id, name: String(decoding: nameBytes, as: UTF8.self),
                                                        options: decoded.options,
                                                        mergeOperatorName: decoded.mergeOperatorName))
        case .dropKeyspace:
            edit.droppedKeyspaces.append(try readKeyspaceId(&r))
        case .maxKeyspaceId:
            let id = try readKeyspaceId(&r)
            guard edit.maxKeyspaceId == nil else {
                throw DecodeError(reason: "field maxKeyspaceId appears twice", offset: tagOffset)
            }
            edit.maxKeyspaceId = id
        case .keyspaceLogNumber:
            let id = try readKeyspaceId(&r)
            let logNumber = try r.readVarint64()
            guard !edit.keyspaceLogNumbers.contains(where: { $0.id == id }) else {
                throw DecodeError(reason: "log number of keyspace \(id) appears twice", offset: tagOffset)
            }
            edit.keyspaceLogNumbers.append((id, logNumber))
        default:
            preconditionFailure("not a keyspace tag: \(tag)")
        }
    }

    private static func readKeyspaceId(_ r: inout ByteReader) throws(DecodeError) -> UInt32 {
        let at = r.position
        let id = try r.readVarint64()
        guard id <= UInt64(UInt32.max) else { throw DecodeError(reason: "keyspace id \(id) exceeds 32 bits", offset: at) }
        return UInt32(id)
    }
}
