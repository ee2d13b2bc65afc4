import EngineAPI
import Foundation
import Logging
import SSHKit
import SwockDrivers
import SwockEngine
import SwockPKI
import SwockRemote
import SwockStore
import SwockSupport

/// Turns a reachable Linux host into a TLS-secured Docker host, step by step. Each finished step
/// is recorded in config.json, so a create that stopped half-way is resumed by `provision`.
///
/// Pre-create checks (connect, detect-os, check-root) run before anything is written: a host we
/// cannot use leaves the store exactly as it was.
///
/// The steps themselves are in Steps/ (one file each), run in order by `runSteps`; their
/// deadlines are `ProvisionTimeouts`.
public struct Provisioner: Sendable {
    public let store: Store
    public let progress: ProvisionProgress
    public var logger: Logger
    public var connectTimeout: Duration = ProvisionTimeouts.connect
    public var engineWait: Duration = ProvisionTimeouts.engineAnswers
    /// Every deadline at the host's pace (`connectTimeout` and `engineWait` too): `paced(_:)`.
    public var limits = ProvisionLimits()
    /// How `provision` reaches a machine's host; nil: `MachineSSH` (tests give scripted hosts).
    package var connectRecord: (@Sendable (MachineConfig) async throws -> any RemoteHost)?
    /// How `create` reaches a new host, pinning its key in the file given; nil: `MachineSSH`.
    package var connectNew: (@Sendable (CreateRequest, _ knownHostsPath: String) async throws -> any RemoteHost)?
    /// Where `provision` finds the driver of a record whose host was never reported (create-host).
    public var drivers: DriverRegistry = .standard
    /// The connection keeper `provision` goes through when it serves (nil: connect directly).
    public var keeper: KeeperClient?

    public init(store: Store, progress: ProvisionProgress, logger: Logger = Logger(label: "swock.provision")) {
        self.store = store
        self.progress = progress
        self.logger = logger
    }

    /// This provisioner with its deadlines at `pace` (a driver's `MachineDriver.pace`).
    public func paced(_ pace: Double) -> Provisioner {
        var p = self
        p.limits = ProvisionLimits(pace: pace)
        return p
    }

    // MARK: - create

    /// - Parameter keepRecordOnEarlyFailure: a host that fails the pre-create checks still gets
    ///   a (failed) record, so `provision` can finish it later. Fleet files use this: the file
    ///   declares the inventory. A single `create` leaves the store untouched instead.
    public func create(_ req: CreateRequest, keepRecordOnEarlyFailure: Bool = false) async throws -> MachineConfig {
        do {
            return try await createChecked(req)
        } catch let e as ProvisionError
            where keepRecordOnEarlyFailure && !e.resumable && e.step != .checkFlags
        {
            // Expected fingerprints go into the record (`SSHSettings.expectedHostKeys`): its
            // first contact, by `provision` or any command, must present one of them.
            var config = try newRecord(req)
            config.provisioning.phase = .failed
            config.provisioning.lastError = "\(e.step.rawValue): \(e.reason)"
            config.provisioning.failedStep = e.step
            config.provisioning.lastAttemptAt = Date()
            // The keys --ssh-known-hosts expects, so that `provision` checks them too.
            let expected = (try? req.expectedKnownHosts()).flatMap { $0 } ?? Data()
            try store.reserve(config, files: scriptFiles(req).merging([PathText.lastComponent(config.ssh.knownHostsPath): expected]) { $1 })
            throw ProvisionError(machine: e.machine, step: e.step, reason: e.reason, resumable: true, cause: e.cause)
        }
    }

    private func createChecked(_ req: CreateRequest) async throws -> MachineConfig {
        try MachineName.validate(req.name)
        if store.exists(req.name) { throw StoreError.alreadyExists(req.name) }
        try req.validate()
        let run = StepRunner(store: store, progress: progress, machine: req.name)

        // Pre-create checks, with the host key pinned into a staging file first.
        // It lives outside the store, so a refused create leaves the store exactly as it was.
        CreateStaging.sweepGoneCreates()
        let staging = CreateStaging.path(for: req.name)
        try Store.makeDirectory(staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let stagedKnownHosts = staging + "/known_hosts"
        if let expected = try req.expectedKnownHosts() {
            try AtomicFile.write(expected, to: stagedKnownHosts, mode: 0o600)
        }
        let auth = initialAuth(req)
        let ssh: any RemoteHost
        do {
            ssh = try await run.timed(.connect) {
                let s: any RemoteHost
                if let connectNew {
                    s = try await connectNew(req, stagedKnownHosts)
                } else {
                    let session = try await MachineSSH(store: store, connectTimeout: limits.scaled(connectTimeout), logger: logger).connect(
                        SSHTarget(host: req.address, port: req.sshPort, user: req.sshUser),
                        knownHostsPath: stagedKnownHosts, policy: req.hostKeyPolicy, auth: auth, proxyJump: req.proxyJump,
                        expectedHostKeys: req.hostKeyFingerprints)
                    if let pw = req.sudoPassword { session.useSudoPassword(pw) }
                    s = session
                }
                return (s, "\(req.sshUser)@\(req.address):\(req.sshPort)\(s.viaText), host key \(s.hostKeyFingerprint)")
            }
        } catch {
            // The staging file is no name to show: the keys in it came from the known_hosts file
            // the request gave (shown by its path), else none was given.
            let shown: any Error =
                (error as? SSHError)?.knownHosts(stagedKnownHosts, shownAs: req.knownHostsFile ?? "known_hosts") ?? error
            throw ProvisionError(machine: req.name, step: .connect, reason: "\(shown)", resumable: false, cause: shown)
        }
        // Sessions are closed before we return: a disconnect still running on the session
        // thread while the process exits races libssh's own teardown.
        do {
            return try await createOnHost(req, ssh: ssh, run: run, staging: staging)
        } catch {
            await ssh.close()
            throw error
        }
    }

    private func createOnHost(_ req: CreateRequest, ssh: any RemoteHost, run: StepRunner, staging: String) async throws -> MachineConfig {
        let probe = try await detectOS(run, ssh, resumable: false)
        try await checkRoot(run, ssh, resumable: false)
        try refuseShellUnsafeOptions(
            req.name, req.engine, initSystem: InitSystem(probed: probe.initSystem), probe: probe,
            step: .detectOS, resumable: false)
        if req.engine.install == .none && probe.dockerdPath == nil {
            let e = EngineInstallPlan.NotInstallable.installDisabled
            throw ProvisionError(machine: req.name, step: .detectOS, reason: e.description, resumable: false, cause: e)
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
        config.provisioning.stepsDone = run.log.records
        config.provisioning.lastAttemptAt = Date()
        // The record comes with the files it names (the pinned host key, the sudo password), so
        // it never refers to a file that is not there, whenever this process is killed.
        var files = [
            PathText.lastComponent(config.ssh.knownHostsPath): FileManager.default.contents(atPath: staging + "/known_hosts") ?? Data()
        ]
        if let pw = req.sudoPassword { files[PathText.lastComponent(Store.sudoPasswordPath(config.name))] = Data(pw.utf8) }
        files.merge(scriptFiles(req)) { old, _ in old }
        try store.reserve(config, files: files)
        let ready = try await runSteps(
            run, config: config, ssh: ssh, probe: probe, password: req.sshPassword, requestedHostname: req.hostname)
        let done = try await runScripts(run, config: ready, ssh: ssh, all: true)
        await ssh.close()
        return done
    }

    private func newRecord(_ req: CreateRequest) throws -> MachineConfig {
        let authMode: SSHSettings.AuthMode = req.sshKeyPath != nil ? .key : (req.sshPassword != nil ? .generatedKey : .agentOrDefaultKeys)
        var ssh = SSHSettings(
            user: req.sshUser, port: req.sshPort, authMode: authMode,
            keyPath: req.sshKeyPath.map { ($0 as NSString).expandingTildeInPath },
            knownHostsPath: Store.knownHostsPath(req.name))
        if req.sshKeyPath != nil { ssh.identitiesOnly = req.identitiesOnly }
        ssh.sshConfigHost = req.sshConfigHost
        if !req.hostKeyFingerprints.isEmpty {
            ssh.expectedHostKeys = req.hostKeyFingerprints.map { HostKeyFingerprint.normalized($0) ?? $0 }
        }
        var engine = req.engine
        if !req.proxyJump.isEmpty {
            ssh.proxyJump = req.proxyJump
            engine.forwardPort = try EngineTunnel.freeLocalPort()
        }
        var config = MachineConfig(
            name: req.name, driver: req.driver, address: req.address, ssh: ssh, engine: engine,
            tls: TLSSettings(keyType: req.keyType.rawValue, extraSANs: req.extraSANs), labels: req.labels)
        config.driverOptions = req.driverOptions
        config.peerAddress = req.peerAddress
        if !req.provisionScripts.isEmpty {
            config.provisionScripts = req.provisionScripts.enumerated().map {
                ProvisionScript(source: $1.source, file: ProvisionScript.storePath(machine: req.name, index: $0 + 1))
            }
        }
        return config
    }

    /// The record of a driver's create that did not finish (`DriverCreation`): failed at
    /// create-host, with the driver's settings as far as known and no host reported yet.
    func keepUnfinishedHost(_ req: CreateRequest, error: any Error) throws {
        var r = req
        r.address = ""
        r.sshKeyPath = nil
        r.proxyJump = []
        var config = try newRecord(r)
        config.provisioning.phase = .failed
        config.provisioning.failedStep = .createHost
        config.provisioning.lastError = "\(ProvisionStep.createHost.rawValue): \(error)"
        config.provisioning.lastAttemptAt = Date()
        try store.reserve(
            config, files: scriptFiles(req).merging([PathText.lastComponent(config.ssh.knownHostsPath): Data()]) { $1 })
    }

    /// The store's copies of the request's provision scripts (0600 in the machine's folder),
    /// written with the record.
    private func scriptFiles(_ req: CreateRequest) -> [String: Data] {
        var files: [String: Data] = [:]
        for (i, s) in req.provisionScripts.enumerated() {
            files[PathText.lastComponent(ProvisionScript.storePath(machine: req.name, index: i + 1))] = s.contents
        }
        return files
    }

    // MARK: - provision (resume / re-run)

    /// - Parameter rerunScripts: run the provision scripts again (`--rerun-scripts`); without it
    ///   they run only if they never have (a create that stopped before them).
    public func provision(_ name: String, password: String? = nil, hostname: String? = nil, rerunScripts: Bool = false) async throws
        -> MachineConfig
    {
        do {
            // At the pace of the machine's driver when it is built in (a plugin is not started for it).
            var p = self
            if p.limits.pace == 1, let c = try? store.load(name),
                let kind = DriverRegistry.standard.kinds.first(where: { $0.name == c.driver }),
                let driver = try? kind.driver(for: c, store: store)
            {
                p = p.paced(driver.pace)
            }
            return try await p.reprovision(name, password: password, hostname: hostname, rerunScripts: rerunScripts)
        } catch var e as ProvisionError {
            e.operation = "provision"
            throw e
        }
    }

    private func reprovision(_ name: String, password: String?, hostname: String?, rerunScripts: Bool) async throws -> MachineConfig {
        let run = StepRunner(store: store, progress: progress, machine: name)
        var config = try store.load(name)
        guard config.hasSSH else { throw NoSSH(machine: name, driver: config.driver) }
        let hostNeverReported = config.provisioning.failedStep == .createHost
        config = try store.update(name) {
            $0.provisioning.lastAttemptAt = Date(); $0.provisioning.phase = .creating
        }
        if hostNeverReported { config = try await createHostAgain(config, run: run) }
        let ssh: any RemoteHost
        do {
            ssh = try await run.timed(.connect) {
                let s: any RemoteHost
                if let connectRecord {
                    s = try await connectRecord(config)
                } else {
                    s = try await MachineSSH(store: store, connectTimeout: limits.scaled(connectTimeout), logger: logger).commandHost(
                        config, keeper: keeper)
                }
                return (s, "\(config.ssh.user)@\(config.address):\(config.ssh.port)\(s.viaText), host key \(s.hostKeyFingerprint)")
            }
        } catch {
            try? run.recordFailure(.connect, error)
            throw ProvisionError(machine: name, step: .connect, reason: "\(error)", resumable: true, cause: error)
        }
        do {
            let probe: HostProbe
            do {
                probe = try await detectOS(run, ssh, resumable: true)
                try await checkRoot(run, ssh, resumable: true)
            } catch {
                try? run.recordFailure((error as? ProvisionError)?.step ?? .detectOS, error)
                throw error
            }
            config = try store.update(name) { $0.host = facts(probe) }
            let ready = try await runSteps(run, config: config, ssh: ssh, probe: probe, password: password, requestedHostname: hostname)
            let done = try await runScripts(run, config: ready, ssh: ssh, all: rerunScripts)
            await ssh.close()
            return done
        } catch {
            await ssh.close()
            throw error
        }
    }

    /// A record whose driver's create did not finish: the driver (a plugin started again with
    /// the record's configuration) creates the host, and the record takes its address and SSH
    /// access; provisioning goes on from there. A create that fails again keeps the record as it
    /// is, unfinished, with what the driver knows now.
    private func createHostAgain(_ config: MachineConfig, run: StepRunner) async throws -> MachineConfig {
        let name = config.name
        let driver = try drivers.resolve(config, store: store)
        let created: CreatedHost
        do {
            created = try await run.timed(.createHost) {
                let c = try await driver.create()
                return (c, "the \(driver.name) driver made the host at \(c.address)")
            }
        } catch {
            let underlying = (error as? CreateInterrupted)?.underlying ?? error
            try? store.update(name) {
                if let e = error as? CreateInterrupted { $0.driverOptions = e.options }
                $0.provisioning.phase = .failed
                $0.provisioning.failedStep = .createHost
                $0.provisioning.lastError = "\(ProvisionStep.createHost.rawValue): \(underlying)"
            }
            throw HostUnfinished(machine: name, driver: config.driver, operation: "provision", underlying: underlying)
        }
        guard let ssh = created.ssh else {
            let e = DriverError.operationFailed(driver: driver.name, operation: "create", detail: "it reported no SSH access")
            try? run.recordFailure(.createHost, e)
            throw HostUnfinished(machine: name, driver: config.driver, operation: "provision", underlying: e)
        }
        try run.record(.createHost) {
            $0.address = created.address
            $0.ssh.user = ssh.user
            $0.ssh.port = ssh.port
            $0.ssh.keyPath = ssh.keyPath
            $0.ssh.authMode = ssh.keyPath == nil ? .agentOrDefaultKeys : .key
            if let p = created.engineHostPort { $0.engine.port = p }
            $0.driverOptions = created.options
            $0.peerAddress = created.peerAddress
            $0.provisioning.failedStep = nil
            $0.provisioning.lastError = nil
        }
        return try store.load(name)
    }

    // MARK: - Steps after the record exists

    /// The steps after the record exists, in order; each finished one is recorded, a failure
    /// marks the record failed at its step (`provision` runs them again from the start, skipping
    /// install-ssh-key once done).
    private func runSteps(
        _ run: StepRunner, config start: MachineConfig, ssh: any RemoteHost, probe initialProbe: HostProbe,
        password: String?, requestedHostname: String?
    ) async throws -> MachineConfig {
        let name = start.name
        var config = start
        var probe = initialProbe
        var step = ProvisionStep.installSSHKey
        do {
            if config.ssh.authMode == .generatedKey, !(config.provisioning.isDone(.installSSHKey)) || config.ssh.keyPath == nil {
                step = .installSSHKey
                try await run.timed(step) { (try await installGeneratedKey(config: &config, ssh: ssh), "") }
                try run.record(step) { $0.ssh = config.ssh }
            }
            if let hn = requestedHostname {
                step = .setHostname
                try await run.timed(step) {
                    try await setHostname(hn, ssh: ssh)
                    return ((), hn)
                }
                probe.hostname = hn
                // The operator's name goes into the server certificate (the host's own never does).
                config.tls.hostname = hn
                try run.record(step) {
                    $0.host?.hostname = hn; $0.tls.hostname = hn
                }
            }
            step = .installEngine
            probe = try await run.timed(step) { try await installEngine(name: name, config: config, probe: probe, ssh: ssh) }
            config.engine.dockerdPath = probe.dockerdPath
            try run.record(step) {
                $0.engine.dockerdPath = probe.dockerdPath; $0.host = facts(probe)
            }

            step = .installCerts
            let tls = try await run.timed(step) { () -> (TLSSettings, String) in
                let t = try await installCertificates(config: config, probe: probe, ssh: ssh)
                return (t, "server certificate for \(t.serverSANs.joined(separator: ", "))")
            }
            config.tls = tls
            try run.record(step) { $0.tls = tls }

            step = .configureEngine
            try await run.timed(step) { ((), try await configureEngine(config: config, probe: probe, ssh: ssh)) }
            try run.record(step) { _ in }

            step = .waitEngine
            let version = try await run.timed(step) { () -> (EngineVersion, String) in
                let v = try await waitForEngine(config: config, probe: probe, ssh: ssh)
                return (v, "Docker \(v.version) (API \(v.apiVersion)) answers at \(config.engineURL) over mutual TLS")
            }
            let seconds = run.log.seconds(of: .waitEngine)
            return try store.update(name) {
                $0.engine.version = version.version
                $0.provisioning.stepsDone.append(StepRecord(step: .waitEngine, seconds: seconds, finishedAt: Date()))
                $0.provisioning.phase = .ready
                $0.provisioning.lastError = nil
                $0.provisioning.failedStep = nil
            }
        } catch {
            try? run.recordFailure(step, error)
            if var p = error as? ProvisionError {
                if p.machine.isEmpty { p.machine = name }
                throw p
            }
            throw ProvisionError(machine: name, step: step, reason: "\(error)", resumable: true, cause: error)
        }
    }

    // MARK: - Bookkeeping

    private func initialAuth(_ req: CreateRequest) -> [SSHAuthMethod] {
        let methods = MachineSSH.authMethods(
            keyPath: req.sshKeyPath.map { ($0 as NSString).expandingTildeInPath },
            passphrase: req.sshKeyPassphrase, password: req.sshPassword)
        return req.identitiesOnly == false ? MachineSSH.withAgentAfterKey(methods) : methods
    }

    func facts(_ p: HostProbe) -> HostFacts {
        HostFacts(
            osID: p.release?.id ?? "unknown", osVersion: p.release?.versionID, idLike: p.release?.idLike ?? [],
            prettyName: p.release?.prettyName, family: p.release.flatMap(OSFamily.detect)?.rawValue ?? "unknown",
            hostname: p.hostname, initSystem: p.initSystem, architecture: p.architecture)
    }
}
