import Foundation
import VLMCore

/// How a ``VideoSource`` opens its input and what it makes of each sampled frame.
public struct VideoSourceOptions: Sendable, Equatable {
    /// Which decoded frames become ``SampledFrame``s (default: 2 per second of video).
    public var sampling: SamplingPolicy = .fps(2)
    /// The model's image preprocessing (its `preprocessor_config.json`): each view is resized and cropped as
    /// ``ImagePreprocessing/geometry(width:height:)`` says, with its `resample` filter, in one swscale pass; the
    /// still-image path takes the same geometry from the same description. Default: CLIP's 224 square.
    public var preprocessing: ImagePreprocessing = .openAI
    /// Shorthand for a square CLIP description: reading gives the views' width; setting it makes
    /// ``preprocessing`` CLIP's "shortest side → S, centre crop S×S" (224 for ViT-B/32).
    public var imageSize: Int {
        get { preprocessing.hasFixedOutputSize ? preprocessing.outputSize.width : 0 }
        set { preprocessing = .clip(side: newValue) }
    }
    /// A caption model's preprocessing: each sampled frame also gets ``Frame/captionImage``, the whole frame
    /// resized and cropped as this says (the same one the views use when they are equal); nil for none.
    public var captionPreprocessing: ImagePreprocessing?
    /// Optional grid of extra views (tiles) besides the whole frame.
    public var tiles: TileGrid?
    /// Side of the square grey thumbnail for the scene-change gate; 0 for none.
    public var lumaSize: Int = 32
    /// Width of an aspect-preserving RGB preview attached to each sampled frame (event thumbnails); nil for none.
    public var previewWidth: Int?
    /// Name for the stream in results; defaults to ``VideoInput/defaultStreamName``.
    public var streamName: String?
    /// Decoder threads (`AVCodecContext.thread_count`); decoding is cheap next to CLIP, so 1–2 is enough.
    public var decoderThreads: Int = 2
    /// Most pixels a picture may have. A stream whose parameters declare more is refused at open; a picture that
    /// declares far more later (over twice, allowing for decoders' padding: `AVCodecContext.max_pixels`) is refused
    /// by the decoder before it is allocated, and its packet counts as undecodable. Default 8192 × 8192, above any
    /// camera's 8K; a damaged or hostile header can otherwise declare up to 16384 × 16384 (268 MP, 400 MB a frame).
    public var maxFramePixels: Int = 8192 * 8192
    /// Seconds a live open or read may block before it counts as a drop (enforced by the interrupt callback and
    /// passed to the protocols as `rw_timeout` / RTSP `timeout`).
    public var ioTimeout: Double = 10
    /// RTSP lower transport (`rtsp_transport`): "tcp" (default; works through NAT and firewalls) or "udp".
    public var rtspTransport: String = "tcp"
    /// Reconnection of live inputs after a drop.
    public var reconnect: ReconnectPolicy = ReconnectPolicy()
    /// Most bytes of a piped MP4/MOV (stdin) that are spooled to a temporary file when its index (`moov`) comes
    /// after the media data, which a pipe cannot seek back to (default 2 GiB; the file is deleted once opened).
    /// Beyond it the source refuses with a line saying to use `-movflags +faststart` or a fragmented MP4.
    public var pipeSpoolLimit: Int64 = 2 << 30

    /// ``pipeSpoolLimit`` in MiB, as pipeline files and flags give it; below 1 MiB it is 0 (no input fits).
    public var pipeSpoolLimitMiB: Int64 {
        get { pipeSpoolLimit >> 20 }
        set { pipeSpoolLimit = newValue < 1 ? 0 : newValue > Int64.max >> 20 ? .max : newValue << 20 }
    }

    /// Extra demuxer/protocol options (`-video_size 1280x720`, `-framerate 30` for cameras, `-headers` ...).
    public var formatOptions: [String: String] = [:]

    /// The defaults: 2 fps, CLIP's 224 px preprocessing, no tiles, 32×32 luma, reconnect 0.5 s doubling to 30 s.
    public init() {}
}

/// Which decoded frames are sampled.
public enum SamplingPolicy: Sendable, Hashable, CustomStringConvertible {
    /// At most N frames per second of presentation time (chosen by pts, so variable frame rate is fine).
    case fps(Double)
    /// Every Nth decoded frame (1 = all).
    case every(Int)
    /// Only keyframes; the others are not even decoded (`AVDISCARD_NONKEY`).
    case keyframes

    public var description: String {
        switch self {
        case .fps(let n): return "\(n) fps"
        case .every(let n): return n == 1 ? "every frame" : "every \(n)th frame"
        case .keyframes: return "keyframes"
        }
    }
}

/// A grid of tiles: the frame is split into `columns` × `rows` cells, and each cell is covered by the smallest
/// square around its centre that contains it (shifted to stay inside the frame), so tiles overlap a little and
/// are never distorted. Each tile is resized and cropped like the whole frame (``VideoSourceOptions/preprocessing``).
public struct TileGrid: Sendable, Hashable, CustomStringConvertible {
    public var columns: Int
    public var rows: Int

    public init(columns: Int, rows: Int) {
        precondition(columns > 0 && rows > 0, "TileGrid needs at least one column and one row")
        self.columns = columns
        self.rows = rows
    }

    /// Parses `2x2`, `3x2` (columns x rows); nil if malformed.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x")
        // Each side is bounded before the product, so `3037000500x3037000500` cannot overflow.
        guard parts.count == 2, let c = Int(parts[0]), let r = Int(parts[1]), (1...64).contains(c),
            (1...64).contains(r), c * r <= 64
        else {
            return nil
        }
        self.init(columns: c, rows: r)
    }

    public var description: String { "\(columns)x\(rows)" }
}

/// Capped exponential backoff for live inputs: wait `initialDelay`, then double up to `maxDelay`, forever
/// (or `maxAttempts` times in a row). A successful read of a frame resets the delay.
public struct ReconnectPolicy: Sendable, Hashable {
    /// Whether live inputs (network, camera) reconnect at all; files and pipes never do.
    public var enabled: Bool = true
    public var initialDelay: Double = 0.5
    public var maxDelay: Double = 30
    public var multiplier: Double = 2
    /// Give up after this many failed attempts in a row (nil: never).
    public var maxAttempts: Int?

    public init(
        enabled: Bool = true, initialDelay: Double = 0.5, maxDelay: Double = 30, multiplier: Double = 2,
        maxAttempts: Int? = nil
    ) {
        self.enabled = enabled
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.maxAttempts = maxAttempts
    }

    /// The wait before attempt `attempt` (1-based).
    public func delay(forAttempt attempt: Int) -> Double {
        let exponent = Double(max(0, attempt - 1))
        return min(maxDelay, initialDelay * pow(multiplier, exponent))
    }
}
