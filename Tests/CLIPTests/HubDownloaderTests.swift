import Crypto
import Foundation
import TestSupport
import Testing
import VLMCore

@testable import CLIP

/// `vlm-stream models pull`'s downloader against a loopback HTTP server that answers like the hub: plain files
/// with a git ETag, the LFS weights through a redirect carrying X-Linked-Etag (their sha256) and X-Linked-Size.
@Suite(.serialized) struct HubDownloaderTests {
    static let name = "openai/clip-vit-base-patch32"
    static let commit = "fedcba9876543210fedcba9876543210fedcba98"

    static func routes(weights: Data, cutAfter: Int? = nil, wrongSHA: Bool = false) throws -> [String:
        LoopbackHTTPServer.Route]
    {
        var routes: [String: LoopbackHTTPServer.Route] = [:]
        for (i, file) in HubCache.requiredFiles.enumerated() where file != "model.safetensors" {
            let body = try Data(contentsOf: Fixtures.url("tiny-clip/\(file)"))
            routes["/\(name)/resolve/main/\(file)"] = .init(
                headers: ["X-Repo-Commit": commit, "ETag": "\"0000000000000000000000000000000000000\(i)ab\""],
                body: body)
        }
        var sha = SHA256.hash(data: weights).hexString
        if wrongSHA { sha = String(sha.reversed()) }
        routes["/\(name)/resolve/main/model.safetensors"] = .init(
            status: 302,
            headers: [
                "X-Repo-Commit": commit, "X-Linked-Etag": "\"\(sha)\"", "X-Linked-Size": "\(weights.count)",
                "Location": "CDN/cdn/\(sha)", "ETag": "\"not-the-blob-name\"",
            ])
        routes["/cdn/\(sha)"] = .init(body: weights, cutAfter: cutAfter)
        return routes
    }

    /// Starts a server; the weights redirect to an absolute URL on the same server, as the hub's CDN redirect is.
    static func start(_ routes: [String: LoopbackHTTPServer.Route]) throws -> LoopbackHTTPServer {
        let server = try LoopbackHTTPServer(routes: routes)
        for (path, var route) in routes {
            if let location = route.headers["Location"], location.hasPrefix("CDN") {
                route.headers["Location"] = server.baseURL.absoluteString + location.dropFirst(3)
                server.setRoute(path, route)
            }
        }
        return server
    }

    static func downloader(_ server: LoopbackHTTPServer?, cache: HubCache, port: Int? = nil) -> HubDownloader {
        HubDownloader(
            cache: cache,
            environment: ["HF_ENDPOINT": server?.baseURL.absoluteString ?? "http://127.0.0.1:\(port ?? 9)"])
    }

    @Test func pullResumesAfterADroppedConnectionAndVerifies() async throws {
        let weights = try Data(contentsOf: Fixtures.url("tiny-clip/model.safetensors"))
        let server = try Self.start(Self.routes(weights: weights, cutAfter: 1_000_000))
        defer { server.stop() }
        let cache = HubCache(root: try Fixtures.temporaryDirectory("hub"))
        defer { try? FileManager.default.removeItem(at: cache.root) }
        let downloader = Self.downloader(server, cache: cache)

        await #expect {
            _ = try await downloader.pull(Self.name)
        } throws: { error in
            "\(error)".contains("model.safetensors") && "\(error)".contains("resume")
        }
        let blobs = cache.repositoryDirectory(Self.name).appendingPathComponent("blobs")
        let partial = try FileManager.default.contentsOfDirectory(atPath: blobs.path).filter {
            $0.hasSuffix(".incomplete")
        }
        #expect(partial.count == 1)

        let snapshot = try await downloader.pull(Self.name)
        #expect(snapshot.lastPathComponent == Self.commit)
        let ranges = server.requests.filter { $0.path.hasPrefix("/cdn/") && $0.method == "GET" }.map(\.range)
        #expect(ranges == [nil, "bytes=1000000-"])
        #expect(try Data(contentsOf: snapshot.appendingPathComponent("model.safetensors")) == weights)
        let resolved = try ModelLocator.resolve(Self.name, cache: cache)
        #expect(resolved.lastPathComponent == Self.commit)
        let link = try FileManager.default.destinationOfSymbolicLink(
            atPath: snapshot.appendingPathComponent("model.safetensors").path)
        #expect(link.hasPrefix("../../blobs/") && link.count == "../../blobs/".count + 64)
        #expect(cache.cachedModels().first?.isComplete == true)

        // A second pull finds every blob cached and downloads nothing.
        let before = server.requests.filter { $0.method == "GET" }.count
        _ = try await downloader.pull(Self.name)
        #expect(server.requests.filter { $0.method == "GET" }.count == before)
    }

    @Test func checksumMismatchIsRefusedAndRemoved() async throws {
        let weights = try Data(contentsOf: Fixtures.url("tiny-clip/model.safetensors"))
        let server = try Self.start(Self.routes(weights: weights, wrongSHA: true))
        defer { server.stop() }
        let cache = HubCache(root: try Fixtures.temporaryDirectory("hub"))
        defer { try? FileManager.default.removeItem(at: cache.root) }
        await #expect {
            _ = try await Self.downloader(server, cache: cache).pull(Self.name)
        } throws: { error in
            "\(error)".contains("corrupt")
        }
        let blobs = cache.repositoryDirectory(Self.name).appendingPathComponent("blobs")
        let left = try FileManager.default.contentsOfDirectory(atPath: blobs.path)
        #expect(!left.contains { $0.count >= 64 })
        #expect(throws: ModelLocator.NotFound.self) { try ModelLocator.resolve(Self.name, cache: cache) }
    }

    /// Found by a review: `refs/pr/1` went out as `refs%252Fpr%252F1`, quoted twice.
    @Test func aRevisionIsQuotedOnceAsTheHubExpects() async throws {
        let server = try LoopbackHTTPServer(routes: [:])
        defer { server.stop() }
        let cache = HubCache(root: try Fixtures.temporaryDirectory("hub"))
        defer { try? FileManager.default.removeItem(at: cache.root) }
        for revision in ["refs/pr/1", "v1.0"] {
            await #expect(throws: HubDownloader.Failure.self) {
                _ = try await Self.downloader(server, cache: cache).pull(Self.name, revision: revision)
            }
        }
        #expect(
            server.requests.map(\.path) == [
                "/\(Self.name)/resolve/refs%2Fpr%2F1/config.json", "/\(Self.name)/resolve/v1.0/config.json",
            ])
    }

    /// Found by a review: the server's X-Repo-Commit became a path, so `../../../victim` replaced files outside the
    /// cache with links; a revision could do the same from the command line.
    @Test func aCommitOrRevisionThatIsAPathIsRefused() async throws {
        var routes = try Self.routes(weights: Data("x".utf8))
        for (path, var route) in routes where route.headers["X-Repo-Commit"] != nil {
            route.headers["X-Repo-Commit"] = "../../../victim"
            routes[path] = route
        }
        let server = try Self.start(routes)
        defer { server.stop() }
        let root = try Fixtures.temporaryDirectory("hub")
        let cache = HubCache(root: root.appendingPathComponent("a/b/c"))
        defer { try? FileManager.default.removeItem(at: root) }
        await #expect {
            _ = try await Self.downloader(server, cache: cache).pull(Self.name)
        } throws: { error in
            "\(error)".contains("X-Repo-Commit is not a commit hash")
        }
        let made = FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []
        #expect(!made.contains { $0.hasSuffix("victim") }, "\(made)")
        for revision in ["../../x", "a/../../b", ""] {
            await #expect {
                _ = try await Self.downloader(server, cache: cache).pull(Self.name, revision: revision)
            } throws: { error in
                "\(error)".contains("is not a branch, tag, refs/pr/N or commit name")
            }
        }
    }

    @Test func missingFileAndUnreachableServerGiveOneLine() async throws {
        var routes = try Self.routes(weights: Data("x".utf8))
        routes["/\(Self.name)/resolve/main/merges.txt"] = nil
        let server = try Self.start(routes)
        let cache = HubCache(root: try Fixtures.temporaryDirectory("hub"))
        defer { try? FileManager.default.removeItem(at: cache.root) }
        await #expect {
            _ = try await Self.downloader(server, cache: cache).pull(Self.name)
        } throws: { error in
            "\(error)".contains("no merges.txt") && !"\(error)".contains("\n")
        }
        let offline = HubDownloader(
            cache: cache, environment: ["HF_ENDPOINT": server.baseURL.absoluteString, "HF_HUB_OFFLINE": "1"])
        await #expect {
            _ = try await offline.pull(Self.name)
        } throws: { error in
            "\(error)".contains("HF_HUB_OFFLINE")
        }
        let port = server.port
        server.stop()
        await #expect {
            _ = try await Self.downloader(nil, cache: cache, port: port).pull(Self.name)
        } throws: { error in
            "\(error)".contains("cannot reach")
        }
    }
}
