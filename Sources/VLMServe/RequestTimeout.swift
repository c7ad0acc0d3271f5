import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VLMCore
import VLMIndex

/// Gives each request a deadline; blocking work started with `offload` after it has passed fails with
/// `RequestTimedOut`, which this middleware answers with 503.
///
/// The slow parts of a request (FFmpeg decode, BLAS search, SQLite, the text or image tower) all run through
/// `offload` on Dispatch threads, so the server's event loops never wait on them, and a request whose work outlives
/// its deadline is answered at the deadline (the work finishes in the background and its result is dropped).
struct RequestTimeoutMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await RequestDeadline.$current.withValue(ContinuousClock.now + limit) {
                try await next(request, context)
            }
        } catch is RequestTimedOut {
            return APIError.response(.serviceUnavailable, "the request took longer than \(limit); try again")
        } catch let error as IndexError {
            // A PostgreSQL index that is away comes back: say so, as 503, rather than an empty 500.
            if case .unreachable = error { return APIError.response(.serviceUnavailable, error.description) }
            return APIError.response(.internalServerError, error.description)
        } catch let error as UserFacingError {
            return APIError.response(.internalServerError, error.description)
        }
    }
}

/// The deadline of the request being handled (set by `RequestTimeoutMiddleware`).
enum RequestDeadline {
    @TaskLocal static var current: ContinuousClock.Instant?
}

/// Thrown by `offload` when the request's deadline passes first.
struct RequestTimedOut: Error {}

/// Runs blocking work on a Dispatch thread and resumes with its result, or with `RequestTimedOut` at the current
/// request's deadline, whichever comes first.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let deadline = RequestDeadline.current
    // A request already past its deadline starts no work (the timer below would race a quick body).
    if let deadline, deadline <= ContinuousClock.now { throw RequestTimedOut() }
    return try await withCheckedThrowingContinuation { continuation in
        let resumed = Locked(false)
        let finish: @Sendable (Result<T, any Error>) -> Void = { result in
            let first = resumed.withLock { done -> Bool in
                defer { done = true }
                return !done
            }
            if first { continuation.resume(with: result) }
        }
        DispatchQueue.global().async { finish(Result { try body() }) }
        if let deadline {
            let left = deadline - ContinuousClock.now
            let nanoseconds = max(
                0, left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
                finish(.failure(RequestTimedOut()))
            }
        }
    }
}

/// JSON error responses: `{"error": "..."}`.
enum APIError {
    static func response(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let body = ResultJSON.bytes(["error": message])
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(bytes: body)))
    }
}

extension Request {
    /// The whole body, or nil when it is larger than `limit` bytes: by its Content-Length, before anything is read,
    /// or as it arrives (a chunked body, or a Content-Length that lied). The caller answers 413.
    func collectBody(upTo limit: Int) async throws -> [UInt8]? {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit { return nil }
        do {
            return Array(try await body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            return nil
        }
    }
}
