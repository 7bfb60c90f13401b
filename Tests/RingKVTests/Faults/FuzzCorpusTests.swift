import RingIO
import Testing
import RingKVFuzzTargets

/// Every committed fuzz input (seed corpus and past crashes, Fuzz/) runs
/// through its decoder once: the fuzz findings stay fixed.
@Suite struct FuzzCorpusTests {
    static let root: String = {
        var dir = FileSystem.parentDirectory(of: #filePath)
        while !dir.isEmpty && dir != "/" && !FileSystem.exists(dir + "/Package.swift") {
            dir = FileSystem.parentDirectory(of: dir)
        }
        return dir
    }()

    @Test(arguments: FuzzTargets.names)
    func committedFuzzInputsDecodeWithoutTrapping(target: String) throws {
        let corpus = Self.root + "/Fuzz/corpus/" + target
        let files = (try? FileSystem.listDirectory(corpus)) ?? []
        #expect(!files.isEmpty, "no seed corpus at \(corpus)")
        var crashes: [String] = []
        if let names = try? FileSystem.listDirectory(Self.root + "/Fuzz/crashes") {
            crashes = names.filter { $0.hasPrefix(target + "-") }.map { Self.root + "/Fuzz/crashes/" + $0 }
        }
        for path in files.map({ corpus + "/" + $0 }) + crashes {
            let file = try File.open(path, .read)
            var data = [UInt8](repeating: 0, count: Int(try file.size()))
            let n = try data.withUnsafeMutableBytes { try PosixBackend().read(fd: file.fd, into: $0, offset: 0) }
            try file.close()
            Array(data.prefix(n)).withUnsafeBytes { #expect(FuzzTargets.run(target, $0)) }
        }
    }

    @Test func arbitraryBytesNeverTrapAnyDecoder() {
        var rng = SeededRandom(seed: testSeed())
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for target in FuzzTargets.names { bytes.withUnsafeBytes { _ = FuzzTargets.run(target, $0) } }
        }
    }
}
