import EngineAPI
import Foundation
import SwockDrivers
import SwockRemote
import SwockStore
import SwockSupport

/// `create -d NAME` for a driver that makes or names the host (every driver but generic, whose
/// create is the provisioner's own): the driver's pre-create check, its create, then the one
/// provisioning path over the SSH access it returns; a driver without SSH (`none`) has its
/// endpoint adopted as it is.
///
/// What a failure leaves: before the driver could make anything (its pre-create check, a create
/// that made nothing or took back what it made), nothing. Once the driver may have made the host
/// (`CreateInterrupted`: a plugin that crashed, hung or failed in Create), the record is kept,
/// unfinished at create-host, with the driver's settings; after the host is made, a failed
/// provisioning step keeps the record as for generic. `provision NAME` goes on from there, `rm`
/// removes the host through the driver, `rm -f` drops the record whatever the driver says.
public struct DriverCreation: Sendable {
    public let provisioner: Provisioner

    public init(provisioner: Provisioner) { self.provisioner = provisioner }

    var store: Store { provisioner.store }

    /// - Parameter request: the common settings (engine, TLS, labels, host key policy); its
    ///   address, SSH user, port and key come from the driver.
    public func create(_ request: CreateRequest, driver: any MachineDriver) async throws -> MachineConfig {
        try MachineName.validate(request.name)
        if store.exists(request.name) { throw StoreError.alreadyExists(request.name) }
        let startedAt = Date()
        try await driver.preCreateCheck()
        let created: CreatedHost
        do {
            created = try await driver.create()
        } catch let e as CreateInterrupted {
            var r = request
            r.driver = driver.name
            r.driverOptions = e.options
            try provisioner.keepUnfinishedHost(r, error: e.underlying)
            throw HostUnfinished(machine: request.name, driver: driver.name, operation: "create", underlying: e.underlying)
        }
        guard let ssh = created.ssh else {
            do {
                return try await adopt(request, driver: driver, created: created)
            } catch {
                try? await driver.remove()
                throw error
            }
        }
        var r = request
        r.address = created.address
        r.sshUser = ssh.user
        r.sshPort = ssh.port
        r.sshKeyPath = ssh.keyPath
        if let p = created.engineHostPort { r.engine.port = p }
        r.driver = driver.name
        r.driverOptions = created.options
        r.peerAddress = created.peerAddress
        do {
            // A host that fails the checks before the record (connect, detect-os) still gets its
            // record: the driver made it, so `provision` and `rm` must find it.
            // At the driver's pace: a VM on an emulator needs longer deadlines.
            return try await provisioner.paced(driver.pace).create(r, keepRecordOnEarlyFailure: true)
        } catch {
            // This create's record (not another create's of the same name; config.json keeps
            // whole seconds) stays, failed at its step. Without one (the request's own values were
            // refused), nothing refers to the host: the driver removes it.
            if let c = try? store.load(request.name), c.driver == driver.name,
                c.createdAt.timeIntervalSince1970 >= startedAt.timeIntervalSince1970.rounded(.down)
            {
                throw error
            }
            try? await driver.remove()
            throw error
        }
    }

    /// A host without SSH: the record names the endpoint, the TLS files the driver was given go
    /// into the machine's directory, and the daemon's version is asked through them.
    func adopt(_ request: CreateRequest, driver: any MachineDriver, created: CreatedHost) async throws -> MachineConfig {
        guard let tls = created.dockerTLS else {
            throw DriverError.missingFlag(
                driver: driver.name, flag: NoneDriver.tlsFlags, why: "swock-machine talks to a daemon only over mutual TLS")
        }
        let files = try tls.contents(driver: driver.name)
        let endpoint = EngineEndpoint(
            host: created.address, port: created.engineHostPort ?? EngineEndpoint.defaultPort,
            tls: TLSFiles(caPath: tls.caCert, certPath: tls.clientCert, keyPath: tls.clientKey))
        let version = try await EngineClient(endpoint: endpoint, timeout: .seconds(10)).version()
        let ssh = SSHSettings(
            user: "", port: 0, authMode: .agentOrDefaultKeys, keyPath: nil,
            knownHostsPath: Store.knownHostsPath(request.name))
        var engine = EngineSettings(port: endpoint.port, install: .none)
        engine.version = version.version
        var config = MachineConfig(
            name: request.name, driver: driver.name, address: created.address, ssh: ssh,
            engine: engine, tls: TLSSettings(keyType: request.keyType.rawValue), labels: request.labels)
        config.driverOptions = created.options
        config.provisioning.phase = .ready
        config.provisioning.lastAttemptAt = Date()
        try store.reserve(config, files: files)
        return config
    }
}
