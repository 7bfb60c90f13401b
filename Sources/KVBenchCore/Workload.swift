/// YCSB's core workloads as operation mixes (workloads/workloada ... f of
/// the YCSB distribution).
public enum BenchOperation: Int, CaseIterable, Sendable {
    case read, update, insert, scan, readModifyWrite
    /// `--batch N`: one `multiGet` of N keys standing for N reads.
    case multiGet

    /// Name in the table and in the JSON's `latency_us` object.
    public var name: String {
        switch self {
        case .read: return "read"
        case .update: return "update"
        case .insert: return "insert"
        case .scan: return "scan"
        case .readModifyWrite: return "rmw"
        case .multiGet: return "multiget"
        }
    }
}

/// How request keys are chosen (YCSB's `requestdistribution`).
public enum KeyDistribution: String, CaseIterable, Sendable {
    case zipfian, uniform, latest
}

public enum Workload: String, CaseIterable, Sendable {
    case load, a, b, c, d, e, f

    public var mix: WorkloadMix {
        switch self {
        case .load: return WorkloadMix(insert: 1, distribution: .uniform)
        case .a: return WorkloadMix(read: 0.5, update: 0.5, distribution: .zipfian)
        case .b: return WorkloadMix(read: 0.95, update: 0.05, distribution: .zipfian)
        case .c: return WorkloadMix(read: 1, distribution: .zipfian)
        case .d: return WorkloadMix(read: 0.95, insert: 0.05, distribution: .latest)
        case .e: return WorkloadMix(insert: 0.05, scan: 0.95, distribution: .zipfian)
        case .f: return WorkloadMix(read: 0.5, readModifyWrite: 0.5, distribution: .zipfian)
        }
    }
}

/// Operation proportions (YCSB's DiscreteGenerator over them, in this order).
public struct WorkloadMix: Sendable {
    public var read = 0.0
    public var update = 0.0
    public var insert = 0.0
    public var scan = 0.0
    public var readModifyWrite = 0.0
    /// The workload file's `requestdistribution`.
    public var distribution: KeyDistribution
    /// Scan lengths are uniform in 1...maxScanLength (workloade:
    /// maxscanlength=100, scanlengthdistribution=uniform).
    public var maxScanLength: Int64 = 100

    public init(read: Double = 0, update: Double = 0, insert: Double = 0, scan: Double = 0,
                readModifyWrite: Double = 0, distribution: KeyDistribution) {
        self.read = read
        self.update = update
        self.insert = insert
        self.scan = scan
        self.readModifyWrite = readModifyWrite
        self.distribution = distribution
    }

    /// The operation for a uniform `u` in [0, 1).
    public func pick(_ u: Double) -> BenchOperation {
        var edge = read
        if u < edge { return .read }
        edge += update
        if u < edge { return .update }
        edge += insert
        if u < edge { return .insert }
        edge += scan
        if u < edge { return .scan }
        if readModifyWrite > 0 { return .readModifyWrite }
        // Rounding left u just past the last edge: the last op in the mix.
        return scan > 0 ? .scan : insert > 0 ? .insert : update > 0 ? .update : .read
    }
}
