import Foundation
import SwockSupport
import Logging
import SSHKit

/// `rm`: takes our configuration off the host (drop-in, certificates, daemon.json changes),
/// restarts dockerd on its own unix socket, then removes the local record.
public struct Remover: Sendable {
    public let store: Store
    public var logger: Logger
    public var connectTimeout: Duration = .seconds(10)

    public init(store: Store, logger: Logger = Logger(label: "swock.rm")) {
        self.store = store
        self.logger = logger
    }

    public struct RemoteCleanupFailed: Error, CustomStringConvertible {
        public var machine: String
        public var reason: String
        public var description: String {
            "rm \(machine): cannot clean the host: \(reason); the record is kept. Fix the cause and retry, or run `swock-machine rm -f \(machine)` to drop the record anyway"
        }
    }

    /// Cleans the host, then removes the record. With `force`, a host that cannot be cleaned
    /// does not keep the record; the returned warning says what was left behind.
    @discardableResult
    public func remove(_ name: String, force: Bool) async throws -> String? {
        let config: MachineConfig
        do {
            config = try store.load(name)
        } catch let e as StoreError {
            guard force, case .notFound = e else {
                if force { try store.remove(name); return "the record was unreadable (\(e)); the host was not cleaned" }
                throw e
            }
            throw e
        }
        var warning: String?
        do {
            try await cleanHost(config)
        } catch {
            guard force else { throw RemoteCleanupFailed(machine: name, reason: "\(error)") }
            warning = "the host \(config.address) was not cleaned (\(error)); our drop-in and certificates may still be there"
        }
        try store.remove(name)
        return warning
    }

    func cleanHost(_ config: MachineConfig) async throws {
        let ssh = try await MachineSSH(store: store, connectTimeout: connectTimeout, logger: logger).connect(config)
        do {
            try await cleanHost(config, ssh: ssh)
            await ssh.close()
        } catch {
            await ssh.close()
            throw error
        }
    }

    private func cleanHost(_ config: MachineConfig, ssh: SSHSession) async throws {
        let r = EngineConfigRenderer.self
        let restart: String
        switch config.host?.initSystem ?? "systemd" {
        case "systemd":
            restart = "rm -f \(r.systemdDropIn); rmdir /etc/systemd/system/docker.service.d 2>/dev/null; systemctl daemon-reload && systemctl restart docker"
        case "openrc":
            restart = "rm -f \(r.openrcConf); rc-service docker restart"
        case "sysvinit":
            restart = "rm -f \(r.sysvDefaults); service docker restart"
        default:
            restart = """
                if [ -f \(r.pidFile) ]; then kill "$(cat \(r.pidFile))" 2>/dev/null; \
                for i in $(seq 1 50); do kill -0 "$(cat \(r.pidFile))" 2>/dev/null || break; sleep 0.2; done; rm -f \(r.pidFile); fi; \
                setsid \(ShellQuote.quote(config.engine.dockerdPath ?? "dockerd")) -H unix:///var/run/docker.sock </dev/null >>\(r.logFile) 2>&1 &
                """
        }
        try await ssh.runAsRoot("""
            rm -rf \(r.remoteDir); \
            \(DaemonJSON.restoreCommand); \
            \(restart)
            """, timeout: .seconds(180))
    }
}
