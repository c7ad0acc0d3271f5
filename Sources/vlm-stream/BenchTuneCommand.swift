import ArgumentParser
import Foundation
import VLMCore
import VLMMatch

/// `vlm-stream bench tune`: how long `tune` takes (k-fold estimate plus the final fit) for growing numbers of marked
/// frames, on synthetic embeddings of the size of a real model's (no model or index needed). Each size runs `--runs`
/// times in a row and the median, fastest and slowest are printed side by side (`scripts/bench-tune` builds release
/// first: a debug build is about ten times slower).
struct BenchTuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Time query tuning (held-out k-fold and the final fit) on synthetic marked frames.")

    @Option(help: "Comma-separated numbers of marked frames.")
    var frames: String = "500,1000,2000,4000"

    @Option(help: "Embedding length (512 for ViT-B CLIP).")
    var dimension: Int = 512

    @Option(help: "Negative prompts.")
    var prompts: Int = 6

    @Option(help: "Optimiser steps.")
    var steps: Int = 150

    @Option(help: "Folds.")
    var folds: Int = 5

    @Option(help: "Timed runs per size (the median is reported).")
    var runs: Int = 5

    func validate() throws {
        guard dimension >= 2, prompts >= 0, steps >= 1, folds >= 2, (1...100).contains(runs) else {
            throw ValidationError("--dimension ≥ 2, --prompts ≥ 0, --steps ≥ 1, --folds ≥ 2 and --runs 1-100.")
        }
        guard !MatchOptions.split(frames).isEmpty, MatchOptions.split(frames).allSatisfy({ (Int($0) ?? 0) >= 10 })
        else {
            throw ValidationError("--frames: comma-separated counts of 10 or more")
        }
    }

    func run() throws {
        var rng = SplitMix64(seed: 42)
        func unit() -> [Float] { (0..<dimension).map { _ in Float(rng.nextUnitDouble() - 0.5) } }
        let centre = unit()
        let negatives = (0..<prompts).map { _ in unit() }
        print("frames  dim  steps  folds  runs  median s  min s  max s  cpu s  frames/s  AP before  AP after")
        for n in MatchOptions.split(frames).compactMap({ Int($0) }) {
            var images = [Float]()
            var positive = [Bool]()
            var group = [Int]()
            for i in 0..<n {
                let pos = i < n / 4
                let noise = unit()
                images += (0..<dimension).map { j in (pos ? 0.3 * centre[j] : 0) + noise[j] }
                positive.append(pos)
                group.append(i * 10 / n)  // ten marked intervals
            }
            let examples = TuneExamples(dimension: dimension, images: images, positive: positive, group: group)
            var settings = TuneSettings()
            settings.steps = steps
            settings.folds = folds
            let tuner = QueryTuner(settings: settings, start: unit(), logitScale: 100, prompts: negatives)
            var times: [Double] = []
            var cpu: [Double] = []
            var last: TuneReport?
            for _ in 0..<runs {
                let clock = ContinuousClock.now
                let cpuStart = ProcessMemory.cpuSeconds()
                last = tuner.evaluate(examples)
                cpu.append(ProcessMemory.cpuSeconds() - cpuStart)
                let elapsed = ContinuousClock.now - clock
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
            cpu.sort()
            guard let report = last else { continue }
            times.sort()
            let middle = times.count / 2
            let median = times.count % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2
            print(
                String(
                    format: "%6d  %3d  %5d  %5d  %4d  %8.2f  %5.2f  %5.2f  %5.2f  %8.0f  %9.3f  %8.3f", n, dimension,
                    steps, report.folds, runs, median, times[0], times[times.count - 1], cpu[cpu.count / 2],
                    Double(n) / median,
                    report.before.averagePrecision, report.after.averagePrecision))
        }
    }
}
