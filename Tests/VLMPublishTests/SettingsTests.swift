import Testing
import VLMPublish

@Suite struct SettingsTests {
    @Test func parsesBrokerURLs() throws {
        let plain = try MQTTSettings.parseURL("mqtt://broker.local")
        #expect(plain.host == "broker.local" && plain.port == 1883 && !plain.tls && plain.username == nil)
        let full = try MQTTSettings.parseURL("mqtts://robot:s%40cret@10.0.0.5:8884")
        #expect(full.host == "10.0.0.5" && full.port == 8884 && full.tls)
        #expect(full.username == "robot" && full.password == "s@cret")
        #expect(full.redacted == "mqtts://10.0.0.5:8884")
        #expect(try MQTTSettings.parseURL("mqtts://h").port == 8883)
    }

    @Test(arguments: ["http://h", "mqtt://", "h:1883", "mqtt://h:0", "mqtt://h/topic", "mqtt://h?x=1"])
    func refusesBadURLs(url: String) {
        #expect(throws: MQTTError.self) { try MQTTSettings.parseURL(url) }
    }

    @Test func validatesOptions() throws {
        var settings = try MQTTSettings(url: "mqtt://127.0.0.1:1")
        settings.qos = 3
        #expect(throws: MQTTError.self) { try settings.validate() }
        settings.qos = 1
        settings.prefix = "vlm/#"
        #expect(throws: MQTTError.self) { try settings.validate() }
        settings.prefix = "robots/vlm"
        settings.tlsFiles.caFile = "/nonexistent/ca.pem"
        #expect { try settings.validate() } throws: { "\($0)".contains("/nonexistent/ca.pem") }
    }
}
