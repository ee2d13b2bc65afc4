import Foundation
import SwockStore
import SwockSupport

/// How dockerd is started on a host: everything that depends on the host's init system lives
/// here (where our configuration goes, how it is applied, start/stop/restart/kill, taking it off
/// again, where dockerd's log is). Pure: every command is unit-tested; callers run them as root.
/// The shell itself is in Scripts/ (systemd.sh; service.sh for OpenRC and sysvinit, which both
/// drive the init script; no-init.sh; own-files.sh, unix-socket-wait.sh); here it is only called.
public enum InitSystem: String, Sendable, CaseIterable {
    case systemd, openrc, sysvinit
    /// No init system manages dockerd: we start it detached and keep its pid in `pidFile`.
    case none

    /// The name the host probe prints (`HostProbe.initSystem`, `HostFacts.initSystem`); anything
    /// unknown is treated as no init system.
    public init(probed: String?) {
        self = probed.flatMap(InitSystem.init(rawValue:)) ?? (probed == nil ? .systemd : .none)
    }

    public static let pidFile = "/var/run/swock-dockerd.pid"
    public static let logFile = "/var/log/swock-dockerd.log"

    /// The init script hands dockerd's flags over through a shell (DOCKER_OPTS, unquoted: split,
    /// globbed, and under OpenRC's start-stop-daemon evaluated): the user's free-form settings
    /// go to daemon.json instead (`EngineConfigRenderer.daemonJSONSettings`), and what remains
    /// must be safe words (`EngineConfigRenderer.firstShellUnsafeArgument`).
    public var passesOptionsThroughShell: Bool { self == .openrc || self == .sysvinit }

    /// Can run Docker's static binaries: they bring no service definition, so we write one
    /// (systemd) or start dockerd ourselves (no init system).
    public var runsStaticDockerd: Bool { self == .systemd || self == .none }

    /// The kind of `/etc/init.d/docker` a host has (`HostProbe.dockerServiceScript`).
    public enum ServiceScript: String, Sendable, CaseIterable {
        /// A native OpenRC script (`#!/sbin/openrc-run`: Alpine, Gentoo): reads /etc/conf.d/docker.
        case openrcRun = "openrc-run"
        /// An LSB/sysv script (Debian's docker.io, which ships no OpenRC script: Debian's OpenRC
        /// runs it as it is): reads /etc/default/docker.
        case lsb

        public init?(probed: String?) {
            guard let probed else { return nil }
            self.init(rawValue: probed)
        }
    }

    static let systemdDropIn = "/etc/systemd/system/docker.service.d/10-swock-machine.conf"
    static let defaultFile = "/etc/default/docker"
    static let confDFile = "/etc/conf.d/docker"
    /// The first line of every file we write (`EngineConfigRenderer`): how rm knows it is ours.
    public static let ownHeader = "# Written by swock-machine; removed by `swock-machine rm`."
    /// Where the host's own file is kept while ours is in its place (rm puts it back).
    public static let backupSuffix = ".swock-backup"

    /// Where our dockerd configuration goes (nil: there is no file, dockerd gets its flags
    /// directly): the file the host's docker service reads.
    public func configPath(serviceScript: ServiceScript?) -> String? {
        switch self {
        case .systemd: return Self.systemdDropIn
        case .openrc: return serviceScript == .lsb ? Self.defaultFile : Self.confDFile
        case .sysvinit: return Self.defaultFile
        case .none: return nil
        }
    }

    /// What this looks like in create's progress line.
    public func configDescription(serviceScript: ServiceScript?) -> String {
        let path = configPath(serviceScript: serviceScript) ?? ""
        switch self {
        case .systemd: return "systemd drop-in \(path)"
        case .openrc: return "OpenRC \(path)" + (serviceScript == .lsb ? " (read by the LSB script /etc/init.d/docker)" : "")
        case .sysvinit: return "sysvinit \(path)"
        case .none: return "no init system: dockerd started detached (pid in \(Self.pidFile))"
        }
    }

    /// Run before our file goes to `path`: keeps the host's own file there (a package's
    /// conffile, say /etc/default/docker of docker.io) for rm to put back. Nil: nothing to keep
    /// (the systemd drop-in is ours alone).
    public func keepOriginalCommand(at path: String) -> String? {
        guard self == .openrc || self == .sysvinit else { return nil }
        return Scripts.ownFiles.command("keep", Self.ownHeader, Self.backupSuffix, path)
    }

    /// The files our configuration may be in on this init system (OpenRC: either, by the kind
    /// of docker service script the host has): what `ownConfigurationCheck` looks for and
    /// `unconfigure` takes off.
    var ownConfigurationCandidates: [String] {
        switch self {
        case .systemd: return [Self.systemdDropIn]
        case .openrc: return [Self.defaultFile, Self.confDFile]
        case .sysvinit: return [Self.defaultFile]
        case .none: return []
        }
    }

    /// Printed by `ownConfigurationCheck` when our configuration is not on the host.
    public static let missingConfigurationMark = "==swock-not-configured"

    /// Shell (as root) that exits 3, printing `missingConfigurationMark`, when our configuration
    /// is not on the host (an interrupted rm took it off, or someone did): restarting dockerd
    /// would bring it up without TLS, and a wait for TLS would only time out. Nil without an init
    /// system (our flags are on dockerd's own command line).
    public var ownConfigurationCheck: String? {
        let paths = ownConfigurationCandidates
        guard !paths.isEmpty else { return nil }
        return Scripts.ownFiles.command(["check", Self.ownHeader, Self.missingConfigurationMark] + paths)
    }

    /// Takes our file off wherever it is (only a file that starts with our header), putting the
    /// host's own one back when we kept it.
    static func removeOwnFiles(_ paths: [String]) -> String {
        Scripts.ownFiles.command(["remove", ownHeader, backupSuffix] + paths)
    }

    /// The content of `configPath` for this launch (nil for `.none`).
    public func configFile(_ launch: DaemonLaunch) -> String? {
        switch self {
        case .systemd:
            return EngineConfigRenderer.systemdUnit(
                dockerdPath: launch.dockerdPath, arguments: launch.arguments, environment: launch.environment)
        case .openrc, .sysvinit:
            return EngineConfigRenderer.shellConf(variable: "DOCKER_OPTS", arguments: launch.arguments, environment: launch.environment)
        case .none:
            return nil
        }
    }

    /// Puts a freshly installed configuration into effect (one restart), enabling the service.
    public func applyConfiguration(_ launch: DaemonLaunch) -> String {
        switch self {
        case .systemd, .openrc, .sysvinit: return scriptCommand("apply")
        case .none: return command(.restart, launch)
        }
    }

    /// The command line that runs the script driving dockerd under this init system with
    /// `arguments` (OpenRC and sysvinit share service.sh, which takes the init system first).
    func scriptCommand(_ arguments: [String]) -> String {
        switch self {
        case .systemd: return Scripts.systemd.command(arguments)
        case .openrc, .sysvinit: return Scripts.service.command([rawValue] + arguments)
        case .none: return Scripts.noInit.command(arguments)
        }
    }

    func scriptCommand(_ arguments: String...) -> String { scriptCommand(arguments) }

    /// The engine lifecycle verbs on this init system.
    public enum Action: String, Sendable, CaseIterable {
        case stop, start, restart, kill
    }

    public func command(_ action: Action, _ launch: DaemonLaunch) -> String {
        switch (self, action) {
        case (.systemd, _), (.openrc, _), (.sysvinit, _):
            return scriptCommand(action.rawValue)
        case (.none, .stop), (.none, .kill):
            return scriptCommand(action.rawValue, Self.pidFile)
        case (.none, .start), (.none, .restart):
            // A running one is stopped first.
            return scriptCommand(
                [action.rawValue, Self.pidFile, Self.logFile] + launch.environment + [launch.dockerdPath] + launch.arguments)
        }
    }

    /// Takes our configuration off (the file under `configPath`) and brings dockerd back the way
    /// the host had it: on its unix socket only. The caller then waits for `unixSocketAnswers`.
    public func unconfigure(dockerdPath: String) -> String {
        switch self {
        case .systemd:
            return scriptCommand("unconfigure", Self.systemdDropIn)
        case .openrc, .sysvinit:
            // OpenRC: which of the two files the record's script read is not recorded: ours is taken off either.
            return "\(Self.removeOwnFiles(ownConfigurationCandidates)); \(scriptCommand("restart"))"
        case .none:
            return scriptCommand("unconfigure", Self.pidFile, Self.logFile, dockerdPath)
        }
    }

    /// Exits 0 once dockerd answers on /var/run/docker.sock, 1 after `seconds`.
    public static func unixSocketAnswers(within seconds: Int) -> String {
        Scripts.unixSocketWait.command(String(max(1, seconds * 4)))
    }

    /// Prints dockerd's own last words (not the init system's restart chatter).
    public var daemonLogCommand: String {
        self == .systemd ? scriptCommand("log") : scriptCommand("log", Self.logFile)
    }
}

/// How dockerd is to be run on a machine: its path, flags and environment.
public struct DaemonLaunch: Sendable, Equatable {
    public var dockerdPath: String
    public var arguments: [String]
    public var environment: [String]

    public init(dockerdPath: String, arguments: [String], environment: [String]) {
        self.dockerdPath = dockerdPath
        self.arguments = arguments
        self.environment = environment
    }

    /// The launch for a machine's record (our listeners, TLS files and the user's settings).
    public init(_ config: MachineConfig, dockerdPath: String? = nil, containerdSocket: String? = nil) {
        self.init(
            dockerdPath: dockerdPath ?? config.engine.dockerdPath ?? "dockerd",
            arguments: EngineConfigRenderer.dockerdArguments(
                engine: config.engine, machineLabels: config.labels,
                containerdSocket: containerdSocket,
                settingsInDaemonJSON: config.initSystem.passesOptionsThroughShell),
            environment: config.engine.environment)
    }
}

extension MachineConfig {
    /// The init system recorded at create (systemd when the record predates the probe).
    public var initSystem: InitSystem { InitSystem(probed: host?.initSystem) }
}
