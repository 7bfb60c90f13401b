import Glibc
import RingIO
import Testing


/// What every kill -9 loop starts from: the run's seed (printed;
/// RINGKV_SEED replays it), a random source seeded with it, a temporary
/// directory with the database path in it, and the child executable the
/// loop kills (checked to be built). The loop itself — children, kills,
/// reopen and its oracle — stays in each test.
struct KillNineLoop {
    let seed: UInt64
    var rng: SeededRandom
    let dir: TempDir
    let path: String
    let child: String

    init(_ name: String, child childName: String = "crashwriter", database: String = "db") throws {
        seed = testSeed()
        print("\(name) seed \(seed)")
        rng = SeededRandom(seed: seed)
        dir = try TempDir()
        path = dir.sub(database)
        child = builtProduct(childName)
        #expect(FileSystem.exists(child), "\(childName) not built at \(child)")
    }

    /// The loop's cycle count: `variable` from the environment, else `defaultCycles`.
    static func cycles(_ variable: String, default defaultCycles: Int) -> Int {
        Int(getenv(variable).map { String(cString: $0) } ?? "") ?? defaultCycles
    }
}
