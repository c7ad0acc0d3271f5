import Foundation
import VLMCore

// MARK: - preprocessor_config.json

extension CLIPImagePreprocessor {
    /// Reads a Hugging Face `preprocessor_config.json` (see ``ImagePreprocessing/init(json:)``); a file that
    /// cannot be read or is malformed throws a one-line ``CLIPLoadError`` naming it.
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
        do { try self.init(json: json) } catch { throw CLIPLoadError(file: url.path, error.description) }
    }
}
