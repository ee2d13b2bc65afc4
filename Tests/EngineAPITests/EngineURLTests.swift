import Foundation
import Testing

@testable import EngineAPI

@Suite struct EngineURLTests {
    static let files = TLSFiles(directory: "/certs")

    @Test(arguments: [
        ("tcp://10.231.1.12:2376", "10.231.1.12", 2376, "10.231.1.12:2376"),
        ("tcp://10.231.1.12", "10.231.1.12", 2376, "10.231.1.12:2376"),
        ("tcp://10.231.1.12:2377/", "10.231.1.12", 2377, "10.231.1.12:2377"),
        ("TCP://web1.example:1", "web1.example", 1, "web1.example:1"),
        ("https://web1:2376", "web1", 2376, "web1:2376"),
        ("tcp://[fd00::12]:2376", "fd00::12", 2376, "[fd00::12]:2376"),
        ("tcp://[::1]", "::1", 2376, "[::1]:2376"),
        ("  tcp://10.0.0.1:65535  ", "10.0.0.1", 65535, "10.0.0.1:65535"),
    ])
    func parses(_ url: String, _ host: String, _ port: Int, _ address: String) throws {
        let e = try EngineEndpoint(url: url, tls: Self.files)
        #expect(e.host == host)
        #expect(e.port == port)
        #expect(e.address == address)
        #expect(e.url == "tcp://" + address)
    }

    @Test(arguments: [
        ("10.0.0.1:2376", "missing tcp:// scheme"),
        ("unix:///var/run/docker.sock", "unsupported scheme unix://"),
        ("http://10.0.0.1:2375", "unsupported scheme http://"),
        ("tcp://", "missing host"),
        ("tcp://:2376", "missing host"),
        ("tcp://10.0.0.1:0", "invalid port \"0\""),
        ("tcp://10.0.0.1:65536", "invalid port \"65536\""),
        ("tcp://10.0.0.1:", "invalid port \"\""),
        ("tcp://10.0.0.1:x", "invalid port \"x\""),
        ("tcp://10.0.0.1:2376/v1.41", "unexpected path"),
        ("tcp://fd00::1:2376", "IPv6 addresses need brackets"),
        ("tcp://[fd00::1:2376", "unclosed ["),
        ("tcp://[web1]:2376", "brackets are only for IPv6"),
        ("tcp://root@10.0.0.1", "user info"),
        ("tcp://we b1:2376", "invalid host"),
    ])
    func rejects(_ url: String, _ reason: String) {
        do {
            _ = try EngineEndpoint(url: url, tls: Self.files)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(error.description.contains("expected tcp://HOST:PORT"))
        }
    }

    @Test(arguments: [("/certs", "/certs/ca.pem"), ("/certs/", "/certs/ca.pem"), ("/", "/ca.pem"), ("rel", "rel/ca.pem")])
    func tlsFilesFromDirectory(_ dir: String, _ ca: String) {
        let f = TLSFiles(directory: dir)
        #expect(f.caPath == ca)
        #expect(f.certPath == ca.replacingOccurrences(of: "ca.pem", with: "cert.pem"))
        #expect(f.keyPath == ca.replacingOccurrences(of: "ca.pem", with: "key.pem"))
    }
}
