import EngineAPI
import Foundation
import SwockSupport
import Logging
import SSHKit
import SwockPKI

/// Turns a reachable Linux host into a TLS-secured Docker host, step by step. Each finished step
/// is recorded in config.json, so a create that stopped half-way is resumed by `provision`.
///
/// Pre-create checks (connect, detect-os, check-root) run before anything is written: a host we
/// cannot use leaves the store exactly as it was.
public struct Provisioner: Sendable {
    public let store: Store
    public let progress: ProvisionProgress
    public var logger: Logger
    public var connectTimeout: Duration = .seconds(10)
    public var engineWait: Duration = .seconds(90)

    public init(store: Store, progress: ProvisionProgress, logger: Logger = Logger(label: "swock.provision")) {
        self.store = store
        self.progress = progress
        self.logger = logger
    }

    // MARK: - create

    /// - Parameter keepRecordOnEarlyFailure: a host that fails the pre-create checks still gets
    ///   a (failed) record, so `provision` can finish it later. Fleet files use this: the file
    ///   declares the inventory. A single `create` leaves the store untouched instead.
    public func create(_ req: CreateRequest, keepRecordOnEarlyFailure: Bool = false) async throws -> MachineConfig {
        do {
            return try await createChecked(req)
        } catch let e as ProvisionError where keepRecordOnEarlyFailure && !e.resumable && e.step != "check flags" && req.hostKeyFingerprints.isEmpty {
            // (Expected fingerprints cannot go into a record: without them `provision` would pin
            // whatever key it meets, so such a machine gets no record; the file, run again, creates it.)
            var config = try newRecord(req)
            config.provisioning.phase = .failed
            config.provisioning.lastError = "\(e.step): \(e.reason)"
            config.provisioning.lastAttemptAt = Date()
            // The keys --ssh-known-hosts expects, so that `provision` checks them too.
            let expected = (try? expectedKnownHosts(req)).flatMap { $0 } ?? Data()
            try store.reserve(config, files: [PathText.lastComponent(config.ssh.knownHostsPath): expected])
            throw ProvisionError(machine: e.machine, step: e.step, reason: e.reason, resumable: true)
        }
    }

    private func createChecked(_ req: CreateRequest) async throws -> MachineConfig {
        try MachineName.validate(req.name)
        if store.exists(req.name) { throw StoreError.alreadyExists(req.name) }
        try validate(req)
        let log = StepLog(machine: req.name)

        // Pre-create checks, with the host key pinned into a staging file first.
        // It lives outside the store, so a refused create leaves the store exactly as it was.
        Self.sweepStagingOfGoneCreates()
        let staging = NSTemporaryDirectory() + "\(Self.stagingPrefix)\(req.name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try Store.makeDirectory(staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let stagedKnownHosts = staging + "/known_hosts"
        if let expected = try expectedKnownHosts(req) {
            try AtomicFile.write(expected, to: stagedKnownHosts, mode: 0o600)
        }
        let auth = initialAuth(req)
        let ssh: SSHSession
        do {
            ssh = try await timed(log, "connect") {
                let s = try await MachineSSH(store: store, connectTimeout: connectTimeout, logger: logger).connect(
                    SSHTarget(host: req.address, port: req.sshPort, user: req.sshUser),
                    knownHostsPath: stagedKnownHosts, policy: req.hostKeyPolicy, auth: auth, proxyJump: req.proxyJump,
                    expectedHostKeys: req.hostKeyFingerprints)
                if let pw = req.sudoPassword { s.useSudoPassword(pw) }
                return (s, "\(req.sshUser)@\(req.address):\(req.sshPort)\(Self.viaText(s)), host key \(s.hostKeyFingerprint)")
            }
        } catch {
            // The staging file is no name to show: the keys in it came from --ssh-known-hosts.
            let reason = "\(error)".replacingOccurrences(of: stagedKnownHosts, with: req.knownHostsFile.map { "--ssh-known-hosts \($0)" } ?? "known_hosts")
            throw ProvisionError(machine: req.name, step: "connect", reason: reason, resumable: false)
        }
        // Sessions are closed before we return: a disconnect still running on the session
        // thread while the process exits races libssh's own teardown.
        do {
            return try await createOnHost(req, ssh: ssh, log: log, staging: staging)
        } catch {
            await ssh.close()
            throw error
        }
    }

    private func createOnHost(_ req: CreateRequest, ssh: SSHSession, log: StepLog, staging: String) async throws -> MachineConfig {
        let probe = try await detectOS(log, ssh, resumable: false)
        try await checkRoot(log, ssh, resumable: false)
        try refuseShellUnsafeOptions(req.name, req.engine, initSystem: InitSystem(probed: probe.initSystem), probe: probe,
                                     step: "detect-os", resumable: false)
        if req.engine.install == .none && probe.dockerdPath == nil {
            throw ProvisionError(machine: req.name, step: "detect-os", reason: "dockerd is not installed and --engine-install is none; install Docker Engine on the host first or use --engine-install auto", resumable: false)
        }
        // A host the engine cannot be installed on (a bundle that does not fit, no known package
        // manager) is refused here, before anything is written.
        if probe.dockerdPath == nil {
            _ = try await planInstall(req.name, probe, req.engine, resumable: false)
        }

        // The host is usable: claim the name and write the record.
        var config = try newRecord(req)
        config.host = facts(probe)
        config.engine.dockerdPath = probe.dockerdPath
        config.provisioning.stepsDone = log.records
        config.provisioning.lastAttemptAt = Date()
        // The record comes with the files it names (the pinned host key, the sudo password), so
        // it never refers to a file that is not there, whenever this process is killed.
        var files = [PathText.lastComponent(config.ssh.knownHostsPath): FileManager.default.contents(atPath: staging + "/known_hosts") ?? Data()]
        if let pw = req.sudoPassword { files[PathText.lastComponent(Store.sudoPasswordPath(config.name))] = Data(pw.utf8) }
        try store.reserve(config, files: files)
        let done = try await runSteps(log, config: config, ssh: ssh, probe: probe, password: req.sshPassword, requestedHostname: req.hostname)
        await ssh.close()
        return done
    }

    static let stagingPrefix = "swock-create-"

    /// A create killed before it claimed its name leaves its staging directory (the pinned host
    /// key, no secret) in the temporary folder: the next create takes those whose process is gone.
    static func sweepStagingOfGoneCreates(minimumAge: TimeInterval = 5) {
        let tmp = NSTemporaryDirectory()
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: tmp)) ?? [] where entry.hasPrefix(stagingPrefix) {
            // swock-create-NAME-PID-RANDOM (NAME may hold dashes)
            let parts = entry.split(separator: "-")
            guard parts.count >= 5, UInt32(parts[parts.count - 1]) != nil, let pid = pid_t(parts[parts.count - 2]),
                  Leftover.processIsGone(pid) else { continue }
            var st = stat()
            guard lstat(tmp + entry, &st) == 0, Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec) >= minimumAge else { continue }
            try? fm.removeItem(atPath: tmp + entry)
        }
    }

    /// " via user@bastion:22 (SHA256:...), ..." for a session through jump hosts.
    static func viaText(_ s: SSHSession) -> String {
        let hops = s.jumpHostFingerprints
        return hops.isEmpty ? "" : " via " + hops.map { "\($0.hop) (\($0.fingerprint))" }.joined(separator: ", ")
    }

    private func newRecord(_ req: CreateRequest) throws -> MachineConfig {
        let authMode: SSHSettings.AuthMode = req.sshKeyPath != nil ? .key : (req.sshPassword != nil ? .generatedKey : .agentOrDefaultKeys)
        var ssh = SSHSettings(user: req.sshUser, port: req.sshPort, authMode: authMode,
                              keyPath: req.sshKeyPath.map { ($0 as NSString).expandingTildeInPath },
                              knownHostsPath: Store.knownHostsPath(req.name))
        var engine = req.engine
        if !req.proxyJump.isEmpty {
            ssh.proxyJump = req.proxyJump
            engine.forwardPort = try EngineTunnel.freeLocalPort()
        }
        return MachineConfig(name: req.name, address: req.address, ssh: ssh, engine: engine,
                             tls: TLSSettings(keyType: req.keyType.rawValue, extraSANs: req.extraSANs), labels: req.labels)
    }

    // MARK: - provision (resume / re-run)

    public func provision(_ name: String, password: String? = nil, hostname: String? = nil) async throws -> MachineConfig {
        do {
            return try await reprovision(name, password: password, hostname: hostname)
        } catch var e as ProvisionError {
            e.operation = "provision"
            throw e
        }
    }

    private func reprovision(_ name: String, password: String?, hostname: String?) async throws -> MachineConfig {
        let log = StepLog(machine: name)
        var config = try store.load(name)
        config = try store.update(name) { $0.provisioning.lastAttemptAt = Date(); $0.provisioning.phase = .creating }
        let ssh: SSHSession
        do {
            ssh = try await timed(log, "connect") {
                let s = try await MachineSSH(store: store, connectTimeout: connectTimeout, logger: logger).connect(config)
                return (s, "\(config.ssh.user)@\(config.address):\(config.ssh.port)\(Self.viaText(s)), host key \(s.hostKeyFingerprint)")
            }
        } catch {
            try? recordFailure(name, step: "connect", error)
            throw ProvisionError(machine: name, step: "connect", reason: "\(error)", resumable: true)
        }
        do {
            let probe: HostProbe
            do {
                probe = try await detectOS(log, ssh, resumable: true)
                try await checkRoot(log, ssh, resumable: true)
            } catch {
                try? recordFailure(name, step: (error as? ProvisionError)?.step ?? "detect-os", error)
                throw error
            }
            config = try store.update(name) { $0.host = facts(probe) }
            let done = try await runSteps(log, config: config, ssh: ssh, probe: probe, password: password, requestedHostname: hostname)
            await ssh.close()
            return done
        } catch {
            await ssh.close()
            throw error
        }
    }

    // MARK: - Steps after the record exists

    private func runSteps(_ log: StepLog, config start: MachineConfig, ssh: SSHSession, probe initialProbe: HostProbe,
                          password: String?, requestedHostname: String?) async throws -> MachineConfig {
        let name = start.name
        var config = start
        var probe = initialProbe
        var step = ""
        do {
            if config.ssh.authMode == .generatedKey, !(config.provisioning.isDone("install-ssh-key")) || config.ssh.keyPath == nil {
                step = "install-ssh-key"
                try await timed(log, step) { (try await installGeneratedKey(config: &config, ssh: ssh), "") }
                try record(log, step) { $0.ssh = config.ssh }
            }
            if let hn = requestedHostname {
                step = "set-hostname"
                try await timed(log, step) {
                    try await setHostname(hn, ssh: ssh)
                    return ((), hn)
                }
                probe.hostname = hn
                try record(log, step) { $0.host?.hostname = hn }
            }
            step = "install-engine"
            let installDetail = try await timed(log, step) { () -> (HostProbe, String) in
                let plan = try await planInstall(name, probe, config.engine, resumable: true)
                let command: String, how: String
                switch plan {
                case .alreadyInstalled:
                    // A package install that was cut off (a killed create) leaves dockerd on disk
                    // but its packages unconfigured: finish that first.
                    var repaired = ""
                    if probe.release.flatMap(OSFamily.detect) == .debian {
                        let r = try await ssh.execAsRoot(EngineInstallPlan.debianRepair, timeout: .seconds(1800))
                        if r.stdoutText.contains("repaired") { repaired = " (finished an interrupted package install)" }
                    }
                    return (probe, "dockerd already present at \(probe.dockerdPath ?? "?")\(repaired)")
                case .packageManager(let family, let cmd):
                    (command, how) = (cmd, "with the \(family.rawValue) family's package manager")
                case .script(let url, let cmd):
                    (command, how) = (cmd, "with the install script \(url)")
                case .bundle(let bundle):
                    let debugLog = logger
                    do {
                        try await bundle.install(ssh: ssh, initSystem: InitSystem(probed: probe.initSystem)) { debugLog.debug("install: \($0)") }
                    } catch let e as EngineBundle.Unusable {
                        throw ProvisionError(machine: name, step: "install-engine", reason: e.description, resumable: true)
                    }
                    (command, how) = ("", "from \(bundle.summary)")
                }
                if !command.isEmpty { try await runInstall(command, ssh: ssh) }
                let again = HostProbe.parse(try await ssh.exec(HostProbe.script, timeout: .seconds(60)).stdoutText)
                guard let path = again.dockerdPath else {
                    throw ProvisionError(machine: name, step: "install-engine", reason: "the install finished but dockerd is not on the host", resumable: true)
                }
                return (again, "installed \(how), dockerd at \(path)")
            }
            probe = installDetail
            config.engine.dockerdPath = probe.dockerdPath
            try record(log, step) { $0.engine.dockerdPath = probe.dockerdPath; $0.host = facts(probe) }

            step = "install-certs"
            let tls = try await timed(log, step) { () -> (TLSSettings, String) in
                let t = try await installCertificates(config: config, probe: probe, ssh: ssh)
                return (t, "server certificate for \(t.serverSANs.joined(separator: ", "))")
            }
            config.tls = tls
            try record(log, step) { $0.tls = tls }

            step = "configure-engine"
            try await timed(log, step) { ((), try await configureEngine(config: config, probe: probe, ssh: ssh)) }
            try record(log, step) { _ in }

            step = "wait-engine"
            let version = try await timed(log, step) { () -> (EngineVersion, String) in
                let v = try await waitForEngine(config: config, probe: probe, ssh: ssh)
                return (v, "Docker \(v.version) (API \(v.apiVersion)) answers at \(config.engineURL) over mutual TLS")
            }
            return try store.update(name) {
                $0.engine.version = version.version
                $0.provisioning.stepsDone.append(StepRecord(step: "wait-engine", seconds: log.seconds(of: "wait-engine"), finishedAt: Date()))
                $0.provisioning.phase = .ready
                $0.provisioning.lastError = nil
            }
        } catch {
            try? recordFailure(name, step: step, error)
            if var p = error as? ProvisionError {
                if p.machine.isEmpty { p.machine = name }
                throw p
            }
            throw ProvisionError(machine: name, step: step, reason: "\(error)", resumable: true)
        }
    }

    // MARK: - Individual steps

    private func detectOS(_ log: StepLog, _ ssh: SSHSession, resumable: Bool) async throws -> HostProbe {
        let name = log.machine
        do {
            return try await timed(log, "detect-os") {
                let r = try await ssh.exec(HostProbe.script, timeout: .seconds(60))
                let p = HostProbe.parse(r.stdoutText)
                let os = p.release.map { $0.prettyName ?? $0.id } ?? "unknown OS"
                return (p, "\(os), \(p.architecture ?? "?"), init \(p.initSystem), \(p.dockerdPath.map { "dockerd at \($0)" } ?? "no dockerd")")
            }
        } catch let e as ProvisionError {
            throw e
        } catch {
            throw ProvisionError(machine: name, step: "detect-os", reason: "\(error)", resumable: resumable)
        }
    }

    private func checkRoot(_ log: StepLog, _ ssh: SSHSession, resumable: Bool) async throws {
        let name = log.machine
        do {
            try await timed(log, "check-root") {
                let access = try await ssh.rootAccess()
                switch access {
                case .loggedInAsRoot: return ((), "logged in as root")
                case .sudo: return ((), "passwordless sudo works for \(ssh.target.user)")
                case .sudoWithPassword: return ((), "sudo with the given password works for \(ssh.target.user)")
                }
            }
        } catch {
            throw ProvisionError(machine: name, step: "check-root", reason: "\(error)", resumable: resumable)
        }
    }

    private func planInstall(_ name: String, _ probe: HostProbe, _ engine: EngineSettings, resumable: Bool) async throws -> EngineInstallPlan {
        let family = probe.release.flatMap(OSFamily.detect)
        var bundle: EngineBundle?
        if let path = engine.installBundle, probe.dockerdPath == nil {
            do {
                let b = try await EngineBundle.inspect(path)
                try b.check(family: family, machine: probe.architecture, initSystem: InitSystem(probed: probe.initSystem))
                bundle = b
            } catch let e as EngineBundle.Unusable {
                throw ProvisionError(machine: name, step: resumable ? "install-engine" : "check-bundle", reason: e.description, resumable: resumable)
            }
        }
        do {
            return try EngineInstallPlan.plan(release: probe.release, family: family,
                                              dockerdPresent: probe.dockerdPath != nil, method: engine.install,
                                              installURL: engine.installURL, hasDnf: probe.hasDnf, bundle: bundle)
        } catch let e as EngineInstallPlan.NotInstallable {
            throw ProvisionError(machine: name, step: resumable ? "install-engine" : "detect-os", reason: e.description, resumable: resumable)
        }
    }

    private func runInstall(_ command: String, ssh: SSHSession) async throws {
        let tail = OutputTail()
        let log = logger
        let r = try await ssh.execAsRoot(command, timeout: .seconds(1800), collect: false,
                                         onStdout: { d in tail.append(d); log.debug("install: \(String(decoding: d, as: UTF8.self))") },
                                         onStderr: { d in tail.append(d); log.debug("install: \(String(decoding: d, as: UTF8.self))") })
        guard r.succeeded else {
            let how = r.signal.map { "was killed by SIG\($0)" } ?? "exited with status \(r.exitStatus ?? -1)"
            throw ProvisionError(machine: "", step: "install-engine", reason: "the engine install \(how): \(tail.lastLines(4))", resumable: true)
        }
    }

    private func setHostname(_ hostname: String, ssh: SSHSession) async throws {
        guard hostname.range(of: "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", options: .regularExpression) != nil else {
            throw ProvisionError(machine: "", step: "set-hostname", reason: "\"\(hostname)\" is not a valid host name", resumable: true)
        }
        let q = ShellQuote.quote(hostname)
        try await ssh.runAsRoot("""
            (hostnamectl set-hostname \(q) 2>/dev/null || hostname \(q)) && echo \(q) > /etc/hostname && \
            (grep -q "127.0.1.1" /etc/hosts && sed -i "s/^127.0.1.1.*/127.0.1.1 \(hostname)/" /etc/hosts || echo "127.0.1.1 \(hostname)" >> /etc/hosts)
            """)
    }

    private func installGeneratedKey(config: inout MachineConfig, ssh: SSHSession) async throws {
        let keyRel = Store.generatedKeyPath(config.name)
        let keyAbs = store.resolve(keyRel)
        let comment = "swock-machine \(config.name)"
        let publicLine: String
        if FileManager.default.fileExists(atPath: keyAbs) {
            publicLine = try SSHKeyGenerator.publicKeyLine(privateKeyPath: keyAbs, comment: comment)
        } else {
            let key = try SSHKeyGenerator.generateEd25519(comment: comment)
            try AtomicFile.write(key.privateKey, to: keyAbs, mode: 0o600)
            publicLine = key.publicLine
        }
        // The public key goes over stdin; append only when it is not there yet.
        try await ssh.run("""
            umask 077; mkdir -p ~/.ssh && k="$(cat)" && touch ~/.ssh/authorized_keys && \
            (grep -qxF "$k" ~/.ssh/authorized_keys || printf '%s\\n' "$k" >> ~/.ssh/authorized_keys)
            """, stdin: .data(Data(publicLine.utf8)), timeout: .seconds(30))
        config.ssh.keyPath = keyRel
        config.ssh.authMode = .generatedKey
    }

    private func installCertificates(config: MachineConfig, probe: HostProbe, ssh: SSHSession) async throws -> TLSSettings {
        try await ServerCertificates(store: store).install(
            for: config, hostname: probe.hostname, material: try store.clientMaterial(for: config), ssh: ssh, reuse: true)
    }

    private func configureEngine(config: MachineConfig, probe: HostProbe, ssh: SSHSession) async throws -> String {
        guard let dockerd = probe.dockerdPath else {
            throw ProvisionError(machine: config.name, step: "configure-engine", reason: "dockerd is not on the host", resumable: true)
        }
        let initSystem = InitSystem(probed: probe.initSystem)
        try refuseShellUnsafeOptions(config.name, config.engine, initSystem: initSystem, probe: probe, step: "configure-engine", resumable: true)
        // live-restore goes into daemon.json (DaemonJSON), so the running daemon has it too; so
        // do the labels, registries and storage driver where the init script has a shell pass
        // dockerd's flags (a shell would split or run them).
        let settings = initSystem.passesOptionsThroughShell
            ? EngineConfigRenderer.daemonJSONSettings(engine: config.engine, machineLabels: config.labels) : [:]
        let daemonJSON = try await DaemonJSON.adoption(ssh: ssh, settings: settings)
        let launch = DaemonLaunch(config, dockerdPath: dockerd,
                                  containerdSocket: probe.stockContainerdFlag.map { String($0.dropFirst("--containerd=".count)) })
        let script = InitSystem.ServiceScript(probed: probe.dockerServiceScript)
        // One round trip: the originals kept, daemon.json and our init file in place, the running
        // daemon told about live-restore when it has containers, then one restart.
        var files: [RootFile] = [], keep: [String] = []
        if let f = daemonJSON.file { files.append(f) }
        if let k = daemonJSON.keepCommand { keep.append(k) }
        if let path = initSystem.configPath(serviceScript: script), let file = initSystem.configFile(launch) {
            if let k = initSystem.keepOriginalCommand(at: path) { keep.append(k) }
            files.append(RootFile(path, Data(file.utf8), mode: 0o644))
        }
        var apply = initSystem.applyConfiguration(launch)
        if daemonJSON.switchesOnLiveRestore { apply = DaemonJSON.reloadIfContainersRun + "; " + apply }
        let applied: ExecResult
        if files.isEmpty {
            applied = try await ssh.execAsRoot(apply, timeout: .seconds(180))
        } else {
            applied = try await ssh.installAsRoot(files, before: keep.isEmpty ? nil : keep.joined(separator: "\n"), then: apply,
                                                  timeout: .seconds(180))!
        }
        guard applied.succeeded else {
            throw ProvisionError(machine: config.name, step: "configure-engine",
                                 reason: "dockerd did not start with the new configuration; daemon log: \(await EngineReadiness.daemonLog(ssh: ssh, initSystem: initSystem))",
                                 resumable: true)
        }
        return initSystem.configDescription(serviceScript: script) + daemonJSON.note
    }

    /// On hosts whose init script passes dockerd's flags through a shell, an `--engine-opt` that
    /// the shell would not pass on as one word is refused, naming it (before anything is written
    /// at create).
    private func refuseShellUnsafeOptions(_ name: String, _ engine: EngineSettings, initSystem: InitSystem, probe: HostProbe,
                                          step: String, resumable: Bool) throws {
        guard initSystem.passesOptionsThroughShell,
              let bad = EngineConfigRenderer.firstShellUnsafeArgument(engine.options.map(EngineConfigRenderer.engineOptFlag)) else { return }
        let file = initSystem.configPath(serviceScript: InitSystem.ServiceScript(probed: probe.dockerServiceScript)) ?? "its configuration"
        throw ProvisionError(machine: name, step: step,
                             reason: "--engine-opt \"\(bad)\": on this \(initSystem.rawValue) host dockerd's options pass through a shell (DOCKER_OPTS, read by \(file)), which would split or run it; use only letters, digits and . _ - / : = , @ + % in --engine-opt there (labels, registries and the storage driver go to daemon.json and may hold anything)",
                             resumable: resumable)
    }

    private func waitForEngine(config: MachineConfig, probe: HostProbe, ssh: SSHSession) async throws -> EngineVersion {
        var config = config
        config.host?.initSystem = probe.initSystem
        return try await EngineReadiness(store: store, within: engineWait).waitForTLS(config, ssh: ssh)
    }

    // MARK: - Bookkeeping

    private func validate(_ req: CreateRequest) throws {
        func bad(_ why: String) -> ProvisionError { ProvisionError(machine: req.name, step: "check flags", reason: why, resumable: false) }
        guard !req.address.isEmpty else { throw bad("--generic-ip-address is required") }
        guard req.address.range(of: "^[A-Za-z0-9.:_-]+$", options: .regularExpression) != nil else {
            throw bad("--generic-ip-address \"\(req.address)\" is not an IP address or host name")
        }
        guard (1...65535).contains(req.sshPort) else { throw bad("--generic-ssh-port \(req.sshPort) is out of range 1-65535") }
        guard (1...65535).contains(req.engine.port) else { throw bad("--generic-engine-port \(req.engine.port) is out of range 1-65535") }
        if let k = req.sshKeyPath {
            let path = (k as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw bad("--generic-ssh-key \(k): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
            }
        }
        for san in req.extraSANs {
            do { _ = try SubjectAltName.classify(san) } catch { throw bad("--tls-san \"\(san)\": \(error)") }
        }
        for (k, _) in req.labels where k.isEmpty || k.contains("=") {
            throw bad("--label \"\(k)\": expected key=value")
        }
        for fp in req.hostKeyFingerprints where HostKeyFingerprint.normalized(fp) == nil {
            throw bad("--ssh-host-key-fingerprint \"\(fp)\": expected SHA256: and 43 base64 characters, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the host")
        }
        if req.hostKeyPolicy == .strict && req.hostKeyFingerprints.isEmpty && req.knownHostsFile == nil {
            throw bad("--ssh-host-key strict needs the expected host key: give --ssh-host-key-fingerprint SHA256:... or --ssh-known-hosts FILE (or use accept-new)")
        }
        if req.hostKeyPolicy == .strict && !req.proxyJump.isEmpty && req.knownHostsFile == nil {
            throw bad("--ssh-host-key strict with --generic-ssh-proxy-jump needs the jump hosts' keys too: give them in --ssh-known-hosts FILE")
        }
    }

    /// The keys `--ssh-known-hosts` gives for the host and its jump hosts, as the create's first
    /// known_hosts (nil without the flag). Refused when the file has no key for the host, or,
    /// with strict checking, for a jump host.
    private func expectedKnownHosts(_ req: CreateRequest) throws -> Data? {
        func bad(_ why: String) -> ProvisionError { ProvisionError(machine: req.name, step: "check flags", reason: why, resumable: false) }
        guard let file = req.knownHostsFile else { return nil }
        let path = (file as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw bad("--ssh-known-hosts \(file): \(FileManager.default.fileExists(atPath: path) ? "cannot read it" : "no such file")")
        }
        let target = KnownHostsFile.label(host: req.address, port: req.sshPort)
        let hops = req.proxyJump.map { KnownHostsFile.label(host: $0.host, port: $0.port) }
        let found = KnownHostsFile.entries(in: String(decoding: data, as: UTF8.self), for: [target] + hops)
        guard found[target] != nil else {
            throw bad("--ssh-known-hosts \(file) has no key for \(target) (plain or hashed); add the host's key (e.g. from its /etc/ssh/ssh_host_*_key.pub, checked out of band) under that name")
        }
        if req.hostKeyPolicy == .strict, let missing = hops.first(where: { found[$0] == nil }) {
            throw bad("--ssh-known-hosts \(file) has no key for the jump host \(missing), and --ssh-host-key is strict; add its key under that name")
        }
        return Data((([target] + hops).flatMap { found[$0] ?? [] }.joined(separator: "\n") + "\n").utf8)
    }

    private func initialAuth(_ req: CreateRequest) -> [SSHAuthMethod] {
        MachineSSH.authMethods(keyPath: req.sshKeyPath.map { ($0 as NSString).expandingTildeInPath },
                               passphrase: req.sshKeyPassphrase, password: req.sshPassword)
    }

    private func facts(_ p: HostProbe) -> HostFacts {
        HostFacts(osID: p.release?.id ?? "unknown", osVersion: p.release?.versionID, idLike: p.release?.idLike ?? [],
                  prettyName: p.release?.prettyName, family: p.release.flatMap(OSFamily.detect)?.rawValue ?? "unknown",
                  hostname: p.hostname, initSystem: p.initSystem, architecture: p.architecture)
    }

    private func record(_ log: StepLog, _ step: String, _ change: (inout MachineConfig) -> Void) throws {
        let seconds = log.seconds(of: step)
        try store.update(log.machine) {
            change(&$0)
            $0.provisioning.stepsDone.removeAll { $0.step == step }
            $0.provisioning.stepsDone.append(StepRecord(step: step, seconds: seconds, finishedAt: Date()))
        }
    }

    private func recordFailure(_ name: String, step: String, _ error: Error) throws {
        try store.update(name) {
            $0.provisioning.phase = .failed
            $0.provisioning.lastError = "\(step): \((error as? ProvisionError)?.reason ?? "\(error)")"
        }
    }

    /// Runs one step: reports start and end with its duration.
    @discardableResult
    private func timed<T>(_ log: StepLog, _ step: String, _ body: () async throws -> (T, String)) async throws -> T {
        let machine = log.machine
        progress.stepStarted(machine: machine, step: step)
        let clock = ContinuousClock()
        let start = clock.now
        let (value, detail) = try await body()
        let seconds = (clock.now - start).timeInterval
        log.finished(step, seconds: seconds)
        progress.stepFinished(machine: machine, step: step, detail: detail, seconds: seconds)
        return value
    }
}

/// The steps one create/provision run has finished, with their durations.
final class StepLog: @unchecked Sendable {
    let machine: String
    private let lock = NSLock()
    private var done: [StepRecord] = []

    init(machine: String) { self.machine = machine }

    func finished(_ step: String, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        done.removeAll { $0.step == step }
        done.append(StepRecord(step: step, seconds: seconds, finishedAt: Date()))
    }

    func seconds(of step: String) -> Double {
        lock.lock(); defer { lock.unlock() }
        return done.last { $0.step == step }?.seconds ?? 0
    }

    var records: [StepRecord] { lock.lock(); defer { lock.unlock() }; return done }
}

/// The last lines of a stream of output (for error messages), bounded in size.
final class OutputTail: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()

    func append(_ d: Data) {
        lock.lock(); defer { lock.unlock() }
        buffer.append(d)
        if buffer.count > 16384 { buffer = buffer.suffix(8192) }
    }

    /// The last `n` lines, led by the first line that names a cause (disk full, permission,
    /// network) when that one scrolled away: "E: Unmet dependencies" is rarely the reason.
    func lastLines(_ n: Int) -> String {
        lock.lock(); defer { lock.unlock() }
        let lines = String(decoding: buffer, as: UTF8.self).textLines()
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var out = Array(lines.suffix(n))
        let causes = ["No space left on device", "Read-only file system", "Permission denied", "Could not resolve", "Temporary failure"]
        if let cause = lines.first(where: { l in causes.contains { l.contains($0) } }), !out.contains(cause) {
            out.insert(cause, at: 0)
        }
        return out.joined(separator: " | ")
    }
}
