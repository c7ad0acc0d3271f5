import Logging
import ServiceLifecycle

extension Service {
    /// Runs this service in a `ServiceGroup` that turns SIGINT/SIGTERM into a graceful shutdown and exits with
    /// status 130 at once on a second signal. The group ends when the service returns or fails.
    func runWithSignals(named name: String, logger: Logger) async throws {
        typealias Configuration = ServiceGroupConfiguration.ServiceConfiguration
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    Configuration(service: ShutdownEscalation(status: 130), serviceName: "signals"),
                    Configuration(
                        service: self, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name),
                ],
                gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
    }
}
