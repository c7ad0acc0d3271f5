import Foundation
import VLMCore

/// CLIP's image preprocessing for stills: the model's ``ImagePreprocessing`` description carried out as
/// transformers' `CLIPImageProcessorPil` does it: resize (PIL's antialiased resampling, uint8 after each pass),
/// centre-crop, scale by `rescaleFactor` and normalise with `mean`/`std` into a planar (3, H, W) float tensor.
///
/// The same description drives VLMVideo's frame views (`VideoSourceOptions.preprocessing`); both take their
/// resize size and crop window from ``ImagePreprocessing/geometry(width:height:)``.
///
/// transformers 5's default `CLIPImageProcessor` (torchvision backend) differs from this by at most one uint8 step
/// per pixel (0.015 after normalisation; measured in scripts/golden/make_preprocess_goldens.py).
public typealias CLIPImagePreprocessor = ImagePreprocessing

extension ImagePreprocessing {
    // MARK: - Pipeline

    /// Resize then centre-crop, in uint8 (what the encoder sees before normalisation). Only the resized pixels
    /// inside the crop window are computed (the same pixels), so the cost follows the crop, not the resized size.
    public func resizeAndCrop(_ image: RGBImage) -> RGBImage {
        let g = geometry(width: image.width, height: image.height)
        var image = image
        if doResize {
            // The crop window clipped to the resized picture; where the crop is larger, centerCrop pads it.
            let rows = max(0, g.cropY)..<min(g.resizedHeight, g.cropY + g.cropHeight)
            let columns = max(0, g.cropX)..<min(g.resizedWidth, g.cropX + g.cropWidth)
            image = PILResampler.resize(
                image, width: g.resizedWidth, height: g.resizedHeight, filter: resample, rows: rows, columns: columns)
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

    /// transformers' numpy `center_crop`: top = (H - h) // 2, left = (W - w) // 2; zero padding where the image
    /// is smaller than the crop (top pad = ceil((h - H) / 2)).
    public static func centerCrop(_ image: RGBImage, height: Int, width: Int) -> RGBImage {
        if image.height == height && image.width == width { return image }
        let top = cropOrigin(image: image.height, crop: height)
        let left = cropOrigin(image: image.width, crop: width)
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

extension CLIPModel {
    /// The checkpoint's preprocessing description, for the video path (`VideoSourceOptions.preprocessing`).
    public var preprocessing: ImagePreprocessing { preprocessor }
}
