import Glibc
import Hummingbird
import RingKV

/// `KVServer --db PATH [--port 8080] [--mode async|sync] [--pool-threads 8]
///  [--direct-reads] [--cache-mb 64] [--retain-mb 1024]
///  [--replica-of http://HOST:PORT --bootstrap DIR]`
///
/// A primary (the default) serves reads, writes and its change feed
/// (ReplicationRoutes); with `--replica-of` the server is a replica: if
/// PATH does not exist it is restored from a backup the primary writes to
/// DIR, then opened with `Options.replica` and kept up to date by a
/// ReplicaFollower; it serves the reads, `/sequence`, `/digest` and `/lag`.
///
/// Routes (keys are path segments, values raw bytes):
/// - `GET /kv/:key` → 200 and the value, or 404
/// - `PUT /kv/:key` with the value as body → 204
/// - `DELETE /kv/:key` → 204
/// - `GET /kv?from=&to=&limit=` → 200, one `key\tvalue` line per entry
///   (`to` exclusive; limit 100 by default, at most 10,000)
@main
struct KVServer {
    static func main() async throws {
        let config = try ServerConfig(arguments: Array(CommandLine.arguments.dropFirst()))
        var options = Options()
        options.createIfMissing = true
        options.directReads = config.directReads
        options.blockCacheSizeBytes = config.cacheMiB << 20
        options.changeRetentionBytes = config.retainMiB << 20
        var follower: ReplicaFollower?
        let lag = LagStats()
        if let primaryURL = config.replicaOf {
            let primary = try HTTPStreamClient.Endpoint(url: primaryURL)
            if access(config.dbPath, F_OK) != 0 {
                guard let backupDir = config.bootstrapDir else { throw ConfigError("a new replica needs --bootstrap DIR") }
                try await ReplicaFollower.bootstrap(path: config.dbPath, primary: primary, backupDir: backupDir)
            }
            options.createIfMissing = false
            options.replica = true
            follower = ReplicaFollower(db: try await DB(path: config.dbPath, options: options), primary: primary, lag: lag)
        }
        let db: DB
        if let follower { db = follower.db } else { db = try await DB(path: config.dbPath, options: options) }
        let store: any KVStore = config.mode == .async ? AsyncStore(db: db)
                                                         : PoolStore(db: db, threads: config.poolThreads)

        let router = Router()
        router.get("/kv/:key") { _, context -> Response in
            let key = Array(try context.parameters.require("key").utf8)
            guard let value = try await store.get(key) else { return Response(status: .notFound) }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value)))
        }
        ReplicationRoutes.addCommon(to: router, db: db)
        router.get("/lag") { _, _ -> String in lag.report() }
        router.delete("/lag") { _, _ -> HTTPResponse.Status in lag.reset(); return .noContent }
        if follower == nil { ReplicationRoutes.addPrimary(to: router, db: db) }
        let isReplica = follower != nil
        router.put("/kv/:key") { request, context -> HTTPResponse.Status in
            if isReplica { throw HTTPError(.forbidden, message: "read-only replica\n") }
            let key = Array(try context.parameters.require("key").utf8)
            let body = try await request.body.collect(upTo: config.maxValueBytes)
            try await store.put(key, Array(buffer: body))
            return .noContent
        }
        router.delete("/kv/:key") { _, context -> HTTPResponse.Status in
            if isReplica { throw HTTPError(.forbidden, message: "read-only replica\n") }
            try await store.delete(Array(try context.parameters.require("key").utf8))
            return .noContent
        }
        router.get("/kv") { request, _ -> Response in
            let query = request.uri.queryParameters
            let from = query["from"].map { Array($0.utf8) } ?? []
            let to = query["to"].map { Array($0.utf8) }
            let limit = min(query["limit"].flatMap { Int($0) } ?? 100, 10_000)
            var out = ByteBuffer()
            for row in try await store.scan(from: from, to: to, limit: limit) {
                out.writeBytes(row.key)
                out.writeInteger(UInt8(ascii: "\t"))
                out.writeBytes(row.value)
                out.writeInteger(UInt8(ascii: "\n"))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: out))
        }

        let app = Application(router: router,
                              configuration: .init(address: .hostname("127.0.0.1", port: config.port)))
        say("KVServer: \(follower == nil ? "primary" : "replica"), \(config.mode) API on "
              + "127.0.0.1:\(config.port), database \(config.dbPath)")
        let following = follower.map { follower in Task { await follower.run() } }
        try await app.runService()
        following?.cancel()
        try await db.close()
    }
}

/// Command-line flags (no argument-parser dependency for nine flags).
struct ServerConfig {
    enum Mode: String { case async, sync }

    var dbPath = ""
    var port = 8080
    var mode = Mode.async
    var poolThreads = 8
    var directReads = false
    var cacheMiB = 64
    /// Primary: how much obsolete WAL to keep for feeds (changeRetentionBytes).
    var retainMiB = 1024
    var replicaOf: String?
    var bootstrapDir: String?
    let maxValueBytes = 16 << 20

    init(arguments: [String]) throws {
        var args = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = args.popFirst() else { throw ConfigError("\(flag) needs a value") }
            return v
        }
        while let flag = args.popFirst() {
            switch flag {
            case "--db": dbPath = try value(flag)
            case "--port": port = Int(try value(flag)) ?? port
            case "--mode":
                guard let m = Mode(rawValue: try value(flag)) else { throw ConfigError("--mode async|sync") }
                mode = m
            case "--pool-threads": poolThreads = max(1, Int(try value(flag)) ?? poolThreads)
            case "--direct-reads": directReads = true
            case "--cache-mb": cacheMiB = max(0, Int(try value(flag)) ?? cacheMiB)
            case "--retain-mb": retainMiB = max(0, Int(try value(flag)) ?? retainMiB)
            case "--replica-of": replicaOf = try value(flag)
            case "--bootstrap": bootstrapDir = try value(flag)
            default: throw ConfigError("unknown flag \(flag)")
            }
        }
        if dbPath.isEmpty { throw ConfigError("usage: KVServer --db PATH [--port N] [--mode async|sync] "
                                              + "[--pool-threads N] [--direct-reads] [--cache-mb N] [--retain-mb N] "
                                              + "[--replica-of http://HOST:PORT --bootstrap DIR]") }
    }
}

struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints a line and flushes it, so it reaches a redirected stdout at once.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
