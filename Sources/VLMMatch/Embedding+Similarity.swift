import VLMCore

extension Embedding {
    /// Cosine of two normalised embeddings, summed in 16 SIMD lanes.
    ///
    /// `Embedding.dot` adds one product at a time, so each add waits for the previous one (IEEE order forbids the
    /// compiler from reassociating); 16 independent partial sums let the CPU pipeline and vectorise them. The
    /// matcher takes (queries + negatives) × views of these per frame. Results differ from `dot` only by rounding.
    func similarity(_ other: Embedding) -> Float {
        precondition(values.count == other.values.count, "embedding sizes differ")
        return values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                let n = a.count
                var lanes = SIMD16<Float>(repeating: 0)
                var i = 0
                if let pa = a.baseAddress, let pb = b.baseAddress {
                    while i + 16 <= n {
                        let x = UnsafeRawPointer(pa + i).loadUnaligned(as: SIMD16<Float>.self)
                        let y = UnsafeRawPointer(pb + i).loadUnaligned(as: SIMD16<Float>.self)
                        lanes += x * y
                        i += 16
                    }
                }
                var sum = lanes.sum()
                while i < n {
                    sum += a[i] * b[i]
                    i += 1
                }
                return sum
            }
        }
    }
}
