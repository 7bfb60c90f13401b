// crashwriter: the child process of the crash tests and `tools/crashloop`.
// It writes to a RingKV database from several threads and reports every
// acknowledged write on stdout ("ack <thread> <op>\n") until it is killed.
//
// usage: crashwriter DB_PATH SEED THREADS sync|nosync
//
// Operation `op` of thread `t` is one atomic batch: put key(t, op) =
// value(t, op), and for op % 4 == 3 also delete key(t, op - 3).
import Glibc
import RingKV

func key(_ thread: Int, _ op: Int) -> [UInt8] { Array("t\(thread)-k\(op)".utf8) }
func value(_ thread: Int, _ op: Int, _ seed: Int) -> [UInt8] {
    Array("v\(seed)-\(thread)-\(op)-".utf8) + [UInt8](repeating: UInt8(op & 0xff), count: (op * 7) % 300)
}

let args = CommandLine.arguments
guard args.count == 5, let seed = Int(args[2]), let threads = Int(args[3]) else {
    print("usage: crashwriter DB_PATH SEED THREADS sync|nosync")
    exit(2)
}
let sync = args[4] == "sync"
var options = Options()
options.createIfMissing = true
options.memtableSizeBytes = 256 << 10  // small: flushes happen while we are killed
options.walPreallocateBytes = 1 << 20
let db: DB
do {
    db = try DB(path: args[1], options: options)
} catch {
    print("open failed: \(error)")
    exit(3)
}

let outputLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
pthread_mutex_init(outputLock, nil)

func report(_ line: String) {
    pthread_mutex_lock(outputLock)
    var bytes = Array(line.utf8)
    bytes.append(10)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    pthread_mutex_unlock(outputLock)
}

func writer(_ thread: Int) {
    var op = 0
    while true {
        var batch = WriteBatch()
        batch.put(key(thread, op), value(thread, op, seed))
        if op % 4 == 3 { batch.delete(key(thread, op - 3)) }
        do {
            try db.write(batch, options: WriteOptions(sync: sync))
        } catch {
            report("error \(error)")
            exit(4)
        }
        report("ack \(thread) \(op)")
        op += 1
    }
}

var handles: [pthread_t] = []
for t in 0..<threads {
    let box = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    box.pointee = t
    var handle = pthread_t()
    pthread_create(&handle, nil, { raw in
        let p = raw!.assumingMemoryBound(to: Int.self)
        writer(p.pointee)
        return nil
    }, box)
    handles.append(handle)
}
for h in handles { pthread_join(h, nil) }
