import Foundation
import SwockStore

/// A driver makes and owns the host a machine lives on (a local VM, a plugin's cloud server),
/// or, for `generic` and `none`, only names a host someone else made. Provisioning (OS
/// detection, engine install, certificates, dockerd configuration, readiness) is one path on
/// top of every driver that gives SSH access.
///
/// A driver value is built for one machine from its record (`DriverRegistry.driver(for:store:)`)
/// or, at create, from the driver's flags (`DriverKind.driverForCreate`). Its own settings live in
/// the record's `driverOptions`, opaque to everything else.
///
/// What the product does with it (SwockProvision's `DriverCreation`, SwockFleet's
/// `FleetLifecycle`, SwockClient's `MachineStatus`, SwockProvision's `Remover`):
/// - create: `preCreateCheck()`, `create()`, then the one provisioning path over the returned SSH
///   access (no SSH: the endpoint is adopted as it is, `none`). A create that fails has left
///   nothing (it made nothing or took it back) and nothing is written, unless it throws
///   `CreateInterrupted` (the host may exist): then the record is kept, unfinished, for
///   `provision` (which calls `create()` again) and `rm` (`remove()`).
/// - `.owned` hosts: stop/start/restart/kill call the driver, then start/restart wait for the
///   engine over TLS; `ls`/`status` ask `state()` first; `rm` calls `remove()`.
public protocol MachineDriver: Sendable {
    /// The name a record keeps and `create -d` takes: "generic", "none", "qemu", or a plugin's.
    var name: String { get }
    /// What this driver does with the host's power: `.owned` means the driver made the host, so
    /// stop/start/restart/kill act on it (a VM's power); `.external` means the host is someone
    /// else's and the lifecycle verbs act on the engine (generic), or not at all (none).
    var hostOwnership: HostOwnership { get }

    /// Checks that can fail before anything is made or written (binaries present, image
    /// readable, flags consistent).
    func preCreateCheck() async throws
    /// Makes the host (boots the VM, asks the plugin) and returns how to reach it. The driver's
    /// settings after create (ports chosen, paths) are in the returned `options`.
    func create() async throws -> CreatedHost
    /// Removes what the driver made (the VM, its disk). Idempotent: a host already gone is not
    /// an error.
    func remove() async throws
    func start() async throws
    func stop() async throws
    func restart() async throws
    func kill() async throws
    /// The host's power state as the driver sees it, without SSH (a stopped VM is `.stopped` at once).
    func state() async throws -> DriverState
    /// How to reach the host over SSH, or nil for a driver without SSH (`none`).
    func sshAccess() async throws -> DriverSSHAccess?
    /// For drivers without SSH: the Docker URL the driver was given.
    func dockerURL() async throws -> String?
    /// The settings to keep in the record (`MachineConfig.driverOptions`).
    func options() -> DriverOptions
    /// How much slower than an ordinary server this driver's host runs: provisioning's and the
    /// lifecycle's deadlines are multiplied by it (`ProvisionLimits`). 1 (the default) for hosts
    /// on real hardware; a VM on QEMU's TCG emulator says more.
    var pace: Double { get }
}

extension MachineDriver {
    public var pace: Double { 1 }
}

public enum HostOwnership: Sendable, Equatable {
    case owned
    case external
}

/// libmachine's state names, so plugins' answers map one to one.
public enum DriverState: String, Sendable, Codable, CaseIterable {
    case none = ""
    case running = "Running"
    case paused = "Paused"
    case saved = "Saved"
    case stopped = "Stopped"
    case stopping = "Stopping"
    case starting = "Starting"
    case error = "Error"
    case timeout = "Timeout"
}

/// How to reach a driver's host over SSH.
public struct DriverSSHAccess: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    /// A private key file the driver made or was given; nil for the agent and default keys.
    public var keyPath: String?

    public init(host: String, port: Int, user: String, keyPath: String?) {
        self.host = host
        self.port = port
        self.user = user
        self.keyPath = keyPath
    }
}

/// What `create()` returns.
public struct CreatedHost: Sendable, Equatable {
    /// The address the machine is known by (its IP or host name; 127.0.0.1 for a VM behind
    /// user-mode forwards).
    public var address: String
    public var ssh: DriverSSHAccess?
    /// Where the engine will listen as seen from here, when it differs from address:2376
    /// (a user-mode forward's local port). dockerd is configured to listen on this same port on
    /// the host too, so a forward must map it to the same port number inside the VM.
    public var engineHostPort: Int?
    /// Where other machines reach this one, when not at `address` (`MachineConfig.peerAddress`).
    public var peerAddress: String?
    public var options: DriverOptions
    /// For a host without SSH (`none`): the client certificate, its key and the CA that signed
    /// the daemon's certificate, copied into the machine's directory as ca.pem, cert.pem, key.pem.
    public var dockerTLS: DriverTLSFiles?

    public init(
        address: String, ssh: DriverSSHAccess?, engineHostPort: Int? = nil, peerAddress: String? = nil,
        options: DriverOptions, dockerTLS: DriverTLSFiles? = nil
    ) {
        self.address = address
        self.ssh = ssh
        self.engineHostPort = engineHostPort
        self.peerAddress = peerAddress
        self.options = options
        self.dockerTLS = dockerTLS
    }
}

/// Paths of the three PEM files a Docker client needs for mutual TLS.
public struct DriverTLSFiles: Sendable, Equatable {
    public var caCert: String
    public var clientCert: String
    public var clientKey: String

    public init(caCert: String, clientCert: String, clientKey: String) {
        self.caCert = caCert
        self.clientCert = clientCert
        self.clientKey = clientKey
    }
}
