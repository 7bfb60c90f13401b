// swift-tools-version: 6.1
import PackageDescription

// An HTTP key-value service on RingKV's async API (Hummingbird 2). Its own
// package: `swift build -c release` here; tools/test does not build it.
// Linux only, as RingKV itself (io_uring).
let package = Package(
    name: "KVServer",
    dependencies: [
        // Named: a path dependency is otherwise known by its folder name.
        .package(name: "RingKV", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "KVServer",
            dependencies: [
                .product(name: "RingKV", package: "RingKV"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
