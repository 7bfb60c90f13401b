// The libFuzzer harness for RingKV's decoders (tools/fuzz builds it with
// -sanitize=fuzzer -DFUZZING). Without FUZZING it is a corpus replayer:
// `ringkv-fuzz TARGET FILE...` runs each file through the target once,
// which is how the test suite keeps the seed corpus and past crashes as
// regression tests.
#if canImport(Glibc)
import Glibc
#endif
import RingKVFuzzTargets

#if FUZZING
/// Target name from $RINGKV_FUZZ_TARGET (libFuzzer owns the argument list).
let fuzzTarget: String = getenv("RINGKV_FUZZ_TARGET").map { String(cString: $0) } ?? "block"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.run(fuzzTarget, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// libFuzzer's driver, started from the entry point SwiftPM links an
/// executable through (it renames `main` to `<module>_main`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("ringkv_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOne(data, size) }
}
#else
@main
struct CorpusReplay {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, FuzzTargets.names.contains(args[1]) else {
            print("usage: ringkv-fuzz \(FuzzTargets.names.joined(separator: "|")) FILE...")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst(2) {
            guard let f = fopen(path, "rb") else {
                print("cannot open \(path)")
                exit(2)
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&chunk, 1, chunk.count, f)
                if n <= 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
            }
            fclose(f)
            _ = bytes.withUnsafeBytes { FuzzTargets.run(args[1], $0) }
            count += 1
        }
        print("replayed \(count) inputs through \(args[1])")
    }
}
#endif
