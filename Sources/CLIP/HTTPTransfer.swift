import Foundation
import VLMCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP exchange on its own URLSession: a HEAD that does not follow redirects (the hub puts the commit and
/// LFS checksum on the redirect itself), or a GET that follows them and streams the body into a file.
/// URLSession calls the delegate on its own queue: what changes is in `state`.
final class HTTPTransfer: NSObject, URLSessionDataDelegate, Sendable {
    struct Response: Sendable {
        var status: Int
        /// Header names lowercased.
        var headers: [String: String]
    }

    private struct State {
        var response: Response?
        var sinkError: Error?
        var continuation: CheckedContinuation<Response, Error>?
    }

    private let state = Locked(State())
    private let followRedirects: Bool
    private let sink: FileHandle?
    private let onBytes: (@Sendable (Int64) -> Void)?

    private init(followRedirects: Bool, sink: FileHandle?, onBytes: (@Sendable (Int64) -> Void)?) {
        self.followRedirects = followRedirects
        self.sink = sink
        self.onBytes = onBytes
    }

    /// HEAD `url`, redirects not followed.
    static func head(_ url: URL, headers: [String: String]) async throws -> Response {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 30)
        request.httpMethod = "HEAD"
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        return try await HTTPTransfer(followRedirects: false, sink: nil, onBytes: nil).run(request)
    }

    /// GET `url` (following redirects), appending the body to `sink` when the status is 200 or 206.
    static func get(
        _ url: URL, headers: [String: String], into sink: FileHandle, onBytes: @escaping @Sendable (Int64) -> Void
    ) async throws -> Response {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 60)
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        return try await HTTPTransfer(followRedirects: true, sink: sink, onBytes: onBytes).run(request)
    }

    private func run(_ request: URLRequest) async throws -> Response {
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.continuation = continuation }
            session.dataTask(with: request).resume()
        }
    }

    // MARK: - URLSessionDataDelegate

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        if !followRedirects { record(response) }
        completionHandler(followRedirects ? request : nil)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        if let http = response as? HTTPURLResponse { record(http) }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let status = state.withLock { $0.response?.status ?? 0 }
        guard let sink, status == 200 || status == 206 else { return }
        do {
            try sink.write(contentsOf: data)
            onBytes?(Int64(data.count))
        } catch {
            state.withLock { if $0.sinkError == nil { $0.sinkError = error } }
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let (continuation, response, sinkError) = state.withLock { s in
            defer { s.continuation = nil }
            return (s.continuation, s.response, s.sinkError)
        }
        if let sinkError {
            continuation?.resume(throwing: sinkError)
        } else if let response, error == nil || !followRedirects {
            continuation?.resume(returning: response)
        } else {
            continuation?.resume(throwing: error ?? URLError(.badServerResponse))
        }
    }

    private func record(_ http: HTTPURLResponse) {
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let k = key as? String, let v = value as? String { headers[k.lowercased()] = v }
        }
        state.withLock { s in
            // Without redirects the first response (the redirect itself) is the answer; later ones are ignored.
            if followRedirects || s.response == nil { s.response = Response(status: http.statusCode, headers: headers) }
        }
    }
}
