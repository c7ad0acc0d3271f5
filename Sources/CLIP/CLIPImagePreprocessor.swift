import Foundation
import VLMCore

/// CLIP's image preprocessing, as transformers' `CLIPImageProcessorPil` does it: resize so the shortest side is
/// `size` (PIL's antialiased resampling, uint8 after each pass), centre-crop to `cropHeight`×`cropWidth`, scale by
/// `rescaleFactor` and normalise with `mean`/`std` into a planar (3, H, W) float tensor.
///
/// transformers 5's default `CLIPImageProcessor` (torchvision backend) differs from this by at most one uint8 step
/// per pixel (0.015 after normalisation; measured in scripts/golden/make_preprocess_goldens.py).
public struct CLIPImagePreprocessor: Sendable, Equatable {
    /// PIL resampling filters (`preprocessor_config.json`'s `resample`: 0 nearest, 2 bilinear, 3 bicubic).
    public enum Resample: Int, Sendable {
        case nearest = 0
        case bilinear = 2
        case bicubic = 3
    }

    /// What the resize step targets.
    public enum Size: Sendable, Equatable {
        /// Scale so the shorter side is this long, keeping the aspect ratio (`{"shortest_edge": n}` or a bare int).
        case shortestEdge(Int)
        /// Scale to exactly this size (`{"height": h, "width": w}`).
        case exact(height: Int, width: Int)
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
    /// `do_center_crop`.
    public var doCenterCrop: Bool
    /// `do_rescale`.
    public var doRescale: Bool
    /// `do_normalize`.
    public var doNormalize: Bool
    /// `rescale_factor` (1/255), applied in double precision as numpy does.
    public var rescaleFactor: Double
    /// Per-channel `image_mean` (R, G, B).
    public var mean: [Float]
    /// Per-channel `image_std` (R, G, B).
    public var std: [Float]

    /// openai/clip-vit-base-patch32's settings.
    public static let openAI = CLIPImagePreprocessor(size: .shortestEdge(224), cropHeight: 224, cropWidth: 224)

    /// Builds a preprocessor; defaults are CLIPImageProcessor's.
    public init(
        size: Size, cropHeight: Int, cropWidth: Int, resample: Resample = .bicubic, doResize: Bool = true,
        doCenterCrop: Bool = true, doRescale: Bool = true, doNormalize: Bool = true,
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
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.std = std
    }

    // MARK: - Pipeline

    /// Height and width of `pixelValues`' output.
    public var outputSize: (height: Int, width: Int) {
        if doCenterCrop { return (cropHeight, cropWidth) }
        if case .exact(let h, let w) = size { return (h, w) }
        preconditionFailure("without a centre crop the output size depends on the input; use resizeAndCrop")
    }

    /// Resize then centre-crop, in uint8 (what the encoder sees before normalisation).
    public func resizeAndCrop(_ image: RGBImage) -> RGBImage {
        var image = image
        if doResize {
            let (h, w) = targetSize(height: image.height, width: image.width)
            image = PILResampler.resize(image, width: w, height: h, filter: resample)
        }
        if doCenterCrop { image = Self.centerCrop(image, height: cropHeight, width: cropWidth) }
        return image
    }

    /// The model input for one image: planar (3, H, W) floats, `(pixel * rescaleFactor - mean) / std`.
    public func pixelValues(_ image: RGBImage) -> [Float] {
        var out = [Float]()
        appendPixelValues(image, to: &out)
        return out
    }

    /// Appends `pixelValues(image)` to `buffer` (for building a batch without copies).
    public func appendPixelValues(_ image: RGBImage, to buffer: inout [Float]) {
        let prepared = resizeAndCrop(image)
        normalize(prepared, into: &buffer)
    }

    /// Normalises an image that is already the encoder's size, skipping resize and crop.
    public func normalize(_ image: RGBImage, into buffer: inout [Float]) {
        let plane = image.width * image.height
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: 3 * plane))
        // Per-channel affine map of the 256 possible byte values: value = byte * scale[c] + shift[c].
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                // As transformers: rescale in float64, cast to float32, normalise in float32.
                var x = doRescale ? Float(Double(v) * rescaleFactor) : Float(v)
                if doNormalize { x = (x - mean[c]) / std[c] }
                table[c * 256 + v] = x
            }
        }
        image.pixels.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                table.withUnsafeBufferPointer { t in
                    for i in 0..<plane {
                        dst[start + i] = t[Int(src[3 * i])]
                        dst[start + plane + i] = t[256 + Int(src[3 * i + 1])]
                        dst[start + 2 * plane + i] = t[512 + Int(src[3 * i + 2])]
                    }
                }
            }
        }
    }

    /// transformers' `get_resize_output_image_size(default_to_square=False)`: short side → size, long side
    /// `int(size * long / short)`.
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

    /// transformers' numpy `center_crop`: top = (H - h) // 2, left = (W - w) // 2; zero padding where the image
    /// is smaller than the crop (top pad = ceil((h - H) / 2)).
    public static func centerCrop(_ image: RGBImage, height: Int, width: Int) -> RGBImage {
        if image.height == height && image.width == width { return image }
        let top = image.height >= height ? (image.height - height) / 2 : -((height - image.height + 1) / 2)
        let left = image.width >= width ? (image.width - width) / 2 : -((width - image.width + 1) / 2)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sy = y + top
            guard sy >= 0, sy < image.height else { continue }
            let x0 = max(0, -left)
            let x1 = min(width, image.width - left)
            guard x1 > x0 else { continue }
            let srcStart = (sy * image.width + x0 + left) * 3
            let dstStart = (y * width + x0) * 3
            pixels.replaceSubrange(
                dstStart..<dstStart + (x1 - x0) * 3,
                with: image.pixels[srcStart..<srcStart + (x1 - x0) * 3])
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
