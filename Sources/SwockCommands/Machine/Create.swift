import ArgumentParser
import Foundation
import SSHKit
import SwockClient
import SwockDrivers
import SwockPKI
import SwockProvision
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSwarm

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Turn a Linux server into a TLS-secured Docker host and record it as a machine.",
        discussion: Help.discussion(
            """
            Connects over SSH, pins the host key, detects the OS, installs Docker Engine unless it is \
            there, installs a server certificate signed by the store's CA, configures dockerd to listen \
            on TCP with mutual TLS, and waits until it answers. Each step is recorded: if create stops \
            half-way, `swock-machine provision NAME` resumes it.

            A driver (-d) makes or names the host, then the same provisioning runs over SSH: \
            generic (the default) is a server you already have; none adopts a Docker endpoint you \
            already run (no SSH, nothing installed); any other name is a Docker Machine driver plugin \
            (docker-machine-driver-NAME on PATH). `create -d NAME --help` lists that driver's flags; \
            a driver's create that fails removes what it made and leaves no record.
            """,
            examples: [
                "swock-machine create --driver generic --generic-ip-address 203.0.113.10 web1",
                "swock-machine create -d qemu --qemu-memory 2048 dev",
                "swock-machine create -f fleet.yaml -p 4",
            ]))

    @OptionGroup var global: GlobalOptions

    @Option(
        name: [.customShort("d"), .long],
        help: ArgumentHelp(
            "The driver that makes or names the host: generic (an existing server over SSH), none (an existing Docker endpoint), or a docker-machine-driver-NAME plugin on PATH; `create -d NAME --help` lists its flags.",
            valueName: "name"))
    var driver = "generic"

    @Option(
        name: .customLong("generic-ip-address"),
        help: ArgumentHelp("IP address or host name of the server (required; env: GENERIC_IP_ADDRESS).", valueName: "address"))
    var address: String?

    @Option(
        name: .customLong("generic-ssh-user"),
        help: "SSH user (root, or a user with passwordless sudo; default root; env: GENERIC_SSH_USER).")
    var sshUser: String?

    @Option(
        name: .customLong("generic-ssh-key"),
        help: ArgumentHelp("SSH private key file (default: the ssh-agent, then ~/.ssh/id_*; env: GENERIC_SSH_KEY).", valueName: "path"))
    var sshKey: String?

    @Option(name: .customLong("generic-ssh-port"), help: "SSH port (default 22; env: GENERIC_SSH_PORT).")
    var sshPort: Int?

    @Option(
        name: .customLong("generic-ssh-proxy-jump"),
        help: ArgumentHelp(
            "Reach the server through bastions, first hop first, as ssh -J (in-process; each hop's host key is pinned too). The Engine API is then forwarded to 127.0.0.1 over SSH (see `tunnel`).",
            valueName: "[user@]host[:port][,...]"))
    var proxyJump: String?

    @Option(
        name: .customLong("generic-sudo-password-env"),
        help: ArgumentHelp(
            "When sudo asks for a password: the environment variable that holds it (kept in the store, 0600; never on a command line).",
            valueName: "var"))
    var sudoPasswordEnv: String?

    @Flag(name: .customLong("generic-sudo-password-stdin"), help: "When sudo asks for a password: read it from the first line of stdin.")
    var sudoPasswordStdin = false

    @Option(
        name: .customLong("generic-ssh-password-env"),
        help: ArgumentHelp(
            "For hosts that only take a password: the environment variable that holds it ($SWOCK_GENERIC_SSH_PASSWORD is read without this flag); a generated key is installed and used from then on, the password is not kept.",
            valueName: "var"))
    var sshPasswordEnv: String?

    @Flag(
        name: .customLong("generic-ssh-password-stdin"), help: "For hosts that only take a password: read it from the first line of stdin.")
    var sshPasswordStdin = false

    /// Refused (a flag's value shows in ps and shell history); kept so the refusal names the replacement.
    @Option(name: .customLong("generic-ssh-password"), help: .hidden)
    var sshPasswordOnCommandLine: String?

    @Option(
        name: .customLong("generic-engine-port"), help: "TCP port dockerd listens on (mutual TLS; default 2376; env: GENERIC_ENGINE_PORT).")
    var enginePort: Int?

    @Option(name: .customLong("engine-label"), help: ArgumentHelp("Engine label key=value (repeatable).", valueName: "label"))
    var engineLabels: [String] = []

    @Option(
        name: .customLong("engine-opt"),
        help: ArgumentHelp("dockerd flag as name=value, e.g. dns=10.0.0.2 (repeatable).", valueName: "option"))
    var engineOpts: [String] = []

    @Option(
        name: .customLong("engine-env"), help: ArgumentHelp("Environment variable for dockerd, KEY=value (repeatable).", valueName: "env"))
    var engineEnv: [String] = []

    @Option(name: .customLong("engine-storage-driver"), help: "dockerd storage driver.")
    var storageDriver: String?

    @Option(name: .customLong("engine-registry-mirror"), help: ArgumentHelp("Registry mirror URL (repeatable).", valueName: "url"))
    var registryMirrors: [String] = []

    @Option(
        name: .customLong("engine-insecure-registry"),
        help: ArgumentHelp("Insecure registry host:port (repeatable).", valueName: "registry"))
    var insecureRegistries: [String] = []

    @Option(
        name: .customLong("engine-install-url"),
        help: ArgumentHelp("Install the engine with this get.docker.com-style script instead of the package manager.", valueName: "url"))
    var installURL: String?

    @Option(
        name: .customLong("engine-install"),
        help:
            "auto: install the engine unless dockerd is there; none: never install; bundle:PATH: from a local folder of .deb files or Docker's static binaries tarball (docker-VERSION.tgz), for hosts without a repository."
    )
    var install = EngineInstallChoice.auto

    @Option(
        name: .customLong("tls-san"), help: ArgumentHelp("Extra IP or DNS name for the server certificate (repeatable).", valueName: "name")
    )
    var tlsSANs: [String] = []

    @Option(name: .customLong("tls-key-type"), help: "Key type of the server certificate: ecdsa (P-256) or rsa (2048).")
    var tlsKeyType = TLSKeyType.ecdsa

    @Option(
        name: .customLong("hostname"), help: "Set the server's host name; the server certificate covers it (never the name a host reports)."
    )
    var hostname: String?

    @Option(
        name: .customLong("label"), help: ArgumentHelp("Machine label key=value, also an engine label (repeatable).", valueName: "label"))
    var labels: [String] = []

    @Option(
        name: .customLong("ssh-host-key"),
        help: "accept-new: pin the host key on first contact; strict: it must be in --ssh-known-hosts or match --ssh-host-key-fingerprint.")
    var hostKeyPolicy = HostKeyPolicy.acceptNew

    @Option(
        name: .customLong("ssh-host-key-fingerprint"),
        help: ArgumentHelp(
            "The host key's expected SHA256:... fingerprint (repeatable: any of them); another key is refused, naming both. With it, first contact is not trust-on-first-use.",
            valueName: "fingerprint"))
    var hostKeyFingerprints: [String] = []

    @Option(
        name: .customLong("ssh-known-hosts"),
        help: ArgumentHelp(
            "An OpenSSH known_hosts file with the expected keys of the host (and of its jump hosts); another key is refused.",
            valueName: "path"))
    var knownHostsFile: String?

    @Option(
        name: .customLong("ssh-config"),
        help: ArgumentHelp(
            "OpenSSH client configuration to resolve --generic-ip-address in (a Host alias's HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump; flags and GENERIC_* win); the resolved values are kept in the record. none: do not read one.",
            valueName: "path|none"))
    var sshConfig = "~/.ssh/config"

    @Option(
        name: .customLong("provision-script"),
        help: ArgumentHelp(
            "A script run as root on the host after the engine answers (repeatable, in order; sent over SSH, output shown with the machine's name). A failing one leaves the machine usable and marked; `provision --rerun-scripts` runs them again.",
            valueName: "path"))
    var provisionScripts: [String] = []

    @Flag(name: .customLong("swarm-init"), help: "Then start a Swarm mode cluster with this machine as its manager.")
    var swarmInit = false

    @Option(
        name: .customLong("swarm-manager"), help: ArgumentHelp("Then join the swarm this machine manages.", valueName: "name"),
        completion: .machineNames)
    var swarmManager: String?

    @Option(name: .customLong("swarm-role"), help: "With --swarm-manager: join as a worker or a manager.")
    var swarmRole: SwarmRole = .worker

    @Option(
        name: [.customShort("f"), .customLong("file")],
        help: ArgumentHelp("Create every machine of a fleet file (YAML or JSON), concurrently.", valueName: "path"))
    var fleetFile: String?

    @Option(name: [.customShort("p"), .customLong("parallel")], help: "With -f: how many machines are provisioned at once.")
    var parallel = 8

    @OptionGroup var progressOptions: ProgressOptions

    /// The machine name and the driver's flags (`--url ...`): a driver's flags are known only at
    /// run time (a plugin declares them), so they are parsed from here by `DriverFlagParser`.
    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Machine name: letters, digits, '.' and '-' (and the driver's flags, see -d NAME --help).", valueName: "name"))
    var words: [String] = []

    /// The machine name, for generic: the one word that is not a flag.
    var name: String? { words.first(where: { !$0.hasPrefix("-") }) }

    func run() async throws {
        try await reportingErrors {
            try refusePasswordOnCommandLine()
            if let fleetFile {
                guard words.isEmpty else { throw UsageError("give either a machine name or -f FILE, not both") }
                try await FleetCreate(global: global, path: fleetFile, parallel: parallel, progress: progressOptions.progress).run()
                return
            }
            if swarmInit && swarmManager != nil { throw UsageError("give either --swarm-init or --swarm-manager NAME, not both") }
            if let m = swarmManager, !global.store.exists(m) { throw StoreError.notFound(m) }
            let logger = global.logger("swock.create")
            let provisioner = Provisioner(
                store: global.store, progress: progressOptions.progress.resolved() == .quiet ? QuietProgress() : StderrProgress(),
                logger: logger)
            let clock = ContinuousClock()
            let start = clock.now
            let config: MachineConfig
            if driver == "generic" {
                try refuseUnknownWords()
                config = try await provisioner.create(try makeRequest())
            } else {
                let (request, made) = try await driverRequest(registry: .standard)
                config = try await DriverCreation(provisioner: provisioner).create(request, driver: made)
            }
            ContextSync.write(config.name, store: global.store)
            let seconds = (clock.now - start).timeInterval
            Output.err(
                "(\(config.name)) Docker \(config.engine.version ?? "?") is up at \(config.engineURL) (\(String(format: "%.1f", seconds)) s)"
            )
            if config.isBehindJumpHosts {
                // Its docker context points at the forward: have it running, as env would.
                let pid = try await TunnelService(store: global.store).ensureRunning(config, executable: Tunnel.executable)
                Output.err(
                    "(\(config.name)) Engine API forwarded over SSH to \(config.clientURL) (pid \(pid); `swock-machine tunnel --stop \(config.name)` ends it)"
                )
            }
            let viaContext =
                DockerContexts.isValidName(config.name) && config.name != "default" ? " (or docker --context \(config.name) ...)" : ""
            Output.err("To point your Docker client at it, run: eval \"$(swock-machine env \(config.name))\"\(viaContext)")
            if let failed = ProvisionScriptFailed(config) { throw failed }
            if swarmInit || swarmManager != nil {
                let plan =
                    swarmInit
                    ? SwarmPlan(inits: [config.name])
                    : SwarmPlan(joins: [.init(manager: swarmManager!, asManager: swarmRole == .manager, names: [config.name])])
                let outcomes = await SwarmControl(store: global.store).apply(plan) { o in
                    if let d = o.detail { Output.err("(\(o.name)) \(d)") }
                }
                if let failure = FanOutFailure(outcomes) {
                    throw UserFacingError(
                        "\(ErrorReport.lines(failure).joined(separator: "\n")); the machine is ready: retry with `swock-machine swarm \(swarmInit ? "init" : "join --manager \(swarmManager!)") \(config.name)`"
                    )
                }
            }
        }
    }

    /// For generic: one word, the name; a flag ArgumentParser did not know is no generic flag.
    func refuseUnknownWords() throws {
        if let flag = words.first(where: { $0.hasPrefix("-") && $0 != "-" }) {
            throw DriverError.unknownFlag(
                driver: "generic", flag: String(flag.split(separator: "=", maxSplits: 1)[0]),
                known: GenericKind.flags.map { "--" + $0.name })
        }
        if words.count > 1 { throw UsageError("one machine name, please: got \(words.joined(separator: " "))") }
    }

    /// The `--generic-*` options this command was given (they belong to the generic driver only).
    var genericFlagsGiven: [String] {
        [
            (address != nil, "--generic-ip-address"), (sshUser != nil, "--generic-ssh-user"), (sshKey != nil, "--generic-ssh-key"),
            (sshPort != nil, "--generic-ssh-port"), (proxyJump != nil, "--generic-ssh-proxy-jump"),
            (sudoPasswordEnv != nil, "--generic-sudo-password-env"), (sudoPasswordStdin, "--generic-sudo-password-stdin"),
            (sshPasswordEnv != nil, "--generic-ssh-password-env"), (sshPasswordStdin, "--generic-ssh-password-stdin"),
            (enginePort != nil, "--generic-engine-port"),
        ].filter(\.0).map(\.1)
    }

    /// The value of a `--generic-*` option that takes one, as text.
    func genericValue(_ flag: String) -> String? {
        switch flag {
        case "--generic-ip-address": return address
        case "--generic-ssh-user": return sshUser
        case "--generic-ssh-key": return sshKey
        case "--generic-ssh-port": return sshPort.map(String.init)
        case "--generic-engine-port": return enginePort.map(String.init)
        default: return nil
        }
    }

    /// The options that configure a host's engine or certificate, which `none` does not touch.
    var hostOptionsGiven: [String] {
        [
            (!engineLabels.isEmpty, "--engine-label"), (!engineOpts.isEmpty, "--engine-opt"), (!engineEnv.isEmpty, "--engine-env"),
            (storageDriver != nil, "--engine-storage-driver"), (!registryMirrors.isEmpty, "--engine-registry-mirror"),
            (!insecureRegistries.isEmpty, "--engine-insecure-registry"), (installURL != nil, "--engine-install-url"),
            (install != .auto, "--engine-install"), (!tlsSANs.isEmpty, "--tls-san"), (tlsKeyType != .ecdsa, "--tls-key-type"),
            (hostname != nil, "--hostname"), (hostKeyPolicy != .acceptNew, "--ssh-host-key"),
            (!hostKeyFingerprints.isEmpty, "--ssh-host-key-fingerprint"), (knownHostsFile != nil, "--ssh-known-hosts"),
        ].filter(\.0).map(\.1)
    }

    /// `create -d NAME` (not generic): the driver made from its flags, and the common settings.
    func driverRequest(registry: DriverRegistry) async throws -> (CreateRequest, any MachineDriver) {
        let kind = try registry.kind(named: driver)
        let flags = try await kind.createFlags()
        // A plugin may declare the --generic-* names as its own (docker-machine's generic driver
        // run as a plugin does): those given go to it as its flags.
        var passed: [String] = []
        for g in genericFlagsGiven {
            guard flags.contains(where: { "--" + $0.name == g }), let v = genericValue(g) else {
                throw DriverError.unknownFlag(driver: kind.name, flag: g, known: flags.map { "--" + $0.name })
            }
            passed += [g, v]
        }
        let (values, operands) = try DriverFlagParser.parse(passed + words, flags: flags, driver: kind.name)
        guard let name = operands.first else {
            throw UsageError("name the machine to create: swock-machine create -d \(kind.name) [flags] NAME")
        }
        guard operands.count == 1 else { throw UsageError("one machine name, please: got \(operands.joined(separator: " "))") }
        if kind.name == "none", let o = hostOptionsGiven.first {
            throw UsageError("\(o) does not apply to the none driver: it adopts a running daemon and configures nothing on its host")
        }
        var r = CreateRequest(name: name, address: "")
        try applyCommon(to: &r, enginePort: 2376)
        r.driver = kind.name
        try MachineName.validate(name)
        if global.store.exists(name) { throw StoreError.alreadyExists(name) }
        return (r, try await kind.driverForCreate(machine: name, flags: values, store: global.store))
    }

    /// From --generic-sudo-password-env or --generic-sudo-password-stdin (nil without either).
    func sudoPassword() throws -> String? {
        try SecretInput.read(
            envOption: "--generic-sudo-password-env", variable: sudoPasswordEnv,
            stdinOption: "--generic-sudo-password-stdin", fromStdin: sudoPasswordStdin)
    }

    func refusePasswordOnCommandLine() throws {
        if sshPasswordOnCommandLine != nil {
            throw UsageError(
                "--generic-ssh-password puts the password on the command line, where ps and shell history show it; give it with --generic-ssh-password-env VAR or --generic-ssh-password-stdin instead"
            )
        }
    }

    /// From --generic-ssh-password-env or --generic-ssh-password-stdin, else $SWOCK_GENERIC_SSH_PASSWORD
    /// (nil without any). The password itself as an argument is refused: `ps` shows it.
    func sshPassword() throws -> String? {
        try refusePasswordOnCommandLine()
        if sshPasswordStdin && sudoPasswordStdin {
            throw UsageError(
                "--generic-ssh-password-stdin and --generic-sudo-password-stdin cannot both read stdin; give one of them with its -env flag instead"
            )
        }
        return try SecretInput.read(
            envOption: "--generic-ssh-password-env", variable: sshPasswordEnv,
            stdinOption: "--generic-ssh-password-stdin", fromStdin: sshPasswordStdin)
            ?? ProcessInfo.processInfo.environment["SWOCK_GENERIC_SSH_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func makeRequest(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CreateRequest {
        guard let name else { throw UsageError("name the machine to create (or pass -f FLEET_FILE)") }
        // Docker Machine's generic driver reads these variables; a flag wins.
        let generic = try GenericEnvironment(environment)
        guard let address = address ?? generic.address, !address.isEmpty else {
            throw UsageError(ErrorReport.text(.missingAddress))
        }
        // A Host entry of ~/.ssh/config (or --ssh-config FILE) for the address, as ssh reads it.
        let fromFile = try CreateSSHConfig(choice: sshConfig, environment: environment).resolve(address)
        var r = CreateRequest(name: name, address: fromFile?.hostName ?? address)
        r.sshUser = sshUser ?? generic.sshUser ?? fromFile?.user ?? "root"
        r.sshPort = sshPort ?? generic.sshPort ?? fromFile?.port ?? 22
        let enginePort = enginePort ?? generic.enginePort ?? 2376
        if let proxyJump {
            do { r.proxyJump = try JumpHost.parseList(proxyJump) } catch { throw UsageError("--generic-ssh-proxy-jump: \(error)") }
        } else if let hops = fromFile?.proxyJump {
            r.proxyJump = hops
        }
        r.sshKeyPath = sshKey ?? generic.sshKey
        if r.sshKeyPath == nil, let key = fromFile?.identityFile {
            r.sshKeyPath = key
            r.identitiesOnly = fromFile?.identitiesOnly ?? false
        }
        if fromFile != nil { r.sshConfigHost = address }
        r.sshKeyPassphrase = ProcessInfo.processInfo.environment["SWOCK_SSH_KEY_PASSPHRASE"]
        r.sshPassword = try sshPassword()
        r.sudoPassword = try sudoPassword()
        try applyCommon(to: &r, enginePort: enginePort)
        return r
    }

    /// The settings every driver's create takes: host key checks, engine, certificate, labels.
    func applyCommon(to r: inout CreateRequest, enginePort: Int) throws {
        r.hostKeyPolicy = hostKeyPolicy
        r.hostKeyFingerprints = hostKeyFingerprints
        r.knownHostsFile = knownHostsFile
        r.keyType = tlsKeyType.keyType
        for e in engineEnv where !e.contains("=") || e.hasPrefix("=") {
            throw UsageError("--engine-env \"\(e)\": expected KEY=value")
        }
        r.engine = EngineSettings(
            port: enginePort, options: engineOpts, labels: engineLabels, environment: engineEnv,
            storageDriver: storageDriver, registryMirrors: registryMirrors,
            insecureRegistries: insecureRegistries, install: install == .none ? .none : .auto, installURL: installURL)
        if case .bundle(let path) = install {
            guard installURL == nil else { throw UsageError("give either --engine-install bundle:PATH or --engine-install-url, not both") }
            r.engine.installBundle = path
        }
        r.extraSANs = tlsSANs
        r.hostname = hostname
        r.labels = try Labels.parse(labels, flag: "--label")
        r.provisionScripts = try provisionScripts.map { try ProvisionScriptSource.read($0, flag: "--provision-script") }
    }
}

enum Labels {
    static func parse(_ items: [String], flag: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw UsageError("\(flag) \"\(item)\": expected key=value")
            }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }
}

/// Docker Machine's generic driver settings from the environment (`GENERIC_IP_ADDRESS`, ...); an
/// empty variable counts as unset, a port that is not a number is refused naming the variable.
struct GenericEnvironment: Equatable {
    var address: String?
    var sshUser: String?
    var sshKey: String?
    var sshPort: Int?
    var enginePort: Int?

    init(_ env: [String: String]) throws {
        func text(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        func port(_ key: String) throws -> Int? {
            guard let v = text(key) else { return nil }
            guard let n = Int(v), (1...65535).contains(n) else {
                throw UsageError("\(key)=\"\(v)\" is not a port number (1-65535); fix or unset it, or pass the flag")
            }
            return n
        }
        address = text("GENERIC_IP_ADDRESS")
        sshUser = text("GENERIC_SSH_USER")
        sshKey = text("GENERIC_SSH_KEY")
        sshPort = try port("GENERIC_SSH_PORT")
        enginePort = try port("GENERIC_ENGINE_PORT")
    }
}
