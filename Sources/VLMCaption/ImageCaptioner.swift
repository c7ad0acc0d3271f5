import Foundation
import VLMCore

/// Writes a sentence for pixels: a generative model (GIT) or a remote vision-language model. Unlike `Captioner`,
/// which ranks sentences against embeddings, it reads the frames themselves (``Frame/captionImage``, already
/// resized and cropped as ``preprocessing`` says).
public protocol ImageCaptioner: Sendable {
    /// How many frames one caption reads, oldest first: a video checkpoint's N, 1 for image models.
    var framesPerCaption: Int { get }
    /// The resize and crop the captioner wants its frames at (the sources make ``Frame/captionImage`` with it).
    var preprocessing: ImagePreprocessing { get }
    /// The caption of `images` (`framesPerCaption` of them; the oldest is repeated when fewer were sampled).
    func caption(_ images: [RGBImage]) throws -> String
    /// The answer to `question` about `images` (as `caption`'s).
    func answer(_ question: String, images: [RGBImage]) throws -> String
    /// Throws a one-line error when `question` cannot be asked at all (empty, too long for the model). Default:
    /// refuses only an empty question.
    func check(question: String) throws
}

extension ImageCaptioner {
    public func check(question: String) throws {
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CaptionError.invalidOption("a question is empty; ask something, e.g. \"is the door open?\"")
        }
    }
}

/// The last sampled frames' caption images of each stream, from the source tap to the caption stage (which sees
/// only embeddings). Bounded: at most `capacity` images per stream, and the stage releases what it no longer needs.
public final class CaptionImageStore: Sendable {
    private let capacity: Int
    private let images = Locked<[String: [(sequence: Int, image: RGBImage)]]>([:])

    /// A store of at most `capacity` images per stream (64 frames of 224×224 are about 10 MB).
    public init(capacity: Int = 64) {
        self.capacity = max(1, capacity)
    }

    /// Keeps `frame`'s caption image (no-op without one); call once per sampled frame, in decode order.
    public func remember(_ frame: Frame) {
        guard let image = frame.captionImage else { return }
        images.withLock { all in
            var held = all[frame.stream, default: []]
            held.append((frame.sequence, image))
            if held.count > capacity { held.removeFirst(held.count - capacity) }
            all[frame.stream] = held
        }
    }

    /// The images of the `count` latest frames up to `sequence`, oldest first.
    public func latest(_ count: Int, stream: String, through sequence: Int) -> [RGBImage] {
        images.withLock { all in
            (all[stream] ?? []).filter { $0.sequence <= sequence }.suffix(count).map(\.image)
        }
    }

    /// Forgets the images of `stream` older than the `keeping` latest up to `sequence`.
    public func release(stream: String, through sequence: Int, keeping: Int) {
        images.withLock { all in
            guard let held = all[stream] else { return }
            let older = held.filter { $0.sequence <= sequence }
            guard older.count > keeping, let cut = older.dropLast(keeping).last?.sequence else { return }
            all[stream] = held.filter { $0.sequence > cut }
        }
    }

    /// Forgets a stream (it ended).
    public func remove(stream: String) {
        _ = images.withLock { $0.removeValue(forKey: stream) }
    }

    /// Images held for `stream` (for tests).
    public func count(stream: String) -> Int { images.withLock { $0[stream]?.count ?? 0 } }
}
