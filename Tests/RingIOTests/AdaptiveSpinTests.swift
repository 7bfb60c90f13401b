import Testing
@testable import RingIO

/// `AdaptiveSpin`: returns once the condition holds, gives up at its
/// budget, and after give-ups in a row stops trying (one probe in 64).
@Suite struct AdaptiveSpinTests {
    @Test func returnsWhenTheConditionHolds() {
        let spin = AdaptiveSpin()
        var looks = 0
        #expect(spin.wait(budgetNanos: 1_000_000_000) { looks += 1; return looks == 3 })
        #expect(looks == 3)
    }

    @Test func givesUpAtItsBudgetThenOnlyProbesUntilAProbePays() {
        let spin = AdaptiveSpin()
        var looks = 0
        // The score starts at 8 and loses 2 per give-up: four waits run out.
        for _ in 0..<4 { #expect(!spin.wait(budgetNanos: 100_000) { looks += 1; return false }) }
        let before = looks
        // At 0, 63 waits give up without looking, though they would succeed.
        for _ in 0..<63 { #expect(!spin.wait(budgetNanos: 100_000) { looks += 1; return true }) }
        #expect(looks == before)
        // The 64th probes; its success raises the score, so the next tries.
        #expect(spin.wait(budgetNanos: 100_000) { looks += 1; return true })
        #expect(looks == before + 1)
        #expect(spin.wait(budgetNanos: 100_000) { true })
    }
}
