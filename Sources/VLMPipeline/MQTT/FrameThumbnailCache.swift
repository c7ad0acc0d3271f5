import Foundation
import VLMCore
import VLMGraph
import VLMPublish
import VLMVideo

/// Keeps the last few sampled frames of each stream so MQTT events can carry a JPEG of their peak frame
/// (`--mqtt-thumbnails`). Holds the whole-frame view (`views[0]`, the encoder's input size) of at most `capacity`
/// frames per stream; JPEG encoding (libavcodec, via VLMVideo's `JPEGEncoder`) happens only when an event asks.
public final class FrameThumbnailCache: ThumbnailProviding {
    private struct Held {
        var pts: Double
        var image: RGBImage
    }

    private let capacity: Int
    private let frames = Locked<[String: [Held]]>([:])

    /// A cache of `capacity` frames per stream (64 frames of 224×224 are about 10 MB).
    public init(capacity: Int = 64) {
        self.capacity = max(1, capacity)
    }

    /// Remembers `frame`'s whole-frame view; call once per sampled frame, in presentation order.
    public func remember(_ frame: Frame) {
        guard let view = frame.views.first else { return }
        frames.withLock { frames in
            var held = frames[frame.stream, default: []]
            held.append(Held(pts: frame.time.seconds, image: view.image))
            if held.count > capacity { held.removeFirst(held.count - capacity) }
            frames[frame.stream] = held
        }
    }

    /// The held frame nearest `pts` as JPEG of at most `maxBytes` (its own `pts` says which frame it is).
    public func thumbnail(stream: String, pts: Double, maxBytes: Int) -> Thumbnail? {
        let nearest = frames.withLock { $0[stream]?.min { abs($0.pts - pts) < abs($1.pts - pts) } }
        guard let nearest, let jpeg = try? JPEGEncoder.encode(nearest.image, maxBytes: maxBytes) else { return nil }
        let bytes = Array(jpeg)
        // The encoder halves the image when quality alone cannot meet `maxBytes`: report the size it wrote.
        let size = FrameThumbnailCache.jpegSize(bytes) ?? (nearest.image.width, nearest.image.height)
        return Thumbnail(jpeg: bytes, width: size.0, height: size.1, pts: nearest.pts)
    }

    /// The newest held frame of `stream` as JPEG of at most `maxBytes` (the live page's thumbnail), or nil.
    public func latest(stream: String, maxBytes: Int) -> Thumbnail? {
        guard let pts = frames.withLock({ $0[stream]?.last?.pts }) else { return nil }
        return thumbnail(stream: stream, pts: pts, maxBytes: maxBytes)
    }

    /// Width and height from a JPEG's start-of-frame (SOF0...SOF2) segment.
    static func jpegSize(_ bytes: [UInt8]) -> (Int, Int)? {
        var i = 2
        while i + 9 < bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if (0xC0...0xC2).contains(marker) {
                return (Int(bytes[i + 7]) << 8 | Int(bytes[i + 8]), Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]))
            }
            i += 2 + length
        }
        return nil
    }
}
