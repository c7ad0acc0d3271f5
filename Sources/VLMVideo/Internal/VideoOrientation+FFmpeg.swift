import CFFmpeg
import Foundation

// MARK: - Reading the orientation FFmpeg reports

extension VideoOrientation {
    /// The orientation a display matrix (`AV_PKT_DATA_DISPLAYMATRIX`, 3×3 row-major, 16.16 fixed point in the
    /// 2×2 part) asks for, decided as the ffmpeg CLI's autorotation does (fftools, FFmpeg 6.1):
    /// θ = atan2(m[1], m[0]) clockwise; at 90° `transpose=clock` (or `cclock_flip` when m[3] > 0), at 270°
    /// `transpose=cclock` (or `clock_flip` when m[3] < 0), at 180° `hflip` when m[0] < 0 and `vflip` when
    /// m[4] < 0, at 0° `vflip` when m[4] < 0. FFmpeg 5.1's CLI applies the same rotations and ignores mirrors.
    /// nil for a degenerate matrix or an angle that is not a multiple of 90° (which swscale cannot turn).
    init?(displayMatrix m: [Int32]) {
        guard m.count >= 9 else { return nil }
        let a = Double(m[0]) / 65536
        let b = Double(m[1]) / 65536
        let c = Double(m[3]) / 65536
        let d = Double(m[4]) / 65536
        let scaleX = (a * a + c * c).squareRoot()
        let scaleY = (b * b + d * d).squareRoot()
        guard scaleX > 0, scaleY > 0 else { return nil }
        var theta = (atan2(b / scaleY, a / scaleX) * 180 / .pi).rounded()
        theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
        let quarter = (theta / 90).rounded()
        guard abs(theta - quarter * 90) < 1 else { return nil }
        switch Int(quarter) % 4 {
        case 1: self.init(rotation: 90, mirrored: m[3] > 0)  // cclock_flip: a transpose
        case 2:
            switch (m[0] < 0, m[4] < 0) {
            case (true, true): self.init(rotation: 180)
            case (true, false): self.init(rotation: 0, mirrored: true)  // hflip
            case (false, true): self.init(rotation: 180, mirrored: true)  // vflip
            case (false, false): self.init(rotation: 0)
            }
        case 3: self.init(rotation: 270, mirrored: m[3] < 0)  // clock_flip
        default: self.init(rotation: m[4] < 0 ? 180 : 0, mirrored: m[4] < 0)  // vflip
        }
    }

    /// The legacy `rotate` tag: degrees clockwise (`90`, `180`, `270`); nil when absent, 0 or not a multiple of 90.
    init?(rotateTag value: String) {
        // Int(exactly:): a tag is the file's text, and "1e300" is a finite number no Int holds.
        guard let degrees = Double(value.trimmingCharacters(in: .whitespaces)),
            let quarter = Int(exactly: (degrees / 90).rounded()), abs(degrees - Double(quarter) * 90) < 1,
            quarter % 4 != 0
        else { return nil }
        self.init(rotation: quarter % 4 * 90)
    }

    /// The stream's orientation: its display matrix side data, else its `rotate` tag; identity when it has
    /// neither (a per-frame display matrix is then looked for on each frame, see ``init(frame:)``).
    init(stream: UnsafeMutablePointer<AVStream>) {
        var size = 0
        if let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36,
            let orientation = VideoOrientation(displayMatrix: Self.matrix(data))
        {
            self = orientation
        } else if let tag = av_dict_get(stream.pointee.metadata, "rotate", nil, 0),
            let orientation = VideoOrientation(rotateTag: String(cString: tag.pointee.value))
        {
            self = orientation
        } else {
            self = .identity
        }
    }

    /// Whether `stream` states an orientation at all (display matrix or `rotate` tag), even the identity.
    static func isStated(in stream: UnsafeMutablePointer<AVStream>) -> Bool {
        var size = 0
        return av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size) != nil
            || av_dict_get(stream.pointee.metadata, "rotate", nil, 0) != nil
    }

    /// A frame's own display matrix (`AV_FRAME_DATA_DISPLAYMATRIX`, e.g. from an H.264 display-orientation SEI in
    /// a live stream), or nil.
    init?(frame: UnsafeMutablePointer<AVFrame>) {
        guard let side = av_frame_get_side_data(frame, AV_FRAME_DATA_DISPLAYMATRIX), side.pointee.size >= 36,
            let data = side.pointee.data
        else { return nil }
        self.init(displayMatrix: Self.matrix(data))
    }

    private static func matrix(_ data: UnsafeMutablePointer<UInt8>) -> [Int32] {
        (0..<9).map { UnsafeRawPointer(data).loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
    }
}
