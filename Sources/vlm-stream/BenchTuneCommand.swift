import ArgumentParser
import Foundation
import VLMCore
import VLMMatch

/// `vlm-stream bench tune`: how long `tune` takes (k-fold estimate plus the final fit) for growing numbers of marked
/// frames, on synthetic embeddings of the size of a real model's (no model or index needed).
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

    func validate() throws {
        guard dimension >= 2, prompts >= 0, steps >= 1, folds >= 2 else {
            throw ValidationError("--dimension ≥ 2, --prompts ≥ 0, --steps ≥ 1 and --folds ≥ 2.")
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
        print("frames  dim  steps  folds  seconds  frames/s  AP before  AP after")
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
            let clock = ContinuousClock.now
            let report = tuner.evaluate(examples)
            let elapsed = ContinuousClock.now - clock
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            print(
                String(
                    format: "%6d  %3d  %5d  %5d  %7.2f  %8.0f  %9.3f  %8.3f", n, dimension, steps, report.folds,
                    seconds,
                    Double(n) / seconds, report.before.averagePrecision, report.after.averagePrecision))
        }
    }
}
