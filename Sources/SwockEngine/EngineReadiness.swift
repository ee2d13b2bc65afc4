import EngineAPI
import Foundation
import SSHKit
import SwockRemote
import SwockStore
import SwockSupport

/// The one wait for a daemon to answer: over mutual TLS at the machine's endpoint (create,
/// provision, start/restart/upgrade, regenerate-certs), or on the host's unix socket (rm).
/// A daemon that does not answer in time is an error carrying dockerd's own last log lines.
public struct EngineReadiness: Sendable {
    public let store: Store
    public var within: Duration

    public init(store: Store, within: Duration = .seconds(60)) {
        self.store = store
        self.within = within
    }

    /// Waits until the daemon answers `/version` over mutual TLS. With `ssh`, a timeout fetches
    /// the daemon's log through it for the error.
    public func waitForTLS(_ config: MachineConfig, ssh: (any RemoteHost)?) async throws -> EngineVersion {
        let clock = ContinuousClock()
        let deadline = clock.now + within
        var lastError: Error?
        let answered: EngineVersion? = try await EngineRoute.withEndpoint(config, store: store, through: ssh?.forwardingSession) {
            endpoint in
            let client = EngineClient(endpoint: endpoint, timeout: .seconds(3))
            while clock.now < deadline {
                do {
                    return try await client.version()
                } catch {
                    lastError = error
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            return nil
        }
        if let answered { return answered }
        var reason =
            "the daemon did not answer at \(config.engineURL) within \(Int(within.timeInterval)) s (\(lastError.map { "\($0)" } ?? "no answer"))"
        if let ssh { reason += "; daemon log: \(await Self.daemonLog(ssh: ssh, initSystem: config.initSystem))" }
        throw EngineNotAnswering(machine: config.name, reason: reason)
    }

    /// Waits until dockerd answers on the host's /var/run/docker.sock (after rm took our
    /// configuration off).
    public func waitForUnixSocket(_ config: MachineConfig, ssh: any RemoteHost) async throws {
        let seconds = max(1, Int(within.timeInterval))
        let r = try await ssh.execAsRoot(InitSystem.unixSocketAnswers(within: seconds), timeout: within + .seconds(15))
        guard r.succeeded else {
            throw EngineNotAnswering(
                machine: config.name,
                reason:
                    "dockerd on \(config.address) did not answer on its unix socket within \(seconds) s after our configuration was removed; daemon log: \(await Self.daemonLog(ssh: ssh, initSystem: config.initSystem))"
            )
        }
    }

    /// The daemon did not answer in time; `reason` says where, for how long, and what dockerd logged.
    public struct EngineNotAnswering: Error, CustomStringConvertible {
        public var machine: String
        public var reason: String
        public var description: String { reason }
    }

    /// dockerd's own last words, one line ("(empty)" when there are none or they cannot be read).
    package static func daemonLog(ssh: any RemoteHost, initSystem: InitSystem) async -> String {
        guard let r = try? await ssh.execAsRoot(initSystem.daemonLogCommand, timeout: .seconds(20)) else { return "(unavailable)" }
        let lines = r.stdoutText.textLines().map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.isEmpty ? "(empty)" : lines.joined(separator: " | ")
    }
}
