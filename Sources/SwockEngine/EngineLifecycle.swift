import Foundation
import Logging
import SSHKit
import SwockRemote
import SwockStore
import SwockSupport

/// stop / start / restart / kill / upgrade of the engine on a generic host, through its init
/// system (docker-machine refused these for generic hosts; we do them).
public struct EngineLifecycle: Sendable {
    public enum Action: String, Sendable, CaseIterable {
        case stop, start, restart, kill, upgrade
    }

    public let store: Store
    public var logger: Logger
    public var engineWait: Duration = .seconds(60)
    /// How the host is reached; nil: `MachineSSH` (tests give scripted hosts).
    package var connectRecord: (@Sendable (MachineConfig) async throws -> any RemoteHost)?
    /// The connection keeper to go through when it serves (nil: connect directly).
    public var keeper: KeeperClient?

    public init(store: Store, logger: Logger = Logger(label: "swock.lifecycle")) {
        self.store = store
        self.logger = logger
    }

    /// Runs `action` on the machine; returns a one-line summary.
    public func perform(_ action: Action, on name: String) async throws -> String {
        let config = try store.load(name)
        let ssh: any RemoteHost
        if let connectRecord {
            ssh = try await connectRecord(config)
        } else {
            ssh = try await MachineSSH(store: store, logger: logger).commandHost(config, keeper: keeper)
        }
        do {
            let summary = try await perform(action, config: config, ssh: ssh)
            await ssh.close()
            return summary
        } catch {
            await ssh.close()
            throw error
        }
    }

    func perform(_ action: Action, config: MachineConfig, ssh: any RemoteHost) async throws -> String {
        let initSystem = config.initSystem
        let launch = DaemonLaunch(config)
        let readiness = EngineReadiness(store: store, within: engineWait)
        switch action {
        case .stop:
            try await ssh.runAsRoot(initSystem.command(.stop, launch), timeout: .seconds(120))
            return "engine stopped"
        case .kill:
            try await ssh.runAsRoot(initSystem.command(.kill, launch), timeout: .seconds(60))
            return "dockerd killed"
        case .start, .restart:
            try await Self.runRequiringConfiguration(
                initSystem.command(action == .start ? .start : .restart, launch),
                config, initSystem: initSystem, ssh: ssh, timeout: .seconds(180))
            let v = try await readiness.waitForTLS(config, ssh: ssh)
            return "engine \(action == .start ? "started" : "restarted"): Docker \(v.version)"
        case .upgrade:
            let before = config.engine.version ?? "unknown"
            let family = config.host.flatMap { OSFamily(rawValue: $0.family) }
            let command = try Self.upgradeCommand(family: family, installURL: config.engine.installURL, install: config.engine.install)
            let r = try await Self.execRequiringConfiguration(command, config, initSystem: initSystem, ssh: ssh, timeout: .seconds(1800))
            guard r.succeeded else {
                let tail = (r.stderrText + r.stdoutText).textLines().suffix(3).joined(separator: " | ")
                throw SSHError.commandFailed(
                    host: config.address, command: "engine upgrade", exitStatus: r.exitStatus, signal: r.signal, stderr: tail)
            }
            try await ssh.runAsRoot(initSystem.command(.restart, launch), timeout: .seconds(180))
            let v = try await readiness.waitForTLS(config, ssh: ssh)
            try store.update(config.name) { $0.engine.version = v.version }
            return before == v.version
                ? "engine already at the newest version the host offers (Docker \(v.version))"
                : "engine upgraded: Docker \(before) -> \(v.version)"
        }
    }

    /// Our dockerd configuration is not on the host: restarting would bring dockerd up without
    /// TLS. Said at once instead of after a wait for the daemon.
    public struct NotConfigured: CodedError, Equatable {
        public var machine: String
        public var host: String
        public var description: String {
            "\(machine): swock-machine's dockerd configuration is not on \(host) (an interrupted rm, or it was removed)"
        }
        public var code: ErrorCode { "engine.not-configured" }
    }

    /// Throws `NotConfigured` when our configuration is missing on the host (before a restart
    /// that needs it: regenerate-certs, which installs certificates first).
    static func requireConfiguration(_ config: MachineConfig, initSystem: InitSystem, ssh: any RemoteHost) async throws {
        guard initSystem.ownConfigurationCheck != nil else { return }
        try await runRequiringConfiguration("true", config, initSystem: initSystem, ssh: ssh, timeout: SSHOptions.shortCommandTimeout)
    }

    /// Runs `command` as root, in the same round trip as `InitSystem.ownConfigurationCheck`
    /// before it: `NotConfigured` when our configuration is missing (then `command` does not run).
    static func execRequiringConfiguration(
        _ command: String, _ config: MachineConfig, initSystem: InitSystem,
        ssh: any RemoteHost, timeout: Duration
    ) async throws -> ExecResult {
        guard let check = initSystem.ownConfigurationCheck else { return try await ssh.execAsRoot(command, timeout: timeout) }
        let r = try await ssh.execAsRoot(Self.afterConfigurationCheck(check, command), timeout: timeout)
        if r.exitStatus == 3 && r.stdoutText.textLines().first.map(String.init) == InitSystem.missingConfigurationMark {
            throw NotConfigured(machine: config.name, host: config.address)
        }
        return r
    }

    /// One command line: `check` (a script of its own), and `command` only when it passed; the
    /// check's status (3 with its mark) otherwise.
    static func afterConfigurationCheck(_ check: String, _ command: String) -> String {
        "\(check) || exit $?\n\(command)"
    }

    /// `execRequiringConfiguration`, throwing when `command` fails.
    @discardableResult
    static func runRequiringConfiguration(
        _ command: String, _ config: MachineConfig, initSystem: InitSystem,
        ssh: any RemoteHost, timeout: Duration
    ) async throws -> String {
        try await execRequiringConfiguration(command, config, initSystem: initSystem, ssh: ssh, timeout: timeout)
            .stdoutOrThrow(host: config.address, command: command)
    }

    /// Upgrades the engine the way it was installed. Pure: unit-tested.
    public static func upgradeCommand(family: OSFamily?, installURL: String?, install: EngineSettings.InstallMethod) throws -> String {
        if let url = installURL {
            if case .script(_, let command) = try EngineInstallPlan.plan(
                release: nil, family: nil, dockerdPresent: false, method: .auto, installURL: url)
            {
                return command
            }
        }
        guard let family else {
            throw EngineInstallPlan.NotInstallable.upgradeUnknownFamily
        }
        // Scripts/engine-packages.sh. Debian: on sysvinit/OpenRC hosts our DOCKER_OPTS sit in
        // docker.io's conffile /etc/default/docker, which a new package version keeps.
        return Scripts.enginePackages.command("upgrade", family.rawValue)
    }
}
