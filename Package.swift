// swift-tools-version: 6.1
import PackageDescription

// Layers (a lower layer never imports a higher one):
//   CLibURing / CLZ4 (system C libraries) -> CRingSupport (C shims)
//   -> RingIO (io_uring in Swift) -> RingKV (engine) -> executables.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "RingKV",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RingKV", targets: ["RingKV"]),
        .library(name: "RingIO", targets: ["RingIO"]),
        .executable(name: "kvctl", targets: ["kvctl"]),
        .executable(name: "kvbench", targets: ["kvbench"]),
        .executable(name: "iobench", targets: ["iobench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibURing",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .target(
            name: "CRingSupport",
            dependencies: ["CLibURing"],
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        .target(
            name: "RingIO",
            dependencies: ["CRingSupport"],
            swiftSettings: strict
        ),
        .target(
            name: "RingKV",
            dependencies: ["RingIO", "CRingSupport", "CLZ4"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "iobench",
            dependencies: ["RingIO", "CRingSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "kvctl",
            dependencies: ["RingKV", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        // kvbench's generators, runner and reports (a library so KVBenchTests can test them).
        .target(
            name: "KVBenchCore",
            dependencies: ["RingKV", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "kvbench",
            dependencies: ["KVBenchCore", "RingKV", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        // libFuzzer harness (tools/fuzz); a corpus replayer in normal builds.
        .executableTarget(name: "ringkv-fuzz", dependencies: ["RingKV"], swiftSettings: strict),
        // Child process of the crash tests and tools/crashloop.
        .executableTarget(name: "crashwriter", dependencies: ["RingKV"], swiftSettings: strict),
        // Helpers the test targets share (TempDir, seeds, byte strings).
        .target(name: "TestSupport", dependencies: ["RingIO"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "RingIOTests", dependencies: ["RingIO", "CRingSupport"], swiftSettings: strict),
        .testTarget(name: "RingKVTests", dependencies: ["RingKV", "RingIO", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KVBenchTests", dependencies: ["KVBenchCore", "RingKV", "RingIO", "TestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "KvctlTests", dependencies: ["RingKV", "RingIO", "TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
