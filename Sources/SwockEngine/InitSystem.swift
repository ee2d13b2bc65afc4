import Foundation
import SwockStore
import SwockSupport

/// How dockerd is started on a host: everything that depends on the host's init system lives
/// here (where our configuration goes, how it is applied, start/stop/restart/kill, taking it off
/// again, where dockerd's log is). Pure: every command is unit-tested; callers run them as root.
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

    /// Shell (as root) that makes dockerd from a static tarball a service: the docker group, and
    /// for systemd a docker.service unit (ours, unless the host has one already) that our
    /// drop-in then configures like a packaged one.
    public func installStaticService(dockerdPath: String) -> String {
        let group = "getent group docker >/dev/null || groupadd -r docker 2>/dev/null || addgroup -S docker 2>/dev/null || true"
        switch self {
        case .systemd:
            let unit = """
                [Unit]
                Description=Docker Application Container Engine (static binaries, installed by swock-machine)
                After=network-online.target
                Wants=network-online.target

                [Service]
                Type=notify
                ExecStart=\(dockerdPath) -H unix:///var/run/docker.sock
                ExecReload=/bin/kill -s HUP $MAINPID
                LimitNOFILE=infinity
                LimitNPROC=infinity
                TasksMax=infinity
                Delegate=yes
                KillMode=process
                Restart=on-failure
                OOMScoreAdjust=-500

                [Install]
                WantedBy=multi-user.target
                """
            return "\(group); if ! systemctl cat docker.service >/dev/null 2>&1; then printf '%s\\n' \(ShellQuote.quote(unit)) > /etc/systemd/system/docker.service; fi; systemctl daemon-reload"
        case .none, .openrc, .sysvinit:
            return group
        }
    }

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
        let f = ShellQuote.quote(path), b = ShellQuote.quote(path + Self.backupSuffix)
        return "if [ -f \(f) ] && [ ! -e \(b) ] && [ \"$(head -n 1 \(f))\" != \(ShellQuote.quote(Self.ownHeader)) ]; then cp -p \(f) \(b); fi; true"
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
        let tests = paths.map { "[ \"$(head -n 1 \(ShellQuote.quote($0)) 2>/dev/null)\" = \(ShellQuote.quote(Self.ownHeader)) ]" }
        return "{ \(tests.joined(separator: " || ")); } || { echo \(Self.missingConfigurationMark); exit 3; }"
    }

    /// Takes our file off wherever it is (only a file that starts with our header), putting the
    /// host's own one back when we kept it.
    static func removeOwnFiles(_ paths: [String]) -> String {
        paths.map { path in
            let f = ShellQuote.quote(path), b = ShellQuote.quote(path + backupSuffix)
            return "if [ -f \(f) ] && [ \"$(head -n 1 \(f))\" = \(ShellQuote.quote(ownHeader)) ]; then if [ -f \(b) ]; then mv -f \(b) \(f); else rm -f \(f); fi; fi"
        }.joined(separator: "; ")
    }

    /// The content of `configPath` for this launch (nil for `.none`).
    public func configFile(_ launch: DaemonLaunch) -> String? {
        switch self {
        case .systemd:
            return EngineConfigRenderer.systemdUnit(dockerdPath: launch.dockerdPath, arguments: launch.arguments, environment: launch.environment)
        case .openrc, .sysvinit:
            return EngineConfigRenderer.shellConf(variable: "DOCKER_OPTS", arguments: launch.arguments, environment: launch.environment)
        case .none:
            return nil
        }
    }

    /// Puts a freshly installed configuration into effect (one restart), enabling the service.
    public func applyConfiguration(_ launch: DaemonLaunch) -> String {
        switch self {
        case .systemd:
            // Reload first, then ONE restart: touching docker.sock between a stop and the start
            // would socket-activate the old unit.
            // `systemctl enable` runs the LSB helpers for docker.io's init script (0.4 s): only
            // when the service is not enabled yet.
            return "systemctl daemon-reload && { systemctl is-enabled -q docker 2>/dev/null || systemctl enable docker >/dev/null 2>&1; }; systemctl reset-failed docker.service docker.socket containerd.service 2>/dev/null; systemctl restart docker"
        case .openrc:
            return "rc-update add docker default >/dev/null 2>&1; rc-service docker restart"
        case .sysvinit:
            return "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d docker defaults >/dev/null 2>&1; fi; service docker restart"
        case .none:
            return command(.restart, launch)
        }
    }

    /// The engine lifecycle verbs on this init system.
    public enum Action: String, Sendable, CaseIterable {
        case stop, start, restart, kill
    }

    public func command(_ action: Action, _ launch: DaemonLaunch) -> String {
        switch (self, action) {
        case (.systemd, .stop):
            // Stop the socket too, or the next touch of docker.sock starts the engine again
            // (where there is one: Docker's static binaries come without a socket unit).
            return "if systemctl cat docker.socket >/dev/null 2>&1; then systemctl stop docker.socket docker.service; else systemctl stop docker.service; fi"
        case (.systemd, .start):
            // reset-failed also resets systemd's start rate limit (docker.service: 3 starts a minute).
            return "systemctl reset-failed docker.service 2>/dev/null; systemctl start docker.service"
        case (.systemd, .restart):
            return "systemctl reset-failed docker.service 2>/dev/null; systemctl restart docker.service"
        case (.systemd, .kill):
            // SIGKILL, then stop so that Restart=always does not bring it back.
            return "systemctl stop docker.socket; systemctl kill --signal=KILL docker.service; sleep 0.5; systemctl stop docker.service; systemctl reset-failed docker.service 2>/dev/null; true"
        case (.openrc, .kill), (.sysvinit, .kill):
            return "pkill -KILL -x dockerd; true"
        case (.openrc, _):
            return "rc-service docker \(action.rawValue)"
        case (.sysvinit, _):
            return "service docker \(action.rawValue)"
        case (.none, .stop):
            return Self.stopDetached
        case (.none, .kill):
            return "if [ -f \(Self.pidFile) ]; then kill -KILL \"$(cat \(Self.pidFile))\"; rm -f \(Self.pidFile); fi; true"
        case (.none, .start), (.none, .restart):
            // A running one is stopped first.
            return Self.startDetached(launch)
        }
    }

    /// Takes our configuration off (the file under `configPath`) and brings dockerd back the way
    /// the host had it: on its unix socket only. The caller then waits for `unixSocketAnswers`.
    public func unconfigure(dockerdPath: String) -> String {
        switch self {
        case .systemd:
            // Our drop-in had dockerd bind /var/run/docker.sock itself; stopping it removed that
            // file, so docker.socket (where the host has that unit) must be restarted, re-creating it, before the stock unit
            // (`-H fd://`) starts: otherwise dockerd runs but nothing answers on the socket.
            return "rm -f \(Self.systemdDropIn); rmdir /etc/systemd/system/docker.service.d 2>/dev/null; systemctl daemon-reload && systemctl stop docker.service && systemctl reset-failed docker.service docker.socket 2>/dev/null; { ! systemctl cat docker.socket >/dev/null 2>&1 || systemctl restart docker.socket; } && systemctl start docker.service"
        case .openrc:
            // Which of the two files the record's script read is not recorded: ours is taken off either.
            return "\(Self.removeOwnFiles(ownConfigurationCandidates)); rc-service docker restart"
        case .sysvinit:
            return "\(Self.removeOwnFiles(ownConfigurationCandidates)); service docker restart"
        case .none:
            return "\(Self.stopDetached); setsid \(ShellQuote.quote(dockerdPath)) -H unix:///var/run/docker.sock </dev/null >>\(Self.logFile) 2>&1 &"
        }
    }

    /// Exits 0 once dockerd answers on /var/run/docker.sock, 1 after `seconds`.
    public static func unixSocketAnswers(within seconds: Int) -> String {
        let tries = max(1, seconds * 4)
        return """
            i=0; while [ $i -lt \(tries) ]; do \
            if command -v docker >/dev/null 2>&1; then docker -H unix:///var/run/docker.sock version >/dev/null 2>&1 && exit 0; \
            elif command -v curl >/dev/null 2>&1; then curl -sf --unix-socket /var/run/docker.sock http://docker/_ping >/dev/null 2>&1 && exit 0; \
            else test -S /var/run/docker.sock && exit 0; fi; \
            i=$((i+1)); sleep 0.25; done; exit 1
            """
    }

    /// Prints dockerd's own last words (not the init system's restart chatter).
    public var daemonLogCommand: String {
        switch self {
        case .systemd:
            return "j=$(journalctl -u docker --no-pager -n 60 -o cat 2>/dev/null); d=$(printf '%s\\n' \"$j\" | grep -v -e 'docker.service' -e '^Stopped ' -e '^Started ' -e '^Starting ' | tail -n 5); if [ -n \"$d\" ]; then printf '%s\\n' \"$d\"; else printf '%s\\n' \"$j\" | tail -n 3; fi"
        case .openrc, .sysvinit, .none:
            return "tail -q -n 5 \(Self.logFile) /var/log/docker.log 2>/dev/null | tail -n 5"
        }
    }

    /// Stops the dockerd we started detached (TERM, up to 10 s), and forgets its pid.
    static let stopDetached = """
        if [ -f \(pidFile) ]; then kill "$(cat \(pidFile))" 2>/dev/null; \
        for i in $(seq 1 50); do kill -0 "$(cat \(pidFile))" 2>/dev/null || break; sleep 0.2; done; rm -f \(pidFile); fi
        """

    /// Starts dockerd detached (stopping one we started before), recording its pid.
    static func startDetached(_ launch: DaemonLaunch) -> String {
        let env = launch.environment.map(ShellQuote.quote).joined(separator: " ")
        let cmd = ([launch.dockerdPath] + launch.arguments).map(ShellQuote.quote).joined(separator: " ")
        return "\(stopDetached); setsid env \(env) \(cmd) </dev/null >>\(logFile) 2>&1 & echo $! > \(pidFile)"
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
        self.init(dockerdPath: dockerdPath ?? config.engine.dockerdPath ?? "dockerd",
                  arguments: EngineConfigRenderer.dockerdArguments(engine: config.engine, machineLabels: config.labels,
                                                                   containerdSocket: containerdSocket,
                                                                   settingsInDaemonJSON: config.initSystem.passesOptionsThroughShell),
                  environment: config.engine.environment)
    }
}

extension MachineConfig {
    /// The init system recorded at create (systemd when the record predates the probe).
    public var initSystem: InitSystem { InitSystem(probed: host?.initSystem) }
}
