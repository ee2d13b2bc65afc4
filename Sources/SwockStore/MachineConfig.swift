import Foundation

/// The record of one machine: `machines/NAME/config.json`. Versioned, human-readable, and
/// portable: every path that points into the store is relative to the store's root.
public struct MachineConfig: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var configVersion: Int
    public var name: String
    public var driver: String
    /// The driver's own settings (`DriverOptions`: opaque to all but the driver). Absent for
    /// `generic` records and for records written before drivers kept any.
    public var driverOptions: DriverOptions?
    /// IP address or host name the machine is reached at.
    public var address: String
    /// Where other machines reach this one, when that is not `address` (a qemu VM is reached at
    /// 127.0.0.1 from this computer, and at its address on the VMs' network from the other VMs):
    /// what Swarm advertises. Absent for every other machine.
    public var peerAddress: String?
    public var ssh: SSHSettings
    public var engine: EngineSettings
    public var tls: TLSSettings
    /// Machine labels (`--label k=v`), also given to dockerd as engine labels.
    public var labels: [String: String]
    public var host: HostFacts?
    public var provisioning: ProvisioningState
    /// `--provision-script FILE` (or a fleet file's `provision-scripts`), in order: each with its
    /// copy in the store and how its last run ended. Absent without any.
    public var provisionScripts: [ProvisionScript]?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: String, driver: String = "generic", address: String, ssh: SSHSettings,
        engine: EngineSettings, tls: TLSSettings, labels: [String: String] = [:], now: Date = Date()
    ) {
        self.configVersion = Self.currentVersion
        self.name = name
        self.driver = driver
        self.address = address
        self.ssh = ssh
        self.engine = engine
        self.tls = tls
        self.labels = labels
        self.host = nil
        self.provisioning = ProvisioningState()
        self.createdAt = now
        self.updatedAt = now
    }

    /// The first provision script whose last run failed (the machine is usable; ls shows it).
    public var failedScript: ProvisionScript? {
        provisionScripts?.first { $0.lastRun.map { !$0.succeeded } ?? false }
    }

    /// `tcp://ADDRESS:PORT` (IPv6 addresses bracketed): where the daemon itself listens.
    public var engineURL: String {
        let h = address.contains(":") ? "[\(address)]" : address
        return "tcp://\(h):\(engine.port)"
    }

    /// The machine's host is reached over SSH: every driver's but `none`'s (an adopted Docker
    /// endpoint: ssh, scp, exec, mount, the lifecycle verbs and provision refuse it).
    public var hasSSH: Bool { driver != "none" }

    /// The machine is reached through jump hosts (`--generic-ssh-proxy-jump`).
    public var isBehindJumpHosts: Bool { !(ssh.proxyJump ?? []).isEmpty }

    /// Where a docker client on this machine connects: `engineURL`, or for a machine behind jump
    /// hosts the local end of the forward that `swock-machine tunnel` serves.
    public var clientURL: String {
        if isBehindJumpHosts, let p = engine.forwardPort { return "tcp://127.0.0.1:\(p)" }
        return engineURL
    }
}

public struct SSHSettings: Codable, Sendable, Equatable {
    public enum AuthMode: String, Codable, Sendable {
        /// A private key file: `keyPath`.
        case key
        /// ssh-agent, then the default keys in ~/.ssh.
        case agentOrDefaultKeys = "agent"
        /// A password was used once to install a generated key (`keyPath`, inside the store).
        case generatedKey = "generated-key"
    }
    public var user: String
    public var port: Int
    public var authMode: AuthMode
    /// Relative to the store when the key lives in it (generated keys), absolute otherwise.
    public var keyPath: String?
    /// The pinned host key, relative to the store.
    public var knownHostsPath: String
    /// Bastions between the client and the machine, first hop first (their keys are pinned in
    /// `knownHostsPath` too).
    public var proxyJump: [JumpHost]?
    /// With `keyPath` from an `IdentityFile` of ~/.ssh/config: false when the file did not say
    /// `IdentitiesOnly yes`, so the ssh-agent is tried after the key, as ssh does. nil (every
    /// other record): the key file only.
    public var identitiesOnly: Bool?
    /// The ~/.ssh/config `Host` alias create resolved (kept for inspect; the resolved values are
    /// the record's own, so a later change of the file changes nothing).
    public var sshConfigHost: String?
    /// `--ssh-host-key-fingerprint`: the host key's first contact must present one of these
    /// (`SHA256:...`). Kept for a record whose create stopped before the key was pinned, so that
    /// `provision` (and every other command) checks them instead of pinning whatever key answers.
    /// nil: none given.
    public var expectedHostKeys: [String]?

    public init(user: String, port: Int, authMode: AuthMode, keyPath: String?, knownHostsPath: String) {
        self.user = user
        self.port = port
        self.authMode = authMode
        self.keyPath = keyPath
        self.knownHostsPath = knownHostsPath
    }
}

public struct EngineSettings: Codable, Sendable, Equatable {
    public enum InstallMethod: String, Codable, Sendable, CaseIterable {
        /// The distribution's package manager (or an install script when --engine-install-url is given).
        case auto
        /// Never install; the host must already have dockerd.
        case none
    }
    public var port: Int
    /// Extra dockerd flags (`--engine-opt key=value` becomes `--key=value`).
    public var options: [String]
    public var labels: [String]
    public var environment: [String]
    public var storageDriver: String?
    public var registryMirrors: [String]
    public var insecureRegistries: [String]
    public var install: InstallMethod
    public var installURL: String?
    /// `--engine-install bundle:PATH`: a local folder of .deb files (absolute path).
    public var installBundle: String?
    /// For a machine behind jump hosts: the local port (127.0.0.1) where `swock-machine tunnel`
    /// forwards the Engine API over SSH, chosen at create.
    public var forwardPort: Int?
    /// Filled after provisioning.
    public var version: String?
    public var dockerdPath: String?

    public init(
        port: Int = 2376, options: [String] = [], labels: [String] = [], environment: [String] = [],
        storageDriver: String? = nil, registryMirrors: [String] = [], insecureRegistries: [String] = [],
        install: InstallMethod = .auto, installURL: String? = nil
    ) {
        self.port = port
        self.options = options
        self.labels = labels
        self.environment = environment
        self.storageDriver = storageDriver
        self.registryMirrors = registryMirrors
        self.insecureRegistries = insecureRegistries
        self.install = install
        self.installURL = installURL
    }
}

public struct TLSSettings: Codable, Sendable, Equatable {
    public var keyType: String
    /// Every name and address the server certificate covers.
    public var serverSANs: [String]
    /// Extra SANs asked for with --tls-san (kept so re-issues keep them).
    public var extraSANs: [String]
    /// The `--hostname` given at create or provision (kept so re-issues keep it): the server
    /// certificate covers it. What the host itself reports never goes into the certificate.
    public var hostname: String?
    public var serverNotBefore: Date?
    public var serverNotAfter: Date?
    public var caFingerprint: String?
    /// Where the machine's CA lives, relative to the store, when it is not the store's own
    /// (`certs/`): `cas/ID` for a machine imported from another store.
    public var caDir: String?

    public init(keyType: String, serverSANs: [String] = [], extraSANs: [String] = []) {
        self.keyType = keyType
        self.serverSANs = serverSANs
        self.extraSANs = extraSANs
    }
}

/// What create found out about the host.
public struct HostFacts: Codable, Sendable, Equatable {
    public var osID: String
    public var osVersion: String?
    public var idLike: [String]
    public var prettyName: String?
    public var family: String
    public var hostname: String?
    public var initSystem: String
    public var architecture: String?

    public init(
        osID: String, osVersion: String?, idLike: [String], prettyName: String?, family: String,
        hostname: String?, initSystem: String, architecture: String?
    ) {
        self.osID = osID
        self.osVersion = osVersion
        self.idLike = idLike
        self.prettyName = prettyName
        self.family = family
        self.hostname = hostname
        self.initSystem = initSystem
        self.architecture = architecture
    }
}

public struct ProvisioningState: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case creating, ready, failed
    }
    public var phase: Phase
    /// Steps finished, in order, with how long each took.
    public var stepsDone: [StepRecord]
    /// "STEP: REASON", for people (ls --format {{.LastError}}); decisions use `failedStep`.
    public var lastError: String?
    /// The step the last attempt failed at (absent in records written before it was kept).
    public var failedStep: ProvisionStep?
    public var lastAttemptAt: Date?

    public init() {
        phase = .creating
        stepsDone = []
    }

    public func isDone(_ step: ProvisionStep) -> Bool { stepsDone.contains { $0.step == step } }
}

public struct StepRecord: Codable, Sendable, Equatable {
    /// Persisted by its raw value ("install-engine").
    public var step: ProvisionStep
    public var seconds: Double
    public var finishedAt: Date

    public init(step: ProvisionStep, seconds: Double, finishedAt: Date) {
        self.step = step
        self.seconds = seconds
        self.finishedAt = finishedAt
    }
}
