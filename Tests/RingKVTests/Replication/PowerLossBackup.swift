import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// The power-loss rounds' backup step (PowerLossTests.swift): an
/// incremental backup into one directory kept across rounds (its files
/// written through the database's backend, so the power cut reaches them
/// too). A backup whose call returned must, after the cut, restore to a
/// database holding exactly the state at its call — whatever earlier cut
/// backups left in the shared directory.
extension PowerLossTests {
    /// Takes the backup; false when the power cut failed it (the round
    /// stops writing, as for any failure).
    func backup(_ db: DB, to directory: String, plan: FaultPlan, history: History,
                taken: inout [TakenCheckpoint]) -> Bool {
        let state = history.latestState
        do {
            let info = try db.backup(to: directory)
            taken.append(TakenCheckpoint(path: directory, state: state, backupID: info.id))
            return true
        } catch {
            #expect(plan.isPowerCut, "a backup failed without a power cut: \(error)")
            return false
        }
    }

    /// Where a taken checkpoint or backup is opened: a checkpoint's own
    /// directory, or a backup restored next to its backup directory.
    static func restoredPath(of taken: TakenCheckpoint) throws -> String {
        guard let id = taken.backupID else { return taken.path }
        let target = taken.path + "-restored-\(id)"
        try DB.restore(from: taken.path, id: id, to: target)
        return target
    }
}
