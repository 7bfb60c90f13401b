import Glibc
import Hummingbird
import NIOPosix
import RingKV
import ServiceLifecycle

/// The routes of replication (this example's README, section "Replication").
///
/// Primary: `GET /changes?since=N` streams the change feed from N as
/// ChangeFrame frames (it never ends by itself: it suspends on the feed
/// until the next group commit; the client hangs up); `POST /backup?dir=D`
/// writes an incremental backup of the database into D and answers
/// `id sequence`. Both sides: `GET /sequence` answers `latestSequence`;
/// `GET /digest` answers `entries hash sequence` over the default keyspace
/// (FNV-1a 64 of every key and value with their lengths, in key order), to
/// compare a replica with its primary.
enum ReplicationRoutes {
    static func addPrimary(to router: Router<BasicRequestContext>, db: DB) {
        router.get("/changes") { request, _ -> Response in
            guard let since = request.uri.queryParameters["since"].flatMap({ UInt64($0) }) else {
                throw HTTPError(.badRequest, message: "since=N needed")
            }
            // Refuse an unavailable `since` with a status before streaming.
            if since > db.latestSequence {
                throw HTTPError(.conflict, message: "since \(since) is ahead of \(db.latestSequence)")
            }
            // The feed never ends by itself: a graceful shutdown (SIGTERM,
            // SIGINT) cancels it, or the server would wait for it for ever.
            let frames = ChangeFrameStream(feed: db.changes(since: since)).cancelOnGracefulShutdown()
            let body = ResponseBody(asyncSequence: frames)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
        }
        router.post("/backup") { request, _ -> String in
            guard let dir = request.uri.queryParameters["dir"].map(String.init), !dir.isEmpty else {
                throw HTTPError(.badRequest, message: "dir=PATH needed")
            }
            let info = try await NIOThreadPool.singleton.runIfActive { try db.backup(to: dir) }
            return "\(info.id) \(info.sequence)\n"
        }
    }

    static func addCommon(to router: Router<BasicRequestContext>, db: DB) {
        router.get("/sequence") { _, _ -> String in "\(db.latestSequence)\n" }
        router.get("/digest") { _, _ -> String in
            try await NIOThreadPool.singleton.runIfActive {
                let snapshot = db.snapshot()
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                var entries = 0
                func mix(_ bytes: [UInt8]) {
                    for byte in withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes {
                        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
                    }
                }
                for row in try db.scan(options: ReadOptions(snapshot: snapshot)) {
                    mix(row.key)
                    mix(row.value)
                    entries += 1
                }
                return "\(entries) \(String(hash, radix: 16)) \(snapshot.sequence)\n"
            }
        }
    }
}

enum WallClock {
    static func unixNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The change feed as ChangeFrame frames, one buffer per committed batch,
/// stamped with the time it is sent.
struct ChangeFrameStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let feed: ChangeFeed

    func makeAsyncIterator() -> Iterator { Iterator(feed: feed.makeAsyncIterator()) }

    struct Iterator: AsyncIteratorProtocol {
        var feed: ChangeFeed.Iterator

        mutating func next() async throws -> ByteBuffer? {
            guard let batch = try await feed.next() else { return nil }
            var frame = ByteBuffer()
            ChangeFrame.append(batch, sentUnixNanos: WallClock.unixNanos(), to: &frame)
            return frame
        }
    }
}
