import VLMCore

/// What is known about an open input: enough for a progress bar and for logs.
public struct StreamInfo: Sendable, Equatable {
    /// The input as given (passwords masked).
    public var input: String
    /// libavformat's name for the container or protocol (`mov,mp4,m4a,3gp,3g2,mj2`, `rtsp`, `hls`...).
    public var container: String
    /// The video codec (`h264`, `hevc`, `mjpeg`...).
    public var codec: String
    /// The displayed size in pixels (the stored size turned by ``orientation``): the size of the pictures the
    /// source's views and previews are made from.
    public var width: Int
    public var height: Int
    /// Nominal frame rate as FFmpeg guesses it (`av_guess_frame_rate`); nil when unknown.
    public var nominalFPS: Double?
    /// Duration in seconds, when the container states one (files, VOD streams).
    public var duration: Double?
    /// Number of video frames, stated or estimated from duration × fps; nil when unknown.
    public var estimatedFrameCount: Int?
    /// True for inputs that may drop and reconnect (network, camera).
    public var isLive: Bool
    /// Whether the input also carries audio.
    public var hasAudio: Bool
    /// How the stored pixels are turned for display (display matrix or `rotate` tag); applied to every frame.
    public var orientation: VideoOrientation = .identity

    /// A one-line summary for logs: `plaza.mp4: h264 768x576 10 fps 10.0 s (mov,mp4,...)`.
    public var summary: String {
        var parts = ["\(codec) \(width)x\(height)"]
        if !orientation.isIdentity { parts.append("(\(orientation))") }
        if let nominalFPS { parts.append(String(format: "%.3g fps", nominalFPS)) }
        if let duration { parts.append(MediaTime.format(duration)) }
        if hasAudio { parts.append("with audio") }
        return "\(input): " + parts.joined(separator: " ") + " [\(container)]"
    }
}

/// A sampled frame: the encoder-ready ``Frame`` plus what the pipeline may want besides.
public struct SampledFrame: Sendable {
    /// The frame for the encoder: `views[0]` the centre square at S×S, then tiles; `luma` for the scene gate.
    public var frame: Frame
    /// The whole frame at ``VideoSourceOptions/previewWidth`` (aspect preserved) for event thumbnails.
    public var preview: RGBImage?
    /// Whether this was a keyframe (an I-frame) in the stream.
    public var isKeyframe: Bool
    /// The displayed frame's size in pixels (the decoded size turned by the stream's orientation).
    public var sourceWidth: Int
    public var sourceHeight: Int
}

/// Something that happened to a source, for status lines, MQTT status messages and logs.
public enum VideoSourceEvent: Sendable, Equatable {
    /// The input was opened (first time).
    case opened(StreamInfo)
    /// A live input dropped (or failed to reopen) and the source will try again after `delay` seconds.
    case reconnecting(attempt: Int, delay: Double, reason: String)
    /// The input is back.
    case reconnected(StreamInfo)
    /// No more frames: end of file, cancelled, or given up (`reason` says which).
    case ended(reason: String)
}
