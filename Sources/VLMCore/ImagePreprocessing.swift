import Foundation

/// A model's image preprocessing, as its Hugging Face `preprocessor_config.json` describes it: resize, centre
/// crop, rescale, normalise. One description drives both image paths, so a still image and a video frame of the
/// same picture reach the encoder with the same geometry:
///
/// - stills: CLIP's `CLIPImagePreprocessor` (PIL-exact resampling in Swift);
/// - video: VLMVideo's one swscale pass per view (`VideoSourceOptions.preprocessing`).
///
/// Both take the resize size and the crop window from ``geometry(width:height:)``.
public struct ImagePreprocessing: Sendable, Equatable {
    /// PIL resampling filters (`resample`: 0 nearest, 2 bilinear, 3 bicubic).
    public enum Resample: Int, Sendable {
        case nearest = 0
        case bilinear = 2
        case bicubic = 3
    }

    /// What the resize step targets.
    public enum Size: Sendable, Equatable {
        /// Scale so the shorter side is this long, keeping the aspect ratio (`{"shortest_edge": n}` or a bare int).
        case shortestEdge(Int)
        /// Scale to exactly this size, ignoring the aspect ratio (`{"height": h, "width": w}`, as SigLIP does).
        case exact(height: Int, width: Int)
    }

    /// Where the output comes from in an image: the size the whole image is resized to, and the window of the
    /// resized image that is kept. The window may reach outside the resized image, as transformers' `center_crop`
    /// pads a small image with black.
    public struct Geometry: Sendable, Equatable {
        public var resizedWidth: Int
        public var resizedHeight: Int
        public var cropX: Int
        public var cropY: Int
        public var cropWidth: Int
        public var cropHeight: Int

        public init(resizedWidth: Int, resizedHeight: Int, cropX: Int, cropY: Int, cropWidth: Int, cropHeight: Int) {
            self.resizedWidth = resizedWidth
            self.resizedHeight = resizedHeight
            self.cropX = cropX
            self.cropY = cropY
            self.cropWidth = cropWidth
            self.cropHeight = cropHeight
        }

        /// True when the window is all of the resized image (no copy needed).
        public var keepsWholeImage: Bool {
            cropX == 0 && cropY == 0 && cropWidth == resizedWidth && cropHeight == resizedHeight
        }
    }

    /// What the resize step targets (`size`).
    public var size: Size
    /// Centre-crop height (`crop_size.height`).
    public var cropHeight: Int
    /// Centre-crop width (`crop_size.width`).
    public var cropWidth: Int
    /// Resampling filter (`resample`).
    public var resample: Resample
    /// `do_resize`.
    public var doResize: Bool
    /// `do_center_crop`; false resizes straight to `size` (which must then be `.exact`).
    public var doCenterCrop: Bool
    /// `do_rescale`.
    public var doRescale: Bool
    /// `do_normalize`.
    public var doNormalize: Bool
    /// `do_convert_rgb`. Both paths always hand the encoder RGB (stills are decoded to RGB, video frames are
    /// converted by swscale), so this is recorded but changes nothing.
    public var doConvertRGB: Bool
    /// `rescale_factor` (1/255), applied in double precision as numpy does.
    public var rescaleFactor: Double
    /// Per-channel `image_mean` (R, G, B).
    public var mean: [Float]
    /// Per-channel `image_std` (R, G, B).
    public var std: [Float]

    /// Builds a description; defaults are transformers' `CLIPImageProcessor`'s.
    public init(
        size: Size, cropHeight: Int, cropWidth: Int, resample: Resample = .bicubic, doResize: Bool = true,
        doCenterCrop: Bool = true, doRescale: Bool = true, doNormalize: Bool = true, doConvertRGB: Bool = true,
        rescaleFactor: Double = 1 / 255,
        mean: [Float] = [0.48145466, 0.4578275, 0.40821073], std: [Float] = [0.26862954, 0.26130258, 0.27577711]
    ) {
        self.size = size
        self.cropHeight = cropHeight
        self.cropWidth = cropWidth
        self.resample = resample
        self.doResize = doResize
        self.doCenterCrop = doCenterCrop
        self.doRescale = doRescale
        self.doNormalize = doNormalize
        self.doConvertRGB = doConvertRGB
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.std = std
    }

    /// CLIP's square preprocessing at side `side`: shortest edge → `side`, centre crop `side`×`side`, bicubic,
    /// OpenAI's mean and std.
    public static func clip(side: Int) -> ImagePreprocessing {
        ImagePreprocessing(size: .shortestEdge(side), cropHeight: side, cropWidth: side)
    }

    /// openai/clip-vit-base-patch32's settings.
    public static let openAI = clip(side: 224)

    // MARK: - Geometry

    /// Whether every image comes out the same size (the encoder needs that): a centre crop, or a resize to an
    /// exact size.
    public var hasFixedOutputSize: Bool {
        if doCenterCrop { return true }
        if doResize, case .exact = size { return true }
        return false
    }

    /// Height and width of the output (``hasFixedOutputSize`` must hold; the loaders check it).
    public var outputSize: (height: Int, width: Int) {
        if doCenterCrop { return (cropHeight, cropWidth) }
        if doResize, case .exact(let h, let w) = size { return (h, w) }
        preconditionFailure("without a centre crop the output size depends on the input")
    }

    /// transformers' `get_resize_output_image_size(default_to_square=False)`: short side → size, long side
    /// `int(size * long / short)` (truncated, as torchvision and transformers compute it); or the exact size.
    public func targetSize(height: Int, width: Int) -> (height: Int, width: Int) {
        switch size {
        case .exact(let h, let w):
            return (h, w)
        case .shortestEdge(let edge):
            let short = min(height, width)
            let long = max(height, width)
            let newLong = Int(Double(edge * long) / Double(short))
            return width <= height ? (newLong, edge) : (edge, newLong)
        }
    }

    /// transformers' numpy `center_crop` origin: `(H - h) // 2`, or minus the top/left padding
    /// `ceil((h - H) / 2)` when the image is smaller than the crop.
    public static func cropOrigin(image: Int, crop: Int) -> Int {
        image >= crop ? (image - crop) / 2 : -((crop - image + 1) / 2)
    }

    /// The resize and crop for a `width`×`height` image: resize the whole image (when `do_resize`), then take the
    /// centre window (when `do_center_crop`). Resizing the whole image and copying the window reproduces the
    /// reference pixel grid exactly; cropping first and scaling the crop would shift it by a fraction of a pixel.
    public func geometry(width: Int, height: Int) -> Geometry {
        let (h, w) = doResize ? targetSize(height: height, width: width) : (height, width)
        guard doCenterCrop else {
            return Geometry(resizedWidth: w, resizedHeight: h, cropX: 0, cropY: 0, cropWidth: w, cropHeight: h)
        }
        return Geometry(
            resizedWidth: w, resizedHeight: h, cropX: Self.cropOrigin(image: w, crop: cropWidth),
            cropY: Self.cropOrigin(image: h, crop: cropHeight), cropWidth: cropWidth, cropHeight: cropHeight)
    }
}
