import CLIP
import VLMCore
import VLMTensor

/// The encoder workers of a graph: `spec.workers` workers sharing one model's weights, each encoding under its own
/// `ComputeOptions` (`spec.threads` kernel threads, or the cores split evenly over the workers).
enum EncoderWorkers {
    /// Kernel threads per worker: `spec.threads`, or the cores split evenly over the workers.
    static func compute(_ spec: EncoderSpec, kernels: ComputeOptions.Kernels = .native) -> ComputeOptions {
        ComputeOptions(
            threads: spec.threads ?? max(1, System.activeProcessorCount / max(1, spec.workers)), kernels: kernels)
    }

    /// One encoder per worker.
    static func make(_ model: any ImageEncoding, _ spec: EncoderSpec) -> [any ImageEncoding] {
        let worker = ComputedEncoder(model, compute: compute(spec))
        return Array(repeating: worker, count: max(1, spec.workers))
    }
}

/// An image encoder whose every call runs under the given `ComputeOptions` (thread count and kernel choice), so
/// the graph's workers do not depend on any process-wide setting.
public struct ComputedEncoder: ImageEncoding {
    /// The model.
    public let base: any ImageEncoding
    /// How each call runs.
    public let compute: ComputeOptions

    /// `base` under `compute`.
    public init(_ base: any ImageEncoding, compute: ComputeOptions) {
        self.base = base
        self.compute = compute
    }

    public var imageSize: Int { base.imageSize }
    public var embeddingSize: Int { base.embeddingSize }
    public var modelIdentity: String { base.modelIdentity }

    public func encode(images: [RGBImage]) throws -> [Embedding] {
        try compute.run { try base.encode(images: images) }
    }
}
