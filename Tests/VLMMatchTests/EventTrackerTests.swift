import Testing
import VLMCore
import VLMMatch

/// Event logic on synthetic score sequences: frames every 0.5 s unless stated.
@Suite struct EventTrackerTests {
    static let rules = EventRules(enter: 0.6, exit: 0.5, minDuration: 0.5, gap: 1.0, updateInterval: 5)
    /// The same without updates, for tests about starts and ends.
    static let quiet = EventRules(enter: 0.6, exit: 0.5, minDuration: 0.5, gap: 1.0, updateInterval: 0)

    /// Feeds `scores` at 0, `step`, `2·step`, … and finishes the stream; returns events with the pts they came at.
    func run(
        _ scores: [Double], rules: EventRules = rules, step: Double = 0.5, finish: Bool = true
    ) -> [(at: Double, event: QueryEvent)] {
        var tracker = EventTracker(stream: "cam", query: "q", rules: rules)
        var out: [(Double, QueryEvent)] = []
        for (i, score) in scores.enumerated() {
            let pts = Double(i) * step
            out += tracker.observe(pts: pts, score: score).map { (pts, $0) }
        }
        if finish { out += tracker.finish().map { (Double(scores.count - 1) * step, $0) } }
        return out
    }

    func kinds(_ events: [(at: Double, event: QueryEvent)]) -> [QueryEvent.Kind] { events.map(\.event.type) }

    @Test func plateauGivesOneIntervalWithTrueStartAndEnd() {
        let scores =
            Array(repeating: 0.1, count: 4) + Array(repeating: 0.9, count: 10) + Array(repeating: 0.1, count: 6)
        let events = run(scores)
        #expect(kinds(events) == [.start, .end])
        // First crossing at frame 4 (2.0 s); min duration 0.5 s satisfied at frame 5, so start is emitted then.
        #expect(events[0].at == 2.5)
        #expect(events[0].event.startPTS == 2.0)
        #expect(events[0].event.endPTS == nil)
        // Last frame above exit is frame 13 (6.5 s); the gap (1 s) runs out at 8.0 s.
        #expect(events[1].event.endPTS == 6.5)
        #expect(events[1].at == 8.0)
        #expect(eventViolation(events.map(\.event)) == nil)
    }

    @Test func hysteresisHoldsThroughFlickerBetweenExitAndEnter() {
        // 0.55 is below enter but above exit: it neither opens a match nor ends one.
        let scores =
            [0.55, 0.55, 0.7] + Array(repeating: [0.55, 0.65], count: 8).flatMap { $0 } + [0.2, 0.2, 0.2, 0.2]
        let events = run(scores, rules: Self.quiet)
        #expect(kinds(events) == [.start, .end])
        #expect(events[0].event.startPTS == 1.0)
        #expect(events[1].event.endPTS == Double(scores.count - 5) * 0.5)
    }

    @Test func flickerAcrossExitIsBridgedByTheGap() {
        // Alternating above and below exit every frame (0.5 s dropouts ≤ 1 s gap): one match.
        let scores = Array(repeating: [0.9, 0.3], count: 10).flatMap { $0 } + Array(repeating: 0.1, count: 4)
        let events = run(scores, rules: Self.quiet)
        #expect(kinds(events) == [.start, .end])
        #expect(events[1].event.endPTS == 9.0)
    }

    @Test func shortDropoutIsBridgedLongDropoutSplits() {
        let high = Array(repeating: 0.9, count: 6)
        let bridged = run(high + [0.1, 0.1] + high + [0.1, 0.1, 0.1, 0.1], rules: Self.quiet)  // 1.0 s: tolerated
        #expect(kinds(bridged) == [.start, .end])
        let split = run(high + [0.1, 0.1, 0.1] + high + [0.1, 0.1, 0.1, 0.1], rules: Self.quiet)  // 1.5 s: two
        #expect(kinds(split) == [.start, .end, .start, .end])
        #expect(split[1].event.endPTS == 2.5)
        #expect(split[2].event.startPTS == 4.5)
        #expect(eventViolation(split.map(\.event)) == nil)
    }

    @Test func gapZeroEndsOnFirstFrameBelowExit() {
        let rules = EventRules(enter: 0.6, exit: 0.5, minDuration: 0, gap: 0, updateInterval: 0)
        let events = run([0.9, 0.9, 0.4, 0.9], rules: rules)
        #expect(kinds(events) == [.start, .end, .start, .end])
        #expect(events[1].at == 1.0 && events[1].event.endPTS == 0.5)
    }

    @Test func blipShorterThanMinDurationEmitsNothing() {
        #expect(run([0.1, 0.95, 0.1, 0.1, 0.1, 0.1]).isEmpty)
        let rules = EventRules(enter: 0.6, exit: 0.5, minDuration: 2, gap: 1, updateInterval: 0)
        // 1.5 s above (frames 1–4): below the 2 s minimum, even though the dropout at the end is bridged.
        #expect(run([0.1, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1], rules: rules).isEmpty)
        // Reaching the minimum across a bridged dropout counts: start at 1.0 + 2 s = 3.0 s, startPTS 1.0.
        let across = run([0.1, 0.1, 0.9, 0.9, 0.3, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1], rules: rules)
        #expect(kinds(across) == [.start, .end])
        #expect(across[0].at == 3.0 && across[0].event.startPTS == 1.0)
    }

    @Test func minDurationZeroStartsOnTheCrossingFrame() {
        let rules = EventRules(enter: 0.6, exit: 0.5, minDuration: 0, gap: 1, updateInterval: 0)
        let events = run([0.1, 0.7, 0.1, 0.1, 0.1], rules: rules)
        #expect(kinds(events) == [.start, .end])
        #expect(events[0].at == 0.5 && events[0].event.startPTS == 0.5 && events[1].event.endPTS == 0.5)
    }

    @Test func updatesAreRateLimited() {
        let scores = [0.1] + Array(repeating: 0.9, count: 41) + Array(repeating: 0.1, count: 4)  // 20 s match
        let events = run(scores)
        let updates = events.filter { $0.event.type == .update }
        // start emitted at 1.0 s; updates at 6.0, 11.0, 16.0 and 20.5 s would be 4.5 s after 16: not yet.
        #expect(updates.map(\.at) == [6.0, 11.0, 16.0])
        #expect(updates.allSatisfy { $0.event.endPTS == $0.at && $0.event.startPTS == 0.5 })
        let none = run(scores, rules: EventRules(enter: 0.6, exit: 0.5, minDuration: 0.5, gap: 1, updateInterval: 0))
        #expect(kinds(none) == [.start, .end])
    }

    @Test func peakIsTheHighestFrameAndItsBox() {
        var tracker = EventTracker(stream: "cam", query: "q", rules: Self.rules)
        let left = Box(x: 0, y: 0, width: 0.5, height: 1)
        let right = Box(x: 0.5, y: 0, width: 0.5, height: 1)
        var events: [QueryEvent] = []
        for (i, (score, box)) in [(0.7, left), (0.95, right), (0.8, left), (0.1, left), (0.1, left), (0.1, left)]
            .enumerated()
        {
            events += tracker.observe(pts: Double(i) * 0.5, score: score, box: box)
        }
        #expect(events.map(\.type) == [.start, .end])
        #expect(events[0].peakScore == 0.95 && events[0].peakPTS == 0.5 && events[0].box == right)
        #expect(events[1].peakScore == 0.95 && events[1].box == right && events[1].endPTS == 1.0)
    }

    @Test func endOfStreamClosesOpenMatchAndDropsPendingOne() {
        let open = run([0.1, 0.9, 0.9, 0.9])
        #expect(kinds(open) == [.start, .end])
        #expect(open[1].event.endPTS == 1.5)
        // Still inside the gap at EOF: ends at the last frame above exit, not at EOF.
        let inGap = run([0.9, 0.9, 0.9, 0.2])
        #expect(inGap.last?.event.endPTS == 1.0)
        // Crossed enter on the last frame: shorter than the minimum, nothing.
        #expect(run([0.1, 0.1, 0.9]).isEmpty)
        var idle = EventTracker(stream: "cam", query: "q", rules: Self.rules)
        #expect(idle.finish().isEmpty)
    }

    @Test func randomSequencesAlwaysGiveWellFormedEvents() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let rules = EventRules(
                enter: 0.5 + rng.nextUnitDouble() * 0.4, exit: 0.3 + rng.nextUnitDouble() * 0.2,
                minDuration: rng.nextUnitDouble() * 2,
                gap: rng.nextUnitDouble() * 2, updateInterval: rng.nextUnitDouble() * 3)
            let scores = (0..<60).map { _ in rng.nextUnitDouble() }
            let events = run(scores, rules: rules, step: 0.25)
            #expect(eventViolation(events.map(\.event)) == nil)
            for e in events where e.event.type == .end {
                #expect(e.event.endPTS! - e.event.startPTS >= rules.minDuration - 1e-9)
            }
        }
    }
}
