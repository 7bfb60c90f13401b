/// YCSB core workloads A–F as operation mixes.
enum Operation: String, CaseIterable {
    case read, update, insert, scan, readModifyWrite = "rmw"
}

struct WorkloadMix {
    var read = 0.0
    var update = 0.0
    var insert = 0.0
    var scan = 0.0
    var readModifyWrite = 0.0
    /// The distribution YCSB's workload file names for request keys.
    var defaultDistribution: String = "zipfian"

    static func named(_ name: String) -> WorkloadMix? {
        switch name {
        case "a": return WorkloadMix(read: 0.5, update: 0.5)
        case "b": return WorkloadMix(read: 0.95, update: 0.05)
        case "c": return WorkloadMix(read: 1.0)
        case "d": return WorkloadMix(read: 0.95, insert: 0.05, defaultDistribution: "latest")
        case "e": return WorkloadMix(insert: 0.05, scan: 0.95)
        case "f": return WorkloadMix(read: 0.5, readModifyWrite: 0.5)
        default: return nil
        }
    }

    func pick(_ u: Double) -> Operation {
        var edge = read
        if u < edge { return .read }
        edge += update
        if u < edge { return .update }
        edge += insert
        if u < edge { return .insert }
        edge += scan
        if u < edge { return .scan }
        return .readModifyWrite
    }
}
