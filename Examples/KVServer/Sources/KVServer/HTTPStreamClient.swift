import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client on SwiftNIO for the replica: one request per
/// connection, the response body handed over part by part as it arrives
/// (NIOHTTP1 undoes the chunked encoding of a streamed response).
///
/// Data flow: connect, write the request head (and body), then for every
/// body part call `onBody`; return the status when the response ends or
/// throw when the connection drops.
enum HTTPStreamClient {
    struct Endpoint: Sendable {
        let host: String
        let port: Int

        /// `http://host:port` (a trailing slash allowed).
        init(url: String) throws {
            var rest = Substring(url)
            if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
            while rest.hasSuffix("/") { rest = rest.dropLast() }
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else {
                throw ConfigError("--replica-of needs http://host:port, got \(url)")
            }
            host = String(rest[..<colon])
            self.port = port
        }
    }

    struct StatusError: Error, CustomStringConvertible {
        let status: HTTPResponseStatus
        let body: String
        var description: String { "HTTP \(status.code): \(body)" }
    }

    /// Sends `method uri`; for a 2xx answer calls `onBody` with each part of
    /// the body; otherwise throws StatusError with the body as text.
    static func request(_ endpoint: Endpoint, method: HTTPMethod, uri: String,
                        onBody: (ByteBuffer) async throws -> Void) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
            head.headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
            head.headers.add(name: "Content-Length", value: "0")
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var status = HTTPResponseStatus.ok
            var errorBody = ""
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = response.status
                case .body(let bytes):
                    if (200..<300).contains(status.code) {
                        try await onBody(bytes)
                    } else {
                        errorBody += String(buffer: bytes)
                    }
                case .end:
                    if !(200..<300).contains(status.code) { throw StatusError(status: status, body: errorBody) }
                    return
                }
            }
            throw StatusError(status: .badGateway, body: "connection closed before the response ended")
        }
    }

    /// The whole body of a short answer, as text.
    static func text(_ endpoint: Endpoint, method: HTTPMethod, uri: String) async throws -> String {
        var text = ""
        try await request(endpoint, method: method, uri: uri) { text += String(buffer: $0) }
        return text
    }
}
