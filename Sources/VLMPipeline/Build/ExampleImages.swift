import CLIP
import Foundation
import VLMCore
import VLMMatch
import VLMVideo

/// Example images of one thing: each embedded whole (the checkpoint's full preprocessing, as `search --image`),
/// normalised, averaged, normalised again. With `crops`, each image also contributes its mirror image and five
/// crops of three quarters of its width and height (the four corners and the centre), each embedded and normalised
/// the same way: seven views per image, all averaged (test-time augmentation, as CLIP's few-shot probes do).
public enum ExampleImages {
    /// The query's name: the images' file names joined by `+`.
    public static func label(_ paths: [String]) -> String {
        paths.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: "+")
    }

    /// The averaged embedding of the image files; an unreadable or non-image file is a `VideoError` naming it.
    public static func embedding(_ paths: [String], encoder: CLIPModel, crops: Bool = false) throws -> Embedding {
        let pictures = try paths.map { path throws(VideoError) in try ImageFile.decode(URL(fileURLWithPath: path)) }
        return try embedding(pictures, encoder: encoder, crops: crops)
    }

    /// The averaged embedding of decoded pictures (and, with `crops`, of their views).
    public static func embedding(_ pictures: [RGBImage], encoder: CLIPModel, crops: Bool = false) throws -> Embedding {
        let views = crops ? pictures.flatMap(Self.views) : pictures
        let embedded = try encoder.encode(stills: views)
        guard let first = embedded.first else {
            throw MatchError.invalidQuery("images", reason: "no example image given")
        }
        var sum = [Float](repeating: 0, count: first.count)
        for e in embedded { for (i, x) in e.normalized().values.enumerated() { sum[i] += x } }
        return Embedding(sum).normalized()
    }

    /// The whole picture, its mirror image, and its four corner and centre crops of ¾ × ¾ (a side of fewer than 4
    /// pixels is not cropped).
    public static func views(_ picture: RGBImage) -> [RGBImage] {
        let w = max(1, picture.width * 3 / 4)
        let h = max(1, picture.height * 3 / 4)
        let xs = [0, picture.width - w, 0, picture.width - w, (picture.width - w) / 2]
        let ys = [0, 0, picture.height - h, picture.height - h, (picture.height - h) / 2]
        return [picture, picture.mirrored()] + zip(xs, ys).map { picture.cropped(x: $0, y: $1, width: w, height: h) }
    }
}
