import Foundation
import RingIO

/// A temporary directory removed when the value goes away.
final class TempDir {
    let path: String
    init(_ prefix: String = "kvbench-test") throws {
        path = try FileSystem.makeTemporaryDirectory(prefix: prefix)
    }
    deinit { try? FileSystem.removeTree(path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

/// The seed for a randomized test: $RINGKV_SEED when set, else a fresh one.
func testSeed() -> UInt64 {
    if let raw = ProcessInfo.processInfo.environment["RINGKV_SEED"], let seed = UInt64(raw) { return seed }
    var rng = SystemRandomNumberGenerator()
    return rng.next()
}

/// Path of an executable product built next to the test bundle.
func builtProduct(_ name: String) -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    // swift test runs .build/<triple>/debug/RingKVPackageTests.xctest
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name).path
}

struct ProcessOutput {
    var status: Int32
    var stdout: Data
    var stderr: String
}

/// Runs `path` with `arguments` to completion. stderr goes to a file in
/// `dir` (so neither pipe can fill up and block the child) and is returned.
func runProcess(_ path: String, _ arguments: [String], scratch dir: TempDir) throws -> ProcessOutput {
    let errPath = dir.sub("stderr.txt")
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let errFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = errFile
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try errFile.close()
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return ProcessOutput(status: process.terminationStatus, stdout: stdout, stderr: stderr)
}
