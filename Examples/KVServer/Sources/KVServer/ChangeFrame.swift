import NIOCore
import RingKV

/// The wire format of `GET /changes?since=N`: one frame per committed batch
/// of the primary, binary safe, all integers little-endian.
///
///     frame   = u32 payloadBytes, payload
///     payload = u64 sequence (of the batch's first change)
///               u64 sentUnixNanos (wall clock when the primary sent it)
///               u32 changeCount, change × changeCount
///     change  = u8 op (0 put, 1 delete, 2 deleteRange, 3 merge; plus 0x80
///                      when the keyspace has a ttl on the primary:
///                      `CommittedBatch.stampedKeyspaces`)
///               u32 keyspaceBytes, keyspace (UTF-8)
///               u32 keyBytes, key            (deleteRange: from)
///               u32 valueBytes, value        (put: value, deleteRange: to,
///                                             merge: operand; absent for delete)
///
/// The sender encodes with `append`; the receiver feeds whatever bytes
/// arrived to `ChangeFrameDecoder.next`, which returns whole frames and
/// keeps a partial one for the next call.
enum ChangeFrame {
    /// A frame larger than this is refused as corrupt (a batch is at most
    /// the engine's batch limit, far below).
    static let maxPayloadBytes = 512 << 20
    /// Set in a change's op when its keyspace has a ttl on the primary.
    static let stampedFlag: UInt8 = 0x80

    static func append(_ batch: CommittedBatch, sentUnixNanos: UInt64, to out: inout ByteBuffer) {
        let lengthAt = out.writerIndex
        out.writeInteger(UInt32(0), endianness: .little)
        out.writeInteger(batch.sequence, endianness: .little)
        out.writeInteger(sentUnixNanos, endianness: .little)
        out.writeInteger(UInt32(batch.changes.count), endianness: .little)
        for change in batch.changes {
            let stamped: UInt8 = batch.stampedKeyspaces.contains(change.keyspace) ? stampedFlag : 0
            switch change {
            case .put(let keyspace, let key, let value):
                write(0 | stamped, keyspace, key, value, to: &out)
            case .delete(let keyspace, let key):
                write(1 | stamped, keyspace, key, nil, to: &out)
            case .deleteRange(let keyspace, let from, let to):
                write(2 | stamped, keyspace, from, to, to: &out)
            case .merge(let keyspace, let key, let operand):
                write(3 | stamped, keyspace, key, operand, to: &out)
            }
        }
        out.setInteger(UInt32(out.writerIndex - lengthAt - 4), at: lengthAt, endianness: .little)
    }

    private static func write(_ op: UInt8, _ keyspace: String, _ key: [UInt8], _ value: [UInt8]?,
                              to out: inout ByteBuffer) {
        out.writeInteger(op)
        out.writeInteger(UInt32(keyspace.utf8.count), endianness: .little)
        out.writeString(keyspace)
        out.writeInteger(UInt32(key.count), endianness: .little)
        out.writeBytes(key)
        if let value {
            out.writeInteger(UInt32(value.count), endianness: .little)
            out.writeBytes(value)
        }
    }
}

/// One decoded frame.
struct ReceivedBatch: Sendable {
    let batch: CommittedBatch
    let sentUnixNanos: UInt64
}

struct ChangeFrameError: Error, CustomStringConvertible {
    let description: String
}

/// Reassembles frames from the bytes of the stream, in any split.
struct ChangeFrameDecoder {
    private var pending = ByteBuffer()

    /// Appends `bytes`, returns every whole frame now available, in order.
    /// A malformed frame throws (the caller drops the connection).
    mutating func next(_ bytes: ByteBuffer) throws(ChangeFrameError) -> [ReceivedBatch] {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        var out: [ReceivedBatch] = []
        while let length = pending.getInteger(at: pending.readerIndex, endianness: .little, as: UInt32.self) {
            guard Int(length) <= ChangeFrame.maxPayloadBytes else {
                throw ChangeFrameError(description: "frame of \(length) bytes")
            }
            guard pending.readableBytes >= 4 + Int(length) else { break }
            pending.moveReaderIndex(forwardBy: 4)
            guard var payload = pending.readSlice(length: Int(length)) else { break }
            out.append(try Self.decode(&payload))
        }
        pending.discardReadBytes()
        return out
    }

    private static func decode(_ payload: inout ByteBuffer) throws(ChangeFrameError) -> ReceivedBatch {
        guard let sequence = payload.readInteger(endianness: .little, as: UInt64.self),
              let sent = payload.readInteger(endianness: .little, as: UInt64.self),
              let count = payload.readInteger(endianness: .little, as: UInt32.self)
        else { throw ChangeFrameError(description: "short frame header") }
        var changes: [Change] = []
        var stamped: Set<String> = []
        changes.reserveCapacity(Int(min(count, 1 << 16)))
        for _ in 0..<count {
            guard let flaggedOp = payload.readInteger(as: UInt8.self), flaggedOp & ~ChangeFrame.stampedFlag <= 3,
                  let keyspace = bytes(&payload), let key = bytes(&payload)
            else { throw ChangeFrameError(description: "bad change in batch at sequence \(sequence)") }
            let op = flaggedOp & ~ChangeFrame.stampedFlag
            let name = String(decoding: keyspace, as: UTF8.self)
            if flaggedOp & ChangeFrame.stampedFlag != 0 { stamped.insert(name) }
            if op == 1 {
                changes.append(.delete(keyspace: name, key: key))
                continue
            }
            guard let value = bytes(&payload) else {
                throw ChangeFrameError(description: "short change in batch at sequence \(sequence)")
            }
            switch op {
            case 0: changes.append(.put(keyspace: name, key: key, value: value))
            case 2: changes.append(.deleteRange(keyspace: name, from: key, to: value))
            default: changes.append(.merge(keyspace: name, key: key, operand: value))
            }
        }
        guard payload.readableBytes == 0 else {
            throw ChangeFrameError(description: "\(payload.readableBytes) stray bytes after batch \(sequence)")
        }
        return ReceivedBatch(batch: CommittedBatch(sequence: sequence, changes: changes, stampedKeyspaces: stamped),
                             sentUnixNanos: sent)
    }

    private static func bytes(_ payload: inout ByteBuffer) -> [UInt8]? {
        guard let count = payload.readInteger(endianness: .little, as: UInt32.self) else { return nil }
        return payload.readBytes(length: Int(count))
    }
}
