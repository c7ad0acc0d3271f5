import CLIP
import Foundation
@testable import GIT

/// `SafetensorsFile(url:)` (header, metadata and tensor table), then every tensor read as the loaders read it: as
/// float32, and as the int8 and int32 tensors of an int8 checkpoint.
func fuzzSafetensors(_ bytes: [UInt8]) {
    let url = Scratch.file("model.safetensors", bytes)
    guard let file = try? SafetensorsFile(url: url) else { return }
    for (key, entry) in file.entries.prefix(64) {
        _ = try? file.tensor(key, shape: entry.shape)
        _ = try? file.int8(key, shape: entry.shape)
        _ = try? file.int32(key, shape: entry.shape)
    }
}

/// `pytorch_model.bin`: the first byte picks the raw `RestrictedUnpickler.stateDict` (a `data.pkl`) or the whole
/// zip through `TorchCheckpoint(url:)` with every tensor read.
func fuzzTorchCheckpoint(_ bytes: [UInt8]) {
    guard let mode = bytes.first else { return }
    let rest = Array(bytes.dropFirst())
    if mode & 1 == 0 {
        _ = rest.withUnsafeBytes { try? RestrictedUnpickler.stateDict($0) }
        return
    }
    let url = Scratch.file("pytorch_model.bin", rest)
    guard let checkpoint = try? TorchCheckpoint(url: url) else { return }
    for (key, ref) in checkpoint.tensors.prefix(64) {
        _ = try? checkpoint.tensor(key, shape: ref.shape)
    }
}

/// config.json, preprocessor_config.json and generation_config.json for every family: the same bytes through
/// `CLIPConfig.load` (CLIP and SigLIP, chosen by `model_type`), `GITConfig.load`, `GITGenerationConfig.load` and
/// `CLIPImagePreprocessor(configFile:)`.
func fuzzModelConfig(_ bytes: [UInt8]) {
    let url = Scratch.file("config.json", bytes)
    _ = try? CLIPConfig.load(from: url)
    let git = (try? GITConfig.load(from: url)) ?? GITConfig()
    _ = try? GITGenerationConfig.load(from: url, config: git)
    _ = try? CLIPImagePreprocessor(configFile: url)
}
