import Glibc
import NIOCore
import RingKV

/// The replica side: bootstrap from a backup of the primary, then follow
/// its `GET /changes` stream for ever.
///
/// Data flow: `bootstrap` asks the primary for a backup into a directory
/// both can read (`POST /backup?dir=`) and restores it into the replica's
/// path. `run` opens the stream at the replica's own `latestSequence`,
/// decodes frames from each part of the body as it arrives, applies all
/// frames of a part in one `apply` (one group commit), and records their
/// lag. When the connection drops (the primary was killed or restarted)
/// it reconnects from `latestSequence` again: what was applied is kept,
/// nothing is applied twice (`apply` refuses a batch that does not follow
/// `latestSequence`: the stream restarts right after it).
struct ReplicaFollower: Sendable {
    let db: DB
    let primary: HTTPStreamClient.Endpoint
    let lag: LagStats

    /// Restores a fresh backup of the primary into `path` (which must not exist).
    static func bootstrap(path: String, primary: HTTPStreamClient.Endpoint, backupDir: String) async throws {
        let answer = try await HTTPStreamClient.text(primary, method: .POST, uri: "/backup?dir=\(backupDir)")
        let fields = answer.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let id = UInt64(fields[0]), let sequence = UInt64(fields[1]) else {
            throw ConfigError("unexpected answer to POST /backup: \(answer)")
        }
        try DB.restore(from: backupDir, id: id, to: path)
        say("replica: restored backup \(id) (sequence \(sequence)) into \(path)")
    }

    func run() async {
        var lastError = ""
        while !Task.isCancelled {
            let since = db.latestSequence
            do {
                if lastError.isEmpty { say("replica: following \(primary.host):\(primary.port) from \(since)") }
                try await followOnce(since: since)
            } catch {
                // Said once per distinct error, not every 200 ms while the primary is down.
                let text = "\(error)"
                if text != lastError { say("replica: stream from \(since) ended: \(text); reconnecting") }
                lastError = text
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func followOnce(since: UInt64) async throws {
        var decoder = ChangeFrameDecoder()
        try await HTTPStreamClient.request(primary, method: .GET, uri: "/changes?since=\(since)") { bytes in
            let received = try decoder.next(bytes)
            if received.isEmpty { return }
            try await apply(received)
            lag.record(received, appliedUnixNanos: WallClock.unixNanos())
        }
    }

    /// Applies `received` in one call; a keyspace the replica lacks is
    /// created and the rest applied again (`apply` stops before the batch
    /// that named it).
    private func apply(_ received: [ReceivedBatch]) async throws {
        var commits = received.map(\.batch)
        while true {
            do {
                try await db.apply(commits)
                return
            } catch DBError.unknownKeyspace(let name) {
                _ = try await db.keyspace(name)
                let applied = db.latestSequence
                commits.removeAll { $0.sequence <= applied }
            }
        }
    }
}
