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
        // `null` means "not set" in transformers' configs (`"do_convert_rgb": null`): the default applies.
        let json = json.filter { !($0.value is NSNull) }
        // Every value is type-checked: a key present with the wrong kind of value is an error, never a silent
        // fallback to the default, and numbers are converted without traps (`1e300` is not an Int).
        func int(_ value: Any?) -> Int? {
            guard let n = value as? NSNumber, n.doubleValue.isFinite else { return nil }
            return Int(exactly: n.doubleValue)
        }
        func whole(_ key: String, _ value: Any?) throws(ConfigError) -> Int {
            guard let n = int(value) else { throw ConfigError("\"\(key)\" must be a whole number of pixels") }
            return n
        }
        func bool(_ key: String, _ fallback: Bool) throws(ConfigError) -> Bool {
            guard let value = json[key] else { return fallback }
            guard let n = value as? NSNumber else { throw ConfigError("\"\(key)\" must be true or false") }
            return n.boolValue
        }
        func floats(_ key: String, _ fallback: [Float]) throws(ConfigError) -> [Float] {
            guard let value = json[key] else { return fallback }
            if value is String { throw ConfigError("\"\(key)\" must be three numbers") }
            let list: [Float]
            if let number = value as? NSNumber {
                list = Array(repeating: number.floatValue, count: 3)
            } else if let numbers = value as? [Any], numbers.count == 3,
                numbers.allSatisfy({ $0 is NSNumber && !($0 is String) })
            {
                list = numbers.compactMap { ($0 as? NSNumber)?.floatValue }
            } else {
                throw ConfigError("\"\(key)\" must be three numbers")
            }
            guard list.count == 3, list.allSatisfy(\.isFinite) else {
                throw ConfigError("\"\(key)\" must be three finite numbers")
            }
            return list
        }

        var size = Size.shortestEdge(224)
        switch json["size"] {
        case nil: break
        case let n as NSNumber: size = .shortestEdge(try whole("size", n))
        case let dict as [String: Any]:
            if let edge = dict["shortest_edge"] {
                size = .shortestEdge(try whole("size.shortest_edge", edge))
            } else if let h = dict["height"], let w = dict["width"] {
                size = .exact(height: try whole("size.height", h), width: try whole("size.width", w))
            } else {
                throw ConfigError("\"size\" needs shortest_edge or height and width")
            }
        default: throw ConfigError("\"size\" must be a number or an object")
        }

        var crop = (224, 224)
        switch json["crop_size"] {
        case nil: break
        case let n as NSNumber: crop = (try whole("crop_size", n), try whole("crop_size", n))
        case let dict as [String: Any]:
            guard let h = dict["height"], let w = dict["width"] else {
                throw ConfigError("\"crop_size\" needs height and width")
            }
            crop = (try whole("crop_size.height", h), try whole("crop_size.width", w))
        default: throw ConfigError("\"crop_size\" must be a number or an object")
        }

        let resampleCode = try json["resample"].map { v throws(ConfigError) in try whole("resample", v) }
            ?? Resample.bicubic.rawValue
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
        let factor: Double
        switch json["rescale_factor"] {
        case nil: factor = 1 / 255
        case let n as NSNumber: factor = n.doubleValue
        default: throw ConfigError("\"rescale_factor\" must be a number such as 0.00392156862745098 (1/255)")
        }
        guard factor.isFinite else { throw ConfigError("\"rescale_factor\" must be a finite number") }
        let mean = try floats("image_mean", ImagePreprocessing.openAI.mean)
        let std = try floats("image_std", ImagePreprocessing.openAI.std)
        guard std.allSatisfy({ $0 != 0 }) else { throw ConfigError("\"image_std\" has a zero") }
        self.init(
            size: size, cropHeight: crop.0, cropWidth: crop.1, resample: resample,
            doResize: try bool("do_resize", true), doCenterCrop: try bool("do_center_crop", true),
            doRescale: try bool("do_rescale", true), doNormalize: try bool("do_normalize", true),
            doConvertRGB: try bool("do_convert_rgb", true), rescaleFactor: factor, mean: mean, std: std
        )
        guard hasFixedOutputSize else {
            throw ConfigError(
                "without a centre crop (do_center_crop false) \"size\" must be {\"height\", \"width\"} and do_resize "
                    + "true: the encoder takes one fixed input size")
        }
    }
}
