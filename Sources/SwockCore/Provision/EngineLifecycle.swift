import EngineAPI
import Foundation
import SwockSupport
import Logging
import SSHKit

/// stop / start / restart / kill / upgrade of the engine on a generic host, through its init
/// system (docker-machine refused these for generic hosts; we do them).
public struct EngineLifecycle: Sendable {
    public enum Action: String, Sendable, CaseIterable {
        case stop, start, restart, kill, upgrade
    }

    public let store: Store
    public var logger: Logger
    public var engineWait: Duration = .seconds(60)

    public init(store: Store, logger: Logger = Logger(label: "swock.lifecycle")) {
        self.store = store
        self.logger = logger
    }

    /// Runs `action` on the machine; returns a one-line summary.
    public func perform(_ action: Action, on name: String) async throws -> String {
        let config = try store.load(name)
        let ssh = try await MachineSSH(store: store, logger: logger).connect(config)
        do {
            let summary = try await perform(action, config: config, ssh: ssh)
            await ssh.close()
            return summary
        } catch {
            await ssh.close()
            throw error
        }
    }

    private func perform(_ action: Action, config: MachineConfig, ssh: SSHSession) async throws -> String {
        let initSystem = config.host?.initSystem ?? "systemd"
        switch action {
        case .stop:
            try await ssh.runAsRoot(Self.command(.stop, initSystem: initSystem, config: config), timeout: .seconds(120))
            return "engine stopped"
        case .kill:
            try await ssh.runAsRoot(Self.command(.kill, initSystem: initSystem, config: config), timeout: .seconds(60))
            return "dockerd killed"
        case .start, .restart:
            try await ssh.runAsRoot(Self.command(action, initSystem: initSystem, config: config), timeout: .seconds(180))
            let v = try await waitForEngine(config)
            return "engine \(action == .start ? "started" : "restarted"): Docker \(v.version)"
        case .upgrade:
            let before = config.engine.version ?? "unknown"
            let family = config.host.flatMap { OSFamily(rawValue: $0.family) }
            let command = try Self.upgradeCommand(family: family, installURL: config.engine.installURL, install: config.engine.install)
            let r = try await ssh.execAsRoot(command, timeout: .seconds(1800))
            guard r.succeeded else {
                let tail = (r.stderrText + r.stdoutText).split(separator: "\n").suffix(3).joined(separator: " | ")
                throw SSHError.commandFailed(host: config.address, command: "engine upgrade", exitStatus: r.exitStatus, signal: r.signal, stderr: tail)
            }
            try await ssh.runAsRoot(Self.command(.restart, initSystem: initSystem, config: config), timeout: .seconds(180))
            let v = try await waitForEngine(config)
            try store.update(config.name) { $0.engine.version = v.version }
            return before == v.version ? "engine already at the newest version the host offers (Docker \(v.version))" : "engine upgraded: Docker \(before) -> \(v.version)"
        }
    }

    /// The shell for `action` on an init system. Pure: unit-tested.
    public static func command(_ action: Action, initSystem: String, config: MachineConfig) -> String {
        let r = EngineConfigRenderer.self
        switch (initSystem, action) {
        case ("systemd", .stop):
            // Stop the socket too, or the next touch of docker.sock starts the engine again.
            return "systemctl stop docker.socket docker.service"
        case ("systemd", .start):
            // reset-failed also resets systemd's start rate limit (docker.service: 3 starts a minute).
            return "systemctl reset-failed docker.service 2>/dev/null; systemctl start docker.service"
        case ("systemd", .restart), ("systemd", .upgrade):
            return "systemctl reset-failed docker.service 2>/dev/null; systemctl restart docker.service"
        case ("systemd", .kill):
            // SIGKILL, then stop so that Restart=always does not bring it back.
            return "systemctl stop docker.socket; systemctl kill --signal=KILL docker.service; sleep 0.5; systemctl stop docker.service; systemctl reset-failed docker.service 2>/dev/null; true"
        case ("openrc", .kill), ("sysvinit", .kill):
            return "pkill -KILL -x dockerd; true"
        case ("openrc", _):
            return "rc-service docker \(action == .upgrade ? "restart" : action.rawValue)"
        case ("sysvinit", _):
            return "service docker \(action == .upgrade ? "restart" : action.rawValue)"
        default:
            let stop = "if [ -f \(r.pidFile) ]; then kill \"$(cat \(r.pidFile))\" 2>/dev/null; for i in $(seq 1 50); do kill -0 \"$(cat \(r.pidFile))\" 2>/dev/null || break; sleep 0.2; done; rm -f \(r.pidFile); fi"
            let args = EngineConfigRenderer.dockerdArguments(engine: config.engine, machineLabels: config.labels, liveRestore: false, containerdSocket: nil)
            let start = r.detachedStart(dockerdPath: config.engine.dockerdPath ?? "dockerd", arguments: args, environment: config.engine.environment)
            switch action {
            case .stop: return stop
            case .kill: return "if [ -f \(r.pidFile) ]; then kill -KILL \"$(cat \(r.pidFile))\"; rm -f \(r.pidFile); fi; true"
            case .start: return start
            case .restart, .upgrade: return start  // detachedStart stops a running one first
            }
        }
    }

    /// Upgrades the engine the way it was installed. Pure: unit-tested.
    public static func upgradeCommand(family: OSFamily?, installURL: String?, install: EngineSettings.InstallMethod) throws -> String {
        if let url = installURL {
            if case .script(_, let command) = try EngineInstallPlan.plan(release: nil, family: nil, dockerdPresent: false, method: .auto, installURL: url) {
                return command
            }
        }
        guard let family else {
            throw EngineInstallPlan.NotInstallable(description: "cannot upgrade the engine: the host's OS family is unknown; upgrade Docker Engine on the host yourself")
        }
        switch family {
        case .debian:
            return "export DEBIAN_FRONTEND=noninteractive; dpkg --configure -a; apt-get -o DPkg::Lock::Timeout=300 update -q && apt-get -o DPkg::Lock::Timeout=300 install -y -q --only-upgrade docker.io"
        case .rhel:
            return "(command -v dnf >/dev/null && dnf upgrade -y moby-engine docker) || yum update -y docker"
        case .alpine:
            return "apk upgrade --no-cache docker"
        case .suse:
            return "zypper --non-interactive update docker"
        case .arch:
            return "pacman -Sy --noconfirm docker"
        }
    }

    func waitForEngine(_ config: MachineConfig) async throws -> EngineVersion {
        let client = EngineClient(endpoint: MachineStatus.endpoint(config, store: store), timeout: .seconds(3))
        let clock = ContinuousClock()
        let deadline = clock.now + engineWait
        var last: Error?
        while clock.now < deadline {
            do { return try await client.version() } catch {
                last = error
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        throw ProvisionError(machine: config.name, step: "wait-engine",
                             reason: "the daemon did not answer within \(Int(engineWait.timeInterval)) s (\(last.map { "\($0)" } ?? "no answer"))",
                             resumable: true)
    }
}
