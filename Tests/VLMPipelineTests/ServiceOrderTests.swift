import Foundation
import Logging
import ServiceLifecycle
import Testing
import VLMCore
import VLMGraph
import VLMPipeline

/// The graph as a service in a `ServiceGroup`: a graceful shutdown drains the graph before the services listed
/// before it (MQTT, metrics in `run`) are shut down, and a drain past its deadline throws one error.
@Suite("Services")
struct ServiceOrderTests {
    /// An endless live source of 8×8 frames at 100 frames/s.
    final class EndlessSource: FrameSource {
        let stream = "endless"
        let isLive = true
        let duration: Double? = nil
        private let state = Locked((decoded: 0, stopped: false))
        var decodedFrames: Int { state.current.decoded }

        func run(emit: (Frame) -> Bool) throws {
            var index = 0
            while !state.current.stopped {
                Thread.sleep(forTimeInterval: 0.01)
                let image = RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: UInt8(index % 251), count: 192))
                let frame = Frame(
                    stream: stream, sequence: index, time: MediaTime(seconds: Double(index) / 100),
                    views: [Frame.View(box: .full, image: image)], luma: [])
                state.withLock { $0.decoded += 1 }
                index += 1
                if !emit(frame) { return }
            }
        }

        func stop() { state.withLock { $0.stopped = true } }
    }

    /// A fixed embedding, once `open` (until then every call waits: a drain that cannot finish).
    final class GatedEncoder: ImageEncoding {
        let open: Locked<Bool>
        init(open: Bool) { self.open = Locked(open) }
        var imageSize: Int { 8 }
        var embeddingSize: Int { 2 }
        var modelIdentity: String { "gated-test" }
        func encode(images: [RGBImage]) throws -> [Embedding] {
            while !open.current { Thread.sleep(forTimeInterval: 0.005) }
            return images.map { _ in Embedding([1, 0]) }
        }
    }

    /// Records what happened, in order.
    final class Log: ResultSink, FrameAnalyzer {
        let entries = Locked([String]())
        func analyze(_ frame: EncodedFrame) -> [StreamResult] {
            if !entries.current.contains("frame") { entries.withLock { $0.append("frame") } }
            return []
        }
        func finish(stream: String, at pts: Double) -> [StreamResult] { [] }
        func consume(_ result: StreamResult) {}
        func finish() { entries.withLock { $0.append("graph drained") } }
    }

    /// Stands for MQTT or metrics: waits for the graceful shutdown, then records it.
    struct Later: Service {
        let log: Log
        func run() async throws {
            try? await gracefulShutdown()
            log.entries.withLock { $0.append("later service shut down") }
        }
    }

    func graph(_ log: Log, encoder: GatedEncoder) -> StageGraph {
        StageGraph(
            sources: [GraphSource(source: EndlessSource())], encoders: [encoder],
            analyzers: [log], sinks: [log], options: GraphOptions(maxBatch: 2, latencyBudget: 0.01))
    }

    func group(_ services: [any Service], graph: GraphService) -> ServiceGroup {
        typealias Configuration = ServiceGroupConfiguration.ServiceConfiguration
        let configurations =
            services.map { Configuration(service: $0) }
            + [
                Configuration(
                    service: graph, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            ]
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(services: configurations, logger: Logger(label: "test")))
    }

    @Test("graceful shutdown: the graph drains first, then the services before it shut down")
    func orderedDrain() async throws {
        let log = Log()
        let service = GraphService(graph: graph(log, encoder: GatedEncoder(open: true)), drainTimeout: 5)
        let group = group([Later(log: log)], graph: service)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while !log.entries.current.contains("frame") { try await Task.sleep(for: .milliseconds(10)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(log.entries.current == ["frame", "graph drained", "later service shut down"])
        #expect(service.wasInterrupted && service.summary.counts.analyzed > 0)
    }

    @Test("a drain past the deadline throws drainTimeout; the other services still shut down")
    func drainTimeout() async throws {
        let log = Log()
        let encoder = GatedEncoder(open: false)
        let service = GraphService(graph: graph(log, encoder: encoder), drainTimeout: 0.05)
        let group = group([Later(log: log)], graph: service)
        await #expect(throws: PipelineError.drainTimeout(0.05)) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                while service.graph.metrics.snapshot.decoded == 0 { try await Task.sleep(for: .milliseconds(10)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(log.entries.current == ["later service shut down"])
        encoder.open.withLock { $0 = true }  // let the abandoned graph finish
        #expect(service.graph.wait(timeout: 10))
    }
}
