// swift-tools-version: 6.1
import PackageDescription

// Layers (a lower layer never imports a higher one):
//   CLibURing / CLZ4 (system C libraries) -> CRingSupport (C shims)
//   -> RingIO (io_uring in Swift) -> RingKV (engine) -> executables.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

// Linux only: the engine's disk I/O is io_uring (liburing, Linux 5.6+,
// O_DIRECT, fdatasync), which macOS and the other Apple platforms do not
// have, so no `platforms:` entry is declared — SwiftPM's platform list
// names minimum Apple OS versions, and none of them builds this package.
let package = Package(
    name: "RingKV",
    products: [
        .library(name: "RingKV", targets: ["RingKV"]),
        .library(name: "RingIO", targets: ["RingIO"]),
        // Entry points for the micro-benchmarks in Benchmarks/ (a package of
        // its own, so it needs a product); not part of the engine's API.
        .library(name: "RingKVBenchmarkSupport", targets: ["RingKVBenchmarkSupport"]),
        .executable(name: "kvctl", targets: ["kvctl"]),
        .executable(name: "kvbench", targets: ["kvbench"]),
        .executable(name: "iobench", targets: ["iobench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        // `swift package generate-documentation --target RingKV` (DocC); a
        // plugin only, nothing of it is linked into the library.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
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
        // No unsafe flags anywhere: SwiftPM refuses them in a dependency
        // taken by version. The CRC32C code asks for SSE4.2 per function
        // (`__attribute__((target("sse4.2")))`) behind a runtime CPU check.
        .target(
            name: "CRingSupport",
            dependencies: ["CLibURing"]
        ),
        .target(
            name: "RingIO",
            dependencies: ["CRingSupport"],
            swiftSettings: strict
        ),
        .target(
            name: "RingKV",
            dependencies: [
                "RingIO", "CRingSupport", "CLZ4",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "iobench",
            dependencies: ["RingIO", "CRingSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        // Read-only inspection behind kvctl (WAL/table dumps, verify,
        // summaries): a target of its own, so `import RingKV` shows only the
        // engine. It reads engine internals through `package` access.
        .target(name: "RingKVTools", dependencies: ["RingKV", "RingIO"], swiftSettings: strict),
        // The micro-benchmarks' entry points into engine components.
        .target(name: "RingKVBenchmarkSupport", dependencies: ["RingKV", "RingIO"], swiftSettings: strict),
        // The decoders the fuzz harness and the corpus replay test drive.
        .target(name: "RingKVFuzzTargets", dependencies: ["RingKV"], swiftSettings: strict),
        .executableTarget(
            name: "kvctl",
            dependencies: [
                "RingKV", "RingKVTools", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
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
            dependencies: ["KVBenchCore", "RingKV", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // libFuzzer harness (tools/fuzz); a corpus replayer in normal builds.
        .executableTarget(name: "ringkv-fuzz", dependencies: ["RingKVFuzzTargets"], swiftSettings: strict),
        // Child process of the crash tests and tools/crashloop.
        .executableTarget(name: "crashwriter", dependencies: ["RingKV", "CRingSupport"], swiftSettings: strict),
        // Replica apply rate against the primary's load rate (docs/REPLICATION.md).
        .executableTarget(name: "replbench", dependencies: ["RingKV", "KVBenchCore"], swiftSettings: strict),
        // Child process of the replica kill -9 test (ReplicaCrashTests).
        .executableTarget(name: "replicacrash", dependencies: ["RingKV"], swiftSettings: strict),
        // Runs a command where io_uring_setup fails with EPERM (a seccomp
        // filter, as under Docker's default profile): the fallback drill.
        .executableTarget(name: "no-io-uring", dependencies: ["CRingSupport"], swiftSettings: strict),
        // Helpers the test targets share (TempDir, seeds, byte strings).
        .target(name: "TestSupport", dependencies: ["RingIO"], path: "Tests/TestSupport", swiftSettings: strict),
        // Fault injection, power-loss simulation and durability tracking
        // (FaultPlan): the engine's I/O seam as tests fill it. No product
        // names it, so nothing of it ships.
        .target(name: "RingIOFaults", dependencies: ["RingIO", "CRingSupport"], path: "Tests/RingIOFaults",
                swiftSettings: strict),
        .testTarget(name: "RingIOTests", dependencies: ["RingIO", "RingIOFaults", "CRingSupport", "TestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "RingKVTests", dependencies: [
            "RingKV", "RingIO", "RingIOFaults", "RingKVFuzzTargets", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
        ], swiftSettings: strict),
        .testTarget(name: "KVBenchTests", dependencies: ["KVBenchCore", "RingKV", "RingIO", "TestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "KvctlTests", dependencies: ["RingKV", "RingKVTools", "RingIO", "TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
