import Foundation
import Logging
import VLMCore

/// Downloads a model's files from the Hugging Face hub into a `HubCache`, the way `huggingface_hub` does: a HEAD
/// on `<endpoint>/<name>/resolve/<revision>/<file>` gives the commit (`X-Repo-Commit`) and the blob's ETag
/// (`X-Linked-Etag` for LFS files, which is their sha256); the body goes to `blobs/<etag>.incomplete` (resumed
/// with an HTTP Range request when a previous attempt left one), is checked against the sha256 for LFS files,
/// renamed to `blobs/<etag>`, and linked from `snapshots/<commit>/<file>`; `refs/<revision>` records the commit.
public struct HubDownloader: Sendable {
    /// Progress of one file, for a progress bar.
    public struct Progress: Sendable {
        /// File name within the repository.
        public var file: String
        /// Bytes on disk so far (including a resumed part).
        public var received: Int64
        /// Total bytes when the server said; nil otherwise.
        public var total: Int64?
        /// True when the file was already in the cache.
        public var cached: Bool
    }

    /// A download that did not succeed.
    public struct Failure: UserFacingError, Equatable {
        /// The one-line message.
        public var description: String
    }

    /// Where files go.
    public var cache: HubCache
    /// `$HF_ENDPOINT` or `https://huggingface.co`.
    public var endpoint: URL
    /// `$HF_TOKEN`, sent as a bearer token (gated or private repositories).
    public var token: String?
    /// Logs each file fetched (info).
    public var logger: Logger
    /// `$HF_HUB_OFFLINE` set to 1/true/yes: `pull` refuses to touch the network.
    public var offline: Bool

    /// A downloader configured from the environment (`HF_ENDPOINT`, `HF_TOKEN`, and the cache variables).
    public init(
        cache: HubCache? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "vlm.hub")
    ) {
        self.cache = cache ?? HubCache(environment: environment)
        let endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        self.endpoint =
            URL(string: endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint)
            ?? URL(string: "https://huggingface.co")!
        self.token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        self.offline = ["1", "true", "yes", "on"].contains((environment["HF_HUB_OFFLINE"] ?? "").lowercased())
        self.logger = logger
    }

    /// Downloads `files` of `name` at `revision` (skipping blobs already cached) and returns the snapshot
    /// directory. `optionalFiles` are fetched when the repository has them and skipped on 404.
    public func pull(
        _ name: String, revision: String = "main", files: [String] = HubCache.requiredFiles,
        optionalFiles: [String] = [], progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> URL {
        guard HubCache.isRepositoryName(name) else {
            throw Failure(description: "\(name) is not a hub repository name like \(HubCache.defaultModel)")
        }
        guard !offline else {
            throw Failure(description: "HF_HUB_OFFLINE is set, so \(name) cannot be downloaded; unset it to pull")
        }
        // The revision names `refs/<revision>` in the cache: a branch, a tag, `refs/pr/N` or a commit, never a way out.
        let parts = revision.split(separator: "/", omittingEmptySubsequences: false)
        guard !revision.isEmpty, !revision.contains("\0"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else {
            throw Failure(description: "revision '\(revision)' is not a branch, tag, refs/pr/N or commit name")
        }
        let repo = cache.repositoryDirectory(name)
        var snapshot: URL?
        for (file, optional) in files.map({ ($0, false) }) + optionalFiles.map({ ($0, true) }) {
            guard let (commit, etag, size, location) = try await metadata(name, revision, file, optional) else {
                continue
            }
            let blobs = repo.appendingPathComponent("blobs")
            let directory = repo.appendingPathComponent("snapshots").appendingPathComponent(commit)
            try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let blob = blobs.appendingPathComponent(etag)
            if FileManager.default.fileExists(atPath: blob.path) {
                progress?(Progress(file: file, received: size ?? 0, total: size, cached: true))
                logger.info("already cached", metadata: ["model": "\(name)", "file": "\(file)", "etag": "\(etag)"])
            } else {
                try await download(location, file: file, to: blob, etag: etag, size: size, progress: progress)
                logger.info(
                    "downloaded",
                    metadata: ["model": "\(name)", "file": "\(file)", "bytes": "\(size ?? -1)", "commit": "\(commit)"])
            }
            try link(directory.appendingPathComponent(file), to: "../../blobs/\(etag)")
            if revision != commit {
                let ref = repo.appendingPathComponent("refs").appendingPathComponent(revision)
                try FileManager.default.createDirectory(
                    at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(commit.utf8).write(to: ref, options: .atomic)
            }
            snapshot = directory
        }
        guard let snapshot else { throw Failure(description: "\(name): nothing to download") }
        return snapshot
    }

    // MARK: - Steps

    /// `<endpoint>/<name>/resolve/<revision>/<file>`, the revision quoted whole as huggingface_hub does
    /// (`refs/pr/1` → `refs%2Fpr%2F1`). Built as text: `appendingPathComponent` would quote the `%` again.
    func resolveURL(_ name: String, _ revision: String, _ file: String) -> URL {
        let rev = revision.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? revision
        let path = file.addingPercentEncoding(withAllowedCharacters: Self.unreserved.union(["/"])) ?? file
        return URL(string: "\(endpoint.absoluteString)/\(name)/resolve/\(rev)/\(path)")
            ?? endpoint.appendingPathComponent(name).appendingPathComponent("resolve/\(rev)/\(file)")
    }

    /// RFC 3986's unreserved characters, ASCII only: what Python's `quote(s, safe="")` leaves as it is.
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    var headers: [String: String] {
        var h = ["Accept-Encoding": "identity", "User-Agent": "vlm-stream"]
        if let token { h["Authorization"] = "Bearer \(token)" }
        return h
    }

    /// Commit, normalised ETag, size and download location of one file; nil for an optional file that is absent.
    func metadata(_ name: String, _ revision: String, _ file: String, _ optional: Bool) async throws
        -> (String, String, Int64?, URL)?
    {
        var url = resolveURL(name, revision, file)
        var response: HTTPTransfer.Response
        do {
            response = try await HTTPTransfer.head(url, headers: headers)
            // The hub answers renamed repositories with a relative redirect to the new name; follow those.
            if (301...308).contains(response.status), let location = response.headers["location"],
                location.hasPrefix("/"), let next = URL(string: location, relativeTo: url)?.absoluteURL
            {
                url = next
                response = try await HTTPTransfer.head(url, headers: headers)
            }
        } catch {
            throw Failure(
                description: "cannot reach \(endpoint.absoluteString) for \(name)/\(file) "
                    + "(\(error.localizedDescription)); check the network or HF_ENDPOINT, or copy the files by hand")
        }
        switch response.status {
        case 200..<400: break
        case 404 where optional: return nil
        case 401, 403:
            throw Failure(
                description: "\(name): access denied (HTTP \(response.status)); set HF_TOKEN to a token "
                    + "that can read this repository")
        case 404 where file == "model.safetensors":
            throw Failure(
                description: "\(name) has no model.safetensors at revision \(revision) (HTTP 404); if the repository "
                    + "only has pytorch_model.bin, pull the revision of its safetensors conversion "
                    + "(--revision refs/pr/N) and use --model \(name)@refs/pr/N")
        case 404:
            throw Failure(description: "\(name) has no \(file) at revision \(revision) (HTTP 404); check the name")
        default:
            throw Failure(description: "\(name)/\(file): the hub answered HTTP \(response.status); try again later")
        }
        guard let commit = response.headers["x-repo-commit"], !commit.isEmpty else {
            throw Failure(
                description: "\(name)/\(file): the server sent no X-Repo-Commit header; is HF_ENDPOINT a hub?")
        }
        // It names the snapshot directory: a git commit hash, or the server is not to be trusted with paths.
        guard commit.count == 40, commit.allSatisfy({ $0.isHexDigit && $0.isASCII }) else {
            throw Failure(
                description: "\(name)/\(file): the server's X-Repo-Commit is not a commit hash; is HF_ENDPOINT a hub?")
        }
        guard let rawTag = response.headers["x-linked-etag"] ?? response.headers["etag"] else {
            throw Failure(description: "\(name)/\(file): the server sent no ETag; is HF_ENDPOINT a hub?")
        }
        let etag = Self.normalizeETag(rawTag)
        guard !etag.isEmpty, !etag.contains("/"), !etag.contains("..") else {
            throw Failure(description: "\(name)/\(file): unusable ETag \(rawTag)")
        }
        let size = (response.headers["x-linked-size"] ?? response.headers["content-length"]).flatMap { Int64($0) }
        var location = url
        if (301...308).contains(response.status), let l = response.headers["location"],
            let next = URL(string: l, relativeTo: url)?.absoluteURL
        {
            location = next
        }
        return (commit, etag, size, location)
    }

    /// `W/"abc"` → `abc`.
    static func normalizeETag(_ tag: String) -> String {
        var t = tag.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("W/") { t.removeFirst(2) }
        return t.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    func link(_ path: URL, to destination: String) throws {
        let fm = FileManager.default
        if (try? fm.destinationOfSymbolicLink(atPath: path.path)) == destination { return }
        try? fm.removeItem(at: path)
        try fm.createSymbolicLink(atPath: path.path, withDestinationPath: destination)
    }
}
