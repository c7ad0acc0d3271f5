import Foundation

// MARK: - preprocessor_config.json

extension CLIPImagePreprocessor {
    /// Reads a Hugging Face `preprocessor_config.json`. Accepts both the old form (`"size": 224`,
    /// `"crop_size": 224`) and the new one (`{"shortest_edge": 224}`, `{"height": 224, "width": 224}`); missing
    /// keys take CLIPImageProcessor's defaults.
    public init(configFile url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CLIPLoadError(
                file: url.path,
                "cannot read the image preprocessor settings; check the model directory or run `vlm-stream models pull`"
            )
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CLIPLoadError(file: url.path, "expected a JSON object")
        }
        try self.init(json: json, file: url)
    }

    init(json: [String: Any], file url: URL) throws {
        func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
        func bool(_ key: String, _ fallback: Bool) -> Bool { (json[key] as? NSNumber)?.boolValue ?? fallback }
        func floats(_ key: String, _ fallback: [Float]) throws -> [Float] {
            guard let value = json[key] else { return fallback }
            if let number = value as? NSNumber { return Array(repeating: number.floatValue, count: 3) }
            guard let list = value as? [NSNumber], list.count == 3 else {
                throw CLIPLoadError(file: url.path, "\"\(key)\" must be three numbers")
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
                throw CLIPLoadError(file: url.path, "\"size\" needs shortest_edge or height and width")
            }
        default: throw CLIPLoadError(file: url.path, "\"size\" must be a number or an object")
        }

        var crop = (224, 224)
        switch json["crop_size"] {
        case nil: break
        case let n as NSNumber: crop = (n.intValue, n.intValue)
        case let dict as [String: Any]:
            guard let h = int(dict["height"]), let w = int(dict["width"]) else {
                throw CLIPLoadError(file: url.path, "\"crop_size\" needs height and width")
            }
            crop = (h, w)
        default: throw CLIPLoadError(file: url.path, "\"crop_size\" must be a number or an object")
        }

        let resampleCode = int(json["resample"]) ?? Resample.bicubic.rawValue
        guard let resample = Resample(rawValue: resampleCode) else {
            throw CLIPLoadError(file: url.path, "resample \(resampleCode) is not supported (0, 2 or 3)")
        }
        let sizes =
            [crop.0, crop.1]
            + {
                switch size {
                case .shortestEdge(let e): return [e]
                case .exact(let h, let w): return [h, w]
                }
            }()
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 8192 }) else {
            throw CLIPLoadError(file: url.path, "image sizes must be between 1 and 8192")
        }
        let std = try floats("image_std", CLIPImagePreprocessor.openAI.std)
        guard std.allSatisfy({ $0 != 0 }) else { throw CLIPLoadError(file: url.path, "\"image_std\" has a zero") }
        self.init(
            size: size, cropHeight: crop.0, cropWidth: crop.1, resample: resample,
            doResize: bool("do_resize", true), doCenterCrop: bool("do_center_crop", true),
            doRescale: bool("do_rescale", true), doNormalize: bool("do_normalize", true),
            rescaleFactor: (json["rescale_factor"] as? NSNumber)?.doubleValue ?? 1 / 255,
            mean: try floats("image_mean", CLIPImagePreprocessor.openAI.mean), std: std
        )
    }
}
