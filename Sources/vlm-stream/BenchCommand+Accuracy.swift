import CLIP
import Foundation
import VLMCore
import VLMTensor

extension BenchEncoderCommand {
    /// `--accuracy`: int8 against fp32 on `reference` (the fp32 weights; without --model the ViT-B/32-shaped outlier
    /// fixture with a full text tower), at `smoothing` and, for comparison, without smoothing. Returns the lines to
    /// print and the JSON members to add.
    func measureAccuracy(reference given: CLIPWeights?, compute: ComputeOptions) throws -> (
        lines: [String], json: String
    ) {
        let reference = try given ?? CLIPWeights.randomWithOutliers(config: .vitB32)
        let source = given == nil ? "random ViT-B/32 with outlier channels" : "the model"
        var lines: [String] = []
        var json: [String] = []
        // The chosen scheme first, then the others for comparison.
        typealias Variant = (alpha: Float, keep: Bool, zeroPoints: ZeroPoints)
        var variants: [Variant] = [(smoothing, keepOutliers, zeroPoints)]
        let others: [Variant] = [
            (smoothing, keepOutliers, .none), (smoothing, keepOutliers, .all), (smoothing, !keepOutliers, zeroPoints),
            (0, true, zeroPoints), (0, false, .none),
        ]
        for variant in others
        where !variants.contains(where: {
            $0.alpha == variant.alpha && $0.keep == variant.keep && $0.zeroPoints == variant.zeroPoints
        }) {
            variants.append(variant)
        }
        for (alpha, keep, zeroPoints) in variants {
            let candidate = reference.converted(
                to: .int8, smoothing: alpha, keepOutliers: keep, zeroPoints: zeroPoints)
            let result = try compute.run { try PrecisionAccuracy.measure(reference: reference, candidate: candidate) }
            let name =
                (alpha > 0 ? String(format: "smoothing α %.2f", alpha) : "no smoothing")
                + (keep ? ", outlier channels fp32" : ", no fp32 channels") + ", zero points \(zeroPoints.rawValue)"
            let percent = { (x: Double) in String(format: "%.1f %%", x * 100) }
            let changed = result.disagreementMargins
            lines.append(
                "accuracy     int8 vs fp32 on \(source), \(name): centered relative error "
                    + String(format: "%.4f", result.centeredRelativeError) + " (bar ≤ 0.05) over \(result.images) "
                    + "images, zero-shot agreement " + percent(result.zeroShotAgreement)
                    + " (bar ≥ 95 %) over \(result.labels) labels; "
                    + (changed.isEmpty
                        ? ""
                        : "the \(changed.count) changed at fp32 margins of \(changed.map(percent).joined(separator: ", ")) ")
                    + "(median margin \(percent(result.medianMargin)) of the label scores' range)")
            json.append(
                "{\"smoothing\":\(alpha),\"outlier_channels_fp32\":\(keep),"
                    + "\"zero_points\":\(JSONText.string(zeroPoints.rawValue)),"
                    + "\"centered_relative_error\":\(String(format: "%.5f", result.centeredRelativeError)),"
                    + "\"zero_shot_agreement\":\(String(format: "%.4f", result.zeroShotAgreement)),"
                    + "\"median_margin\":\(String(format: "%.4f", result.medianMargin)),"
                    + "\"disagreement_margins\":[\(changed.map { String(format: "%.4f", $0) }.joined(separator: ","))],"
                    + "\"images\":\(result.images),\"labels\":\(result.labels)}")
        }
        return (lines, "\"accuracy\":[" + json.joined(separator: ",") + "],")
    }
}
