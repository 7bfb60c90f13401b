import Foundation
@_exported import TestSupport
import RingIO

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
