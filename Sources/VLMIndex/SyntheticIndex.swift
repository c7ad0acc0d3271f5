import VLMCore

/// Fills an index with random unit embeddings, for benchmarks and scale tests (no video is decoded).
public enum SyntheticIndex {
    /// Adds `frames` frames of random `dimension`-d unit vectors as complete videos of `framesPerVideo` frames at
    /// `fps`, committed in chunks of `chunkFrames`. Deterministic for a given `seed`.
    public static func populate(
        _ index: VideoIndex, frames: Int, dimension: Int, model: String = "synthetic", framesPerVideo: Int = 10_000,
        fps: Double = 1, chunkFrames: Int = 256, seed: UInt64 = 1
    ) throws {
        var rng = SplitMix64(seed: seed)
        var videoNumber = 0
        var remaining = frames
        while remaining > 0 {
            let n = min(remaining, framesPerVideo)
            let path = seed == 1 ? "/synthetic/video-\(videoNumber).mp4" : "/synthetic/\(seed)/video-\(videoNumber).mp4"
            let fingerprint = VideoFingerprint(size: Int64(n), checksum: "synthetic:\(seed):\(videoNumber)")
            let plan = try index.prepare(
                videoPath: path, fingerprint: fingerprint, model: model, dimension: dimension, fps: fps)
            guard case .fresh(let id, _) = plan else { throw IndexError.database(path: index.path, reason: "\(plan)") }
            var done = 0
            while done < n {
                let batch = (done..<min(n, done + chunkFrames)).map { f in
                    IndexedFrame(pts: Double(f) / fps, embedding: randomUnitVector(dimension, &rng))
                }
                try index.append(videoID: id, frames: batch)
                done += batch.count
            }
            try index.complete(videoID: id, duration: Double(n) / fps)
            remaining -= n
            videoNumber += 1
        }
    }

    /// A random unit vector (components uniform in −1...1, then normalised).
    public static func randomUnitVector(_ dimension: Int, _ rng: inout SplitMix64) -> [Float] {
        var v = (0..<dimension).map { _ in rng.nextUnitFloat() * 2 - 1 }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in v.indices { v[i] /= norm }
        return v
    }
}
