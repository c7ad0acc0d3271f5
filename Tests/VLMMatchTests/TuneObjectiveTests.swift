import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMMatch

/// The tuning objective's hand-written gradient: against central finite differences, and against PyTorch
/// autograd (float64) on the fixed inputs of scripts/golden/make_tune_golden.py.
@Suite("query tuning objective")
struct TuneObjectiveTests {
    struct Case {
        var objective: ContrastiveObjective
        var at: TuneParameters
        var loss: Double
        var gradient: TuneParameters
    }

    static func cases() throws -> [Case] {
        let url = Fixtures.url("tune-golden/objective.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        return try cases.map { c in
            let rank = try #require(c["rank"] as? Int)
            func params(_ any: Any?) throws -> TuneParameters {
                let p = try #require(any as? [String: Any])
                return TuneParameters(
                    query: try #require(p["query"] as? [Double]), u: try #require(p["u"] as? [Double]),
                    v: try #require(p["v"] as? [Double]), logScale: try #require(p["log_scale"] as? Double), rank: rank)
            }
            let objective = ContrastiveObjective(
                images: try #require(c["images"] as? [Double]), positive: try #require(c["positive"] as? [Bool]),
                prompts: try #require(c["prompts"] as? [Double]), anchor: try params(c["anchor"]),
                decay: try #require(c["decay"] as? Double))
            return Case(
                objective: objective, at: try params(c["at"]), loss: try #require(c["loss"] as? Double),
                gradient: try params(c["gradient"]))
        }
    }

    static func flat(_ p: TuneParameters) -> [Double] { p.query + p.u + p.v + [p.logScale] }

    static func unflat(_ x: [Double], like p: TuneParameters) -> TuneParameters {
        let d = p.query.count
        let n = p.u.count
        return TuneParameters(
            query: Array(x[0..<d]), u: Array(x[d..<(d + n)]), v: Array(x[(d + n)..<(d + 2 * n)]),
            logScale: x[d + 2 * n], rank: p.rank)
    }

    @Test("loss and every gradient equal PyTorch's (float64 autograd) within 1e-10 relative")
    func matchesPyTorch() throws {
        let cases = try Self.cases()
        #expect(cases.count == 3)
        for c in cases {
            let (loss, gradient) = c.objective.lossAndGradient(c.at)
            #expect(abs(loss - c.loss) <= 1e-10 * max(1, abs(c.loss)), "loss \(loss) vs torch \(c.loss)")
            let mine = Self.flat(gradient)
            let torch = Self.flat(c.gradient)
            let scale = max(1, torch.map(abs).max() ?? 0)
            let worst = zip(mine, torch).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-10 * scale, "max gradient difference \(worst)")
        }
    }

    @Test("the gradient agrees with central finite differences within 1e-6 relative")
    func finiteDifferences() throws {
        for c in try Self.cases() {
            let x = Self.flat(c.at)
            let analytic = Self.flat(c.objective.lossAndGradient(c.at).gradient)
            let h = 1e-6
            var worst = 0.0
            for i in x.indices {
                var plus = x
                var minus = x
                plus[i] += h
                minus[i] -= h
                let numeric =
                    (c.objective.lossAndGradient(Self.unflat(plus, like: c.at)).loss
                        - c.objective.lossAndGradient(Self.unflat(minus, like: c.at)).loss) / (2 * h)
                worst = max(worst, abs(numeric - analytic[i]) / max(1e-3, abs(numeric) + abs(analytic[i])))
            }
            #expect(worst < 1e-6, "worst relative error \(worst)")
        }
    }

    @Test("average precision: perfect ranking is 1, one negative on top of two positives is 7/12")
    func averagePrecision() {
        #expect(QueryTuner.averagePrecision([0.9, 0.8, 0.1], [true, true, false]) == 1)
        let ap = QueryTuner.averagePrecision([0.9, 0.8, 0.7], [false, true, true])
        #expect(abs(ap - (1.0 / 2 + 2.0 / 3) / 2) < 1e-12)
    }

    @Test("training lowers the loss and separates synthetic positives from negatives")
    func trainingSeparates() throws {
        var rng = SplitMix64(seed: 7)
        let d = 16
        let centre = (0..<d).map { _ in Float(rng.nextUnitDouble() - 0.5) }
        var images = [Float]()
        var positive = [Bool]()
        var group = [Int]()
        for i in 0..<60 {
            let pos = i < 20
            images += (0..<d).map { j in (pos ? centre[j] : 0) + Float(rng.nextUnitDouble() - 0.5) }
            positive.append(pos)
            group.append(i / 10)
        }
        let examples = TuneExamples(dimension: d, images: images, positive: positive, group: group)
        let start = (0..<d).map { _ in Float(rng.nextUnitDouble() - 0.5) }
        let tuner = QueryTuner(settings: TuneSettings(), start: start, logitScale: 20, prompts: [])
        let report = tuner.evaluate(examples)
        #expect(report.after.averagePrecision > report.before.averagePrecision)
        #expect(report.after.averagePrecision >= 0.9, "held-out AP \(report.after.averagePrecision)")
        #expect(report.after.exit <= report.after.enter)
    }
}
