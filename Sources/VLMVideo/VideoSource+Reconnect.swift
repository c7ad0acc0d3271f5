import Foundation

// MARK: - Reconnecting live inputs (called with `lock` held)

extension VideoSource {
    /// Closes the dropped connection and reopens it with capped exponential backoff, reporting each attempt.
    /// Returns false if cancelled meanwhile; throws when ``ReconnectPolicy/maxAttempts`` failures in a row.
    func reconnect(after reason: String) throws(VideoError) -> Bool {
        let droppedAt = Date()
        let lastTime = lastSeconds
        decoder = nil
        demuxer = nil
        var attempt = failedReconnects + 1
        var why = reason
        while true {
            failedReconnects = attempt
            let delay = options.reconnect.delay(forAttempt: attempt)
            logger.info("\(input): \(why); reconnecting in \(delay) s (attempt \(attempt))")
            onEvent?(.reconnecting(attempt: attempt, delay: delay, reason: why))
            guard interrupt.sleep(seconds: delay) else { return false }
            do {
                try connect()
                // Times continue from the last frame plus the time the input was away.
                rebaseTo = lastTime + Date().timeIntervalSince(droppedAt)
                startTimestamp = nil
                logger.info("\(input): reconnected after \(attempt) attempt(s): \(currentInfo.summary)")
                onEvent?(.reconnected(currentInfo))
                return true
            } catch {
                if interrupt.isCancelled { return false }
                why = error.description
                if let limit = options.reconnect.maxAttempts, attempt >= limit {
                    finished = true
                    let failure = VideoError.cannotOpen(
                        input: input.description, reason: "gave up after \(attempt) reconnect attempts: \(why)")
                    onEvent?(.ended(reason: failure.description))
                    throw failure
                }
                attempt += 1
            }
        }
    }
}
