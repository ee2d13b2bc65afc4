import FleetSupport
import Foundation
import SSHKit

/// A scratch directory removed when the value goes away.
final class TempDir: @unchecked Sendable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sshkit-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

func options(
    for host: FleetHost, knownHosts: String, policy: HostKeyPolicy = .acceptNew,
    auth: [SSHAuthMethod]? = nil, connectTimeout: Duration = .seconds(10)
) -> SSHOptions {
    SSHOptions(
        knownHostsPath: knownHosts, hostKeyPolicy: policy,
        auth: auth ?? [.privateKeyFile(path: host.keyPath)], connectTimeout: connectTimeout)
}

func connect(_ host: FleetHost, user: String? = nil, dir: TempDir) async throws -> SSHSession {
    try await SSHSession.connect(
        to: SSHTarget(host: host.ip, user: user ?? host.user),
        options: options(for: host, knownHosts: dir.file("known_hosts")))
}
