// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks of RingKV's public API (ordo-one/benchmark). A package of
// its own so the root package's builds and CI never compile the benchmark
// tooling. Run from this directory: `swift package benchmark`. Linux only,
// as RingKV itself (io_uring).
let package = Package(
    name: "RingKVBenchmarks",
    dependencies: [
        .package(name: "RingKV", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
    ],
    targets: [
        // The benchmark plugin finds targets whose folder sits in a folder
        // named "Benchmarks": this one is Benchmarks/RingKVBenchmarks.
        .executableTarget(
            name: "RingKVBenchmarks",
            dependencies: [
                .product(name: "RingKV", package: "RingKV"),
                .product(name: "RingIO", package: "RingKV"),
                .product(name: "RingKVBenchmarkSupport", package: "RingKV"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "RingKVBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
