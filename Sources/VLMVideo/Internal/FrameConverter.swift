import CFFmpeg
import VLMCore

/// Converts decoded frames with swscale, straight from the decoder's pixel format to what each consumer needs: a
/// cropped source region to S×S RGB24 for the encoder (two `sws_scale` passes for YUV, see ``viewThroughYUV``), the
/// whole frame to a small GRAY8 thumbnail for the scene gate, an aspect-preserving RGB24 preview (one pass each).
/// Scaler contexts are cached per geometry; the only per-frame allocations are the output arrays.
final class FrameConverter {
    /// What a scaler reads: geometry, pixel format, and the colour details that decide its conversion.
    private struct Source: Hashable {
        var width: Int32, height: Int32, format: Int32
        var colorspace: UInt32, fullRange: Bool

        init(_ frame: UnsafeMutablePointer<AVFrame>) {
            width = frame.pointee.width
            height = frame.pointee.height
            format = frame.pointee.format
            colorspace = frame.pointee.colorspace.rawValue
            fullRange = Self.isFullRange(frame.pointee.color_range, format: frame.pointee.format)
        }

        /// The range of a frame's samples: its tag, else what swscale assumes for the format when none is given (full
        /// for the JPEG-range YUVJ formats and for grey, such as a thermal camera's 16-bit frames; limited for other
        /// YUV). Runs for every view of every frame: a table lookup, no allocation.
        static func isFullRange(_ range: AVColorRange, format: Int32) -> Bool {
            switch range {
            case AVCOL_RANGE_JPEG: return true
            case AVCOL_RANGE_MPEG: return false
            default:
                switch AVPixelFormat(rawValue: format) {
                case AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P,
                    AV_PIX_FMT_YUVJ411P:
                    return true
                default:
                    guard let descriptor = av_pix_fmt_desc_get(AVPixelFormat(rawValue: format)) else { return false }
                    return descriptor.pointee.nb_components <= 2 && !isRGB(descriptor)  // grey, with or without alpha
                }
            }
        }

        /// A picture of `width`×`height` in `format` with `colours`' matrix and range.
        init(width: Int, height: Int, format: AVPixelFormat, colours: Source) {
            self.width = Int32(width)
            self.height = Int32(height)
            self.format = format.rawValue
            colorspace = colours.colorspace
            fullRange = colours.fullRange
        }

        /// YUV or grey: samples whose conversion to RGB depends on the matrix and the range.
        var isYUVOrGrey: Bool { av_pix_fmt_desc_get(AVPixelFormat(rawValue: format)).map { !isRGB($0) } ?? false }
    }

    /// RGB or palette samples (no matrix, no range).
    private static func isRGB(_ descriptor: UnsafePointer<AVPixFmtDescriptor>) -> Bool {
        descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL) != 0
    }

    private struct Key: Hashable {
        var source: Source
        var dstWidth: Int32, dstHeight: Int32, dstFormat: Int32
        var flags: Int32
    }

    /// The first pass's output for YUV pictures (see ``viewThroughYUV``): 4:4:4 planes of 16-bit samples, so the
    /// scaled values keep swscale's intermediate precision before the colour conversion rounds them once.
    private static let intermediateFormat = AV_PIX_FMT_YUV444P16LE

    /// Resampling for the encoder views: swscale's bicubic, which widens its kernel by the downscale factor and so
    /// antialiases like PIL's resize. Measured with scripts/compare_video_resize.py (plaza 768×576 → 224, same
    /// RGB input and grid as PIL's bicubic): bicubic mean |Δ| 0.23 levels (p99 2), lanczos 0.74, area 0.82,
    /// bilinear 1.16; our one-pass YUV → 224 RGB view is 0.37 (p99 5) from the PIL reference on the decoded frame.
    static let encoderFlags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP

    private var contexts: [Key: OpaquePointer] = [:]
    private var scratch: [UInt8] = []
    /// The first pass's three planes for YUV pictures, reused across frames.
    private var intermediate: [UInt16] = []
    /// sws_scale's destination plane and stride lists, allocated once (plane 0 for packed output, 0–2 for the
    /// intermediate).
    private let destinationPlanes = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 4)
    private let destinationStrides = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
    /// The same for the second pass's source: the intermediate's planes at the window.
    private let sourcePlanes = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: 4)
    private let sourceStrides = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
    private let cropped: UnsafeMutablePointer<AVFrame>

    init() {
        cropped = av_frame_alloc()
        destinationPlanes.initialize(repeating: nil, count: 4)
        destinationStrides.initialize(repeating: 0, count: 4)
        sourcePlanes.initialize(repeating: nil, count: 4)
        sourceStrides.initialize(repeating: 0, count: 4)
    }

    deinit {
        for context in contexts.values { sws_freeContext(context) }
        destinationPlanes.deallocate()
        destinationStrides.deallocate()
        sourcePlanes.deallocate()
        sourceStrides.deallocate()
        var frame: UnsafeMutablePointer<AVFrame>? = cropped
        av_frame_free(&frame)
    }

    /// Swscale flags for a preprocessing description's `resample`: bicubic as ``encoderFlags``, bilinear (SigLIP's
    /// `resample: 2`; swscale widens it on downscaling too) or nearest, each with the same accurate rounding and
    /// full-resolution chroma.
    static func flags(for resample: ImagePreprocessing.Resample) -> Int32 {
        let exact = SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP
        switch resample {
        case .bicubic: return encoderFlags
        case .bilinear: return SWS_BILINEAR | exact
        case .nearest: return SWS_POINT | exact
        }
    }

    /// Scales the region (`x`, `y`, `width`, `height`, in pixels) of `frame` to `dstWidth`×`dstHeight` in
    /// `dstFormat` (RGB24 or GRAY8), returning tightly packed bytes.
    func convert(
        _ frame: UnsafeMutablePointer<AVFrame>, region: (x: Int, y: Int, width: Int, height: Int)? = nil,
        to dstWidth: Int, _ dstHeight: Int, format dstFormat: AVPixelFormat, flags: Int32 = encoderFlags
    ) throws(VideoError) -> [UInt8] {
        try crop(frame, to: region.map { PixelRegion(x: $0.x, y: $0.y, width: $0.width, height: $0.height) })
        defer { av_frame_unref(cropped) }
        let context = try scaler(
            for: Source(cropped), to: Int32(dstWidth), Int32(dstHeight), format: dstFormat, flags: flags)
        let channels = dstFormat == AV_PIX_FMT_GRAY8 ? 1 : 3
        let count = dstWidth * dstHeight * channels
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            scale(cropped, with: context, into: buffer.baseAddress!, stride: dstWidth * channels)
            initialized = count
        }
    }

    /// One view in one `sws_scale`: the stored `region` of `frame` (all of it when nil) scaled to
    /// `width`×`height` (stored orientation), turned by `orientation`, and `window` of the turned result (displayed
    /// coordinates; black where it reaches outside). With no turn and the whole result kept, swscale writes the
    /// output directly; otherwise it writes a scratch buffer reused across frames and the window is copied out.
    /// RGB24 views of YUV pictures with full-resolution chroma (the encoder views' flags) take two passes instead
    /// (``viewThroughYUV``).
    ///
    /// Scaling the whole picture and copying the window reproduces a resize-then-crop on the exact reference
    /// pixel grid; scaling commutes with the turn (each axis is scaled on its own), so only the small scaled
    /// picture is turned, never the decoded frame.
    func view(
        _ frame: UnsafeMutablePointer<AVFrame>, region: PixelRegion? = nil, scaledTo width: Int, _ height: Int,
        orientation: VideoOrientation = .identity, window: PixelRegion? = nil, format: AVPixelFormat,
        flags: Int32 = encoderFlags
    ) throws(VideoError) -> [UInt8] {
        let displayed = orientation.displayedSize(width: width, height: height)
        let whole = PixelRegion(x: 0, y: 0, width: displayed.width, height: displayed.height)
        let window = window ?? whole
        if format == AV_PIX_FMT_RGB24 && flags & SWS_FULL_CHR_H_INT != 0 && Self.hasChroma(frame.pointee.format) {
            try crop(frame, to: region)
            defer { av_frame_unref(cropped) }
            return try viewThroughYUV(
                cropped, scaledTo: width, height, orientation: orientation, window: window, flags: flags)
        }
        if orientation.isIdentity && window == whole {
            return try convert(
                frame, region: region.map { ($0.x, $0.y, $0.width, $0.height) }, to: width, height,
                format: format, flags: flags)
        }
        try crop(frame, to: region)
        defer { av_frame_unref(cropped) }
        let context = try scaler(
            for: Source(cropped), to: Int32(width), Int32(height), format: format, flags: flags)
        let channels = format == AV_PIX_FMT_GRAY8 ? 1 : 3
        return turned(window, orientation: orientation, width: width, height: height, channels: channels) {
            scale(cropped, with: context, into: $0, stride: width * channels)
        }
    }

    /// An RGB24 view of a YUV picture in two passes: `cropped` scaled to `width`×`height` in 16-bit 4:4:4 YUV,
    /// then converted to RGB24 at that size, only the window's pixels when it is upright and inside.
    ///
    /// swscale's one pass to RGB24 with full-resolution chroma runs its vertical filter and colour conversion in
    /// scalar C, a loop over the taps for each output pixel and channel; scaling YUV to YUV runs its SIMD filters.
    /// Measured on plaza (768×576 → 298×224 bicubic, window 224×224), one thread: 1.30 ms a frame in one pass,
    /// 0.50 + 0.22 ms in two. The views are the same pictures: over 100 frames 0.5 % of the values differ, all but
    /// 275 of 15 million by one level (the intermediate is rounded to 16 bits), the rest, near black, by up to 10.
    private func viewThroughYUV(
        _ cropped: UnsafeMutablePointer<AVFrame>, scaledTo width: Int, _ height: Int, orientation: VideoOrientation,
        window: PixelRegion, flags: Int32
    ) throws(VideoError) -> [UInt8] {
        let source = Source(cropped)
        let first = try scaler(
            for: source, to: Int32(width), Int32(height), format: Self.intermediateFormat, flags: flags)
        let plane = width * height
        if intermediate.count < 3 * plane { intermediate = [UInt16](repeating: 0, count: 3 * plane) }
        let displayed = orientation.displayedSize(width: width, height: height)
        let inside =
            window.x >= 0 && window.y >= 0 && window.x + window.width <= displayed.width
            && window.y + window.height <= displayed.height
        // Upright and inside: only the window is converted, straight into the view. Otherwise all of it, then turned.
        let direct = orientation.isIdentity && inside
        let part = direct ? window : PixelRegion(x: 0, y: 0, width: width, height: height)
        let second = try scaler(
            for: Source(width: part.width, height: part.height, format: Self.intermediateFormat, colours: source),
            to: Int32(part.width), Int32(part.height), format: AV_PIX_FMT_RGB24, flags: Self.conversionFlags)
        return intermediate.withUnsafeMutableBytes { yuv in
            let base = yuv.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let rowBytes = width * 2
            scale(
                first, source: Self.frameSource(cropped), into: base, stride: rowBytes, planes: 3, planeBytes: 2 * plane
            )
            for p in 0..<3 {
                sourcePlanes[p] = UnsafePointer(base + p * 2 * plane + part.y * rowBytes + part.x * 2)
                sourceStrides[p] = Int32(rowBytes)
            }
            let rows = (sourcePlanes, sourceStrides, Int32(part.height))
            if direct {
                let count = window.width * window.height * 3
                return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    scale(second, source: rows, into: buffer.baseAddress!, stride: window.width * 3)
                    initialized = count
                }
            }
            return turned(window, orientation: orientation, width: width, height: height, channels: 3) {
                scale(second, source: rows, into: $0, stride: width * 3)
            }
        }
    }

    /// `window` (displayed coordinates) of a packed stored `width`×`height` picture that `write` puts in the scratch
    /// buffer, turned by `orientation`.
    private func turned(
        _ window: PixelRegion, orientation: VideoOrientation, width: Int, height: Int, channels: Int,
        write: (UnsafeMutablePointer<UInt8>) -> Void
    ) -> [UInt8] {
        let rowBytes = width * channels
        if scratch.count < rowBytes * height { scratch = [UInt8](repeating: 0, count: rowBytes * height) }
        scratch.withUnsafeMutableBufferPointer { write($0.baseAddress!) }
        return scratch.withUnsafeBufferPointer { stored in
            orientation.window(window, of: stored, storedWidth: width, storedHeight: height, channels: channels)
        }
    }

    /// Whether frames of `format` are YUV with colour: not RGB, not grey, not palette, bitstream or hardware.
    private static func hasChroma(_ format: Int32) -> Bool {
        guard let descriptor = av_pix_fmt_desc_get(AVPixelFormat(rawValue: format)) else { return false }
        let excluded = UInt64(
            AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM)
        return descriptor.pointee.nb_components >= 3 && descriptor.pointee.flags & excluded == 0
    }

    /// The second pass converts at one size: no filter taps, chroma at full resolution.
    private static let conversionFlags = SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT

    /// Points `cropped` at `region` of `frame` (all of it when nil), sharing its buffers: av_frame_ref shares them,
    /// av_frame_apply_cropping moves the data pointers. The caller unrefs `cropped`.
    private func crop(_ frame: UnsafeMutablePointer<AVFrame>, to region: PixelRegion?) throws(VideoError) {
        guard av_frame_ref(cropped, frame) >= 0 else { throw .invalidRequest("cannot reference a decoded frame") }
        guard var region else { return }
        // Chroma planes can only be cut at whole chroma samples: move the origin back to a multiple of the
        // subsampling (keeping the far edge), or chroma would be shifted against luma by half a pixel.
        if let descriptor = av_pix_fmt_desc_get(AVPixelFormat(rawValue: frame.pointee.format)) {
            let alignX = 1 << Int(descriptor.pointee.log2_chroma_w)
            let alignY = 1 << Int(descriptor.pointee.log2_chroma_h)
            let x = region.x / alignX * alignX
            let y = region.y / alignY * alignY
            region = PixelRegion(x: x, y: y, width: region.width + region.x - x, height: region.height + region.y - y)
        }
        cropped.pointee.crop_left = region.x
        cropped.pointee.crop_top = region.y
        cropped.pointee.crop_right = Int(frame.pointee.width) - region.x - region.width
        cropped.pointee.crop_bottom = Int(frame.pointee.height) - region.y - region.height
        guard av_frame_apply_cropping(cropped, Int32(AV_FRAME_CROP_UNALIGNED)) >= 0 else {
            av_frame_unref(cropped)
            throw .invalidRequest("crop \(region) outside a \(frame.pointee.width)x\(frame.pointee.height) frame")
        }
    }

    /// A scaler's source rows: plane pointers, their strides, and how many rows.
    private typealias SourceRows = (
        planes: UnsafeMutablePointer<UnsafePointer<UInt8>?>, strides: UnsafeMutablePointer<Int32>, rows: Int32
    )

    /// All of `frame` as a scaler's source. AVFrame.data / .linesize are fixed C arrays (Swift tuples); sws_scale
    /// wants pointers to their first slots.
    private static func frameSource(_ frame: UnsafeMutablePointer<AVFrame>) -> SourceRows {
        let base = UnsafeMutableRawPointer(frame)
        return (
            (base + dataOffset).assumingMemoryBound(to: UnsafePointer<UInt8>?.self),
            (base + linesizeOffset).assumingMemoryBound(to: Int32.self), frame.pointee.height
        )
    }

    /// One `sws_scale` of all of `frame` into a packed buffer.
    private func scale(
        _ frame: UnsafeMutablePointer<AVFrame>, with context: OpaquePointer, into buffer: UnsafeMutablePointer<UInt8>,
        stride: Int
    ) {
        scale(context, source: Self.frameSource(frame), into: buffer, stride: stride)
    }

    /// One `sws_scale` of `source` into `planes` planes of `buffer`, `planeBytes` apart, each row `stride` bytes.
    private func scale(
        _ context: OpaquePointer, source: SourceRows, into buffer: UnsafeMutablePointer<UInt8>, stride: Int,
        planes: Int = 1, planeBytes: Int = 0
    ) {
        for p in 0..<planes {
            destinationPlanes[p] = buffer + p * planeBytes
            destinationStrides[p] = Int32(stride)
        }
        _ = sws_scale(
            context, UnsafePointer(source.planes), source.strides, 0, source.rows, destinationPlanes,
            destinationStrides)
    }

    private static let dataOffset = MemoryLayout<AVFrame>.offset(of: \AVFrame.data)!
    private static let linesizeOffset = MemoryLayout<AVFrame>.offset(of: \AVFrame.linesize)!

    /// The cached scaler from `source` to `width`×`height` in `format`, created (with colour details) on first use.
    private func scaler(
        for source: Source, to width: Int32, _ height: Int32, format: AVPixelFormat, flags: Int32
    ) throws(VideoError) -> OpaquePointer {
        let key = Key(source: source, dstWidth: width, dstHeight: height, dstFormat: format.rawValue, flags: flags)
        if let context = contexts[key] { return context }
        let srcFormat = AVPixelFormat(rawValue: source.format)
        guard
            let context = sws_getContext(
                source.width, source.height, srcFormat, width, height, format, flags, nil, nil, nil)
        else {
            let name = av_get_pix_fmt_name(srcFormat).map { String(cString: $0) } ?? "\(source.format)"
            throw .invalidRequest("swscale cannot convert \(name) \(source.width)x\(source.height)")
        }
        // Honour the stream's matrix (BT.709 for HD) and range instead of swscale's BT.601 limited default.
        let colorspace: Int32
        switch AVColorSpace(rawValue: source.colorspace) {
        case AVCOL_SPC_BT709: colorspace = SWS_CS_ITU709
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: colorspace = SWS_CS_BT2020
        case AVCOL_SPC_SMPTE240M: colorspace = SWS_CS_SMPTE240M
        case AVCOL_SPC_FCC: colorspace = SWS_CS_FCC
        default: colorspace = SWS_CS_DEFAULT
        }
        if source.isYUVOrGrey {
            let table = sws_getCoefficients(colorspace)
            // To RGB: full range out. To the YUV intermediate: the source's own matrix and range, left as they are.
            let range: Int32 = source.fullRange ? 1 : 0
            let toYUV = format == Self.intermediateFormat
            _ = sws_setColorspaceDetails(
                context, table, range, toYUV ? table : sws_getCoefficients(SWS_CS_DEFAULT), toYUV ? range : 1, 0,
                1 << 16, 1 << 16)
        }
        contexts[key] = context
        return context
    }
}
