import Foundation

// MARK: - preprocessor_config.json

extension ImagePreprocessing {
    /// Why a `preprocessor_config.json` was refused: one sentence naming the key.
    public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// Reads the keys of a Hugging Face `preprocessor_config.json` object. Accepts both the old form
    /// (`"size": 224`, `"crop_size": 224`) and the new one (`{"shortest_edge": 224}`, `{"height": 224, "width":
    /// 224}`); missing keys take `CLIPImageProcessor`'s defaults. Keys it does not know are ignored.
    public init(json: [String: Any]) throws(ConfigError) {
        func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
        func bool(_ key: String, _ fallback: Bool) -> Bool { (json[key] as? NSNumber)?.boolValue ?? fallback }
        func floats(_ key: String, _ fallback: [Float]) throws(ConfigError) -> [Float] {
            guard let value = json[key] else { return fallback }
            if let number = value as? NSNumber { return Array(repeating: number.floatValue, count: 3) }
            guard let list = value as? [NSNumber], list.count == 3 else {
                throw ConfigError("\"\(key)\" must be three numbers")
            }
            return list.map(\.floatValue)
        }

        var size = Size.shortestEdge(224)
        switch json["size"] {
        case nil: break
        case let n as NSNumber: size = .shortestEdge(n.intValue)
        case let dict as [String: Any]:
            if let edge = int(dict["shortest_edge"]) {
                size = .shortestEdge(edge)
            } else if let h = int(dict["height"]), let w = int(dict["width"]) {
                size = .exact(height: h, width: w)
            } else {
                throw ConfigError("\"size\" needs shortest_edge or height and width")
            }
        default: throw ConfigError("\"size\" must be a number or an object")
        }

        var crop = (224, 224)
        switch json["crop_size"] {
        case nil: break
        case let n as NSNumber: crop = (n.intValue, n.intValue)
        case let dict as [String: Any]:
            guard let h = int(dict["height"]), let w = int(dict["width"]) else {
                throw ConfigError("\"crop_size\" needs height and width")
            }
            crop = (h, w)
        default: throw ConfigError("\"crop_size\" must be a number or an object")
        }

        let resampleCode = int(json["resample"]) ?? Resample.bicubic.rawValue
        guard let resample = Resample(rawValue: resampleCode) else {
            throw ConfigError("resample \(resampleCode) is not supported (0 nearest, 2 bilinear or 3 bicubic)")
        }
        var sizes = [crop.0, crop.1]
        switch size {
        case .shortestEdge(let e): sizes.append(e)
        case .exact(let h, let w): sizes += [h, w]
        }
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 8192 }) else {
            throw ConfigError("image sizes must be between 1 and 8192")
        }
        let factor = (json["rescale_factor"] as? NSNumber)?.doubleValue ?? 1 / 255
        guard factor.isFinite else { throw ConfigError("\"rescale_factor\" must be a finite number") }
        let mean = try floats("image_mean", ImagePreprocessing.openAI.mean)
        let std = try floats("image_std", ImagePreprocessing.openAI.std)
        guard std.allSatisfy({ $0 != 0 }) else { throw ConfigError("\"image_std\" has a zero") }
        self.init(
            size: size, cropHeight: crop.0, cropWidth: crop.1, resample: resample,
            doResize: bool("do_resize", true), doCenterCrop: bool("do_center_crop", true),
            doRescale: bool("do_rescale", true), doNormalize: bool("do_normalize", true),
            doConvertRGB: bool("do_convert_rgb", true), rescaleFactor: factor, mean: mean, std: std
        )
        guard hasFixedOutputSize else {
            throw ConfigError(
                "without a centre crop (do_center_crop false) \"size\" must be {\"height\", \"width\"} and do_resize "
                    + "true: the encoder takes one fixed input size")
        }
    }
}
