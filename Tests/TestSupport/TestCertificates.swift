import Foundation

/// A throw-away certificate authority and a server certificate for 127.0.0.1, made with the `openssl` CLI.
public struct TestCertificates: Sendable {
    public var caCertificate: String
    public var serverCertificate: String
    public var serverKey: String

    /// Creates the files in `directory` (RSA 2048, valid one day, subjectAltName IP:127.0.0.1).
    public static func make(in directory: URL, name: String = "ca") throws -> TestCertificates {
        let d = directory.path
        let ca = "\(d)/\(name).pem"
        let caKey = "\(d)/\(name).key"
        let csr = "\(d)/server.csr"
        let cert = "\(d)/server.pem"
        let key = "\(d)/server.key"
        let ext = "\(d)/server.ext"
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: ext, atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "1",
                "-subj", "/CN=vlm-stream test CA \(name)",
            ],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
            [
                "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "1",
                "-extfile", ext,
            ],
        ]
        let openssl =
            ["/usr/bin/openssl", "/usr/local/bin/openssl"]
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "openssl"
        for arguments in steps {
            let child = try ChildProcess(openssl, arguments, output: directory.appendingPathComponent("openssl.log"))
            guard let status = child.wait(timeout: 30), status == 0 else {
                let log = (try? String(contentsOf: directory.appendingPathComponent("openssl.log"), encoding: .utf8))
                throw Mosquitto.LaunchError(description: "openssl \(arguments[0]) failed: \(log ?? "")")
            }
        }
        return TestCertificates(caCertificate: ca, serverCertificate: cert, serverKey: key)
    }
}
