import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// The power-loss rounds' ingest step (PowerLossTests.swift): a table file
/// of a few keys, written outside the database (with a backend of its own,
/// so the power cut does not reach it: a user's file, synced before the
/// call), ingested into a random live keyspace, now and then moved. In the
/// model it is one step of puts; a returned ingest is durable with every
/// batch before it.
extension PowerLossTests {
    /// Returns false when the power cut failed the ingest (the round stops).
    func ingest(_ db: DB, live: [String], plan: FaultPlan, history: inout History, counter: inout Int,
                rng: inout SeededRandom, sourcePath: String, totals: inout Totals) -> Bool {
        // Not into the TTL keyspace, which takes no ingest.
        let name = live.filter { $0 != PowerLossTests.ttlKeyspace }.randomElement(using: &rng) ?? "default"
        let prefix = name == "default" ? "" : name + "/"
        let keys = Set((0..<Int.random(in: 1...12, using: &rng)).map { _ in "k\(Int.random(in: 0..<48, using: &rng))" })
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var step: Step = []
        do {
            let writer = try TableFileWriter(path: sourcePath, databaseOptions: Self.options(nil))
            for key in keys {
                counter += 1
                let value = "i\(counter)-" + String(repeating: "y", count: Int.random(in: 0...200, using: &rng))
                try writer.add(key, value)
                step.append(.put(prefix + key, value))
            }
            try writer.finish()
        } catch {
            Issue.record("TableFileWriter failed (no power cut reaches it): \(error)")
            return false
        }
        history.steps.append(step)
        do {
            let keyspace = try db.existingKeyspace(name)
            try keyspace.ingest([sourcePath], options: IngestOptions(move: Bool.random(using: &rng)))
            history.markDurable(by: "an ingest")
            totals.ingests += 1
        } catch {
            #expect(plan.isPowerCut, "an ingest failed without a power cut: \(error)")
            return false
        }
        return true
    }
}
