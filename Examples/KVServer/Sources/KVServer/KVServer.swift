import Hummingbird
import RingKV

/// `KVServer --db PATH [--port 8080] [--mode async|sync] [--pool-threads 8]
///  [--direct-reads] [--cache-mb 64]`
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
        let db = try await DB(path: config.dbPath, options: options)
        let store: any KVStore = config.mode == .async ? AsyncStore(db: db)
                                                         : PoolStore(db: db, threads: config.poolThreads)

        let router = Router()
        router.get("/kv/:key") { _, context -> Response in
            let key = Array(try context.parameters.require("key").utf8)
            guard let value = try await store.get(key) else { return Response(status: .notFound) }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value)))
        }
        router.put("/kv/:key") { request, context -> HTTPResponse.Status in
            let key = Array(try context.parameters.require("key").utf8)
            let body = try await request.body.collect(upTo: config.maxValueBytes)
            try await store.put(key, Array(buffer: body))
            return .noContent
        }
        router.delete("/kv/:key") { _, context -> HTTPResponse.Status in
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
        print("KVServer: \(config.mode) API on 127.0.0.1:\(config.port), database \(config.dbPath)")
        try await app.runService()
        try await db.close()
    }
}

/// Command-line flags (no argument-parser dependency for six flags).
struct ServerConfig {
    enum Mode: String { case async, sync }

    var dbPath = ""
    var port = 8080
    var mode = Mode.async
    var poolThreads = 8
    var directReads = false
    var cacheMiB = 64
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
            default: throw ConfigError("unknown flag \(flag)")
            }
        }
        if dbPath.isEmpty { throw ConfigError("usage: KVServer --db PATH [--port N] [--mode async|sync] "
                                              + "[--pool-threads N] [--direct-reads] [--cache-mb N]") }
    }
}

struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
