import EngineAPI
import Foundation
import SSHKit
import SwockDrivers
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSupport

/// The live state of a machine, as `ls` and `status` show it.
public struct MachineStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        /// The engine answers /_ping over mutual TLS.
        case running = "Running"
        /// SSH answers, the engine does not.
        case stopped = "Stopped"
        /// Nothing answered within the timeout.
        case timeout = "Timeout"
        /// Something answered wrongly (TLS trouble, a broken record, ...).
        case error = "Error"
    }

    public var state: State
    public var engineVersion: String?
    public var error: String?

    public init(state: State, engineVersion: String? = nil, error: String? = nil) {
        self.state = state
        self.engineVersion = engineVersion
        self.error = error
    }

    /// Asks the engine (and, when it does not answer, the SSH port) within `timeout` (counted
    /// from `started`, now when nil). `kept`: the daemon's answer the connection keeper already
    /// got on its kept connection (`KeeperClient.pingEngines`), used instead of asking again.
    public static func probe(
        _ config: MachineConfig, store: Store, timeout: Duration,
        drivers: DriverRegistry = .standard, kept: KeeperPing? = nil, started: ContinuousClock.Instant? = nil
    ) async -> MachineStatus {
        let clock = ContinuousClock()
        let deadline = (started ?? clock.now) + timeout
        // A driver's create that did not finish: no host was reported, there is nothing to ask.
        if config.provisioning.failedStep == .createHost {
            return MachineStatus(state: .error, error: "the \(config.driver) driver's create did not finish")
        }
        // A host the driver owns: its power state first (a stopped VM is Stopped at once).
        if config.driver != "generic" && config.hasSSH {
            do {
                let driver = try drivers.resolve(config, store: store)
                if driver.hostOwnership == .owned {
                    switch try await driver.state() {
                    case .stopped, .saved, .paused, .stopping, .starting:
                        return MachineStatus(state: .stopped, error: nil)
                    case .error:
                        return MachineStatus(state: .error, error: "the \(driver.name) driver reports an error state")
                    case .timeout:
                        return MachineStatus(state: .timeout, error: "the \(driver.name) driver reports a timeout")
                    case .running, .none:
                        break
                    }
                }
            } catch {
                let text = "\(error)"
                return MachineStatus(state: .error, error: text.count > 60 ? String(text.prefix(57)) + "..." : text)
            }
        }
        let endpoint: EngineEndpoint
        do {
            endpoint = try await EngineRoute.endpoint(config, store: store, budget: timeout)
        } catch {
            // Behind jump hosts: the SSH route itself failed.
            if case SSHError.connectTimedOut = error {
                return MachineStatus(state: .timeout, error: "no answer within \(Self.seconds(timeout))")
            }
            let text = "\(error)"
            return MachineStatus(state: .error, error: text.count > 60 ? String(text.prefix(57)) + "..." : text)
        }
        // Built only when needed: the keeper's answer needs none.
        func client() -> EngineClient { EngineClient(endpoint: endpoint, timeout: max(deadline - clock.now, .milliseconds(100))) }
        do {
            // /_ping, whose Server header names the engine's version: dockerd answers /version
            // by running `runc --version` and `docker-init --version` (6 ms of its time, measured,
            // against 1 ms for /_ping), and `ls` asks every daemon at once.
            let ping: Ping
            if let kept { ping = try kept.answer(at: endpoint) } else { ping = try await client().ping() }
            let version: String
            if let v = ping.engineVersion { version = v } else { version = try await client().version().version }
            var warning: String?
            if let notAfter = config.tls.serverNotAfter, notAfter.timeIntervalSinceNow < 30 * 86400 {
                warning =
                    notAfter.timeIntervalSinceNow < 0 ? "server certificate expired" : "server certificate expires \(Self.day(notAfter))"
            }
            return MachineStatus(state: .running, engineVersion: "v" + version, error: warning)
        } catch {
            // EngineClient throws EngineError only (typed throws).
            switch error {
            case .connectionRefused, .timedOut, .unreachable, .connectionClosed, .network:
                let left = deadline - clock.now
                // Through jump hosts, SSH has just answered (the route is up).
                if config.isBehindJumpHosts { return MachineStatus(state: .stopped, error: nil) }
                // The keeper asked the SSH port already when its daemon did not answer.
                var sshAnswers = kept?.sshAnswers ?? false
                if kept?.sshAnswers == nil, config.hasSSH, left > .milliseconds(50) {
                    sshAnswers = await TCPProbe.isOpen(host: config.address, port: config.ssh.port, timeout: left)
                }
                if sshAnswers { return MachineStatus(state: .stopped, error: nil) }
                if case .timedOut = error { return MachineStatus(state: .timeout, error: "no answer within \(Self.seconds(timeout))") }
                return MachineStatus(state: clock.now >= deadline ? .timeout : .error, error: short(error))
            default:
                return MachineStatus(state: .error, error: short(error))
            }
        }
    }

    static func short(_ e: EngineError) -> String {
        switch e {
        case .connectionRefused: return "engine port refused"
        case .unknownCA: return "TLS: unknown CA"
        case .nameMismatch: return "TLS: certificate does not cover the address"
        case .certificateExpired: return "TLS: certificate expired"
        case .clientCertificateRejected: return "TLS: client certificate refused"
        case .localFile: return "certificate files missing or unreadable"
        default:
            let d = "\(e)"
            return d.count > 60 ? String(d.prefix(57)) + "..." : d
        }
    }

    static func day(_ d: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }

    static func seconds(_ d: Duration) -> String {
        let s = d.timeInterval
        return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}

extension KeeperPing {
    /// The daemon's answer, or its failure as the client would have met it.
    func answer(at endpoint: EngineEndpoint) throws(EngineError) -> Ping {
        if let ping { return ping }
        throw error ?? .connectionClosed(endpoint, detail: "the keeper got no answer")
    }
}

/// What the offline checks find. What to do about each (`provision`, `regenerate-certs`) is
/// SwockCommands' to say (ErrorReport), from these cases.
public enum OfflineProblem: CodedError, Equatable {
    /// The record is not ready (`reason`: its last error, or its phase).
    case notProvisioned(machine: String, reason: String)
    /// A TLS file of the machine is missing (`path`: relative to the store).
    case missingFile(machine: String, path: String)
    case serverCertificateExpired(machine: String, day: String)
    case serverCertificateMissesAddress(machine: String, address: String)

    public var machine: String {
        switch self {
        case .notProvisioned(let m, _), .missingFile(let m, _), .serverCertificateExpired(let m, _),
            .serverCertificateMissesAddress(let m, _):
            m
        }
    }

    public var code: ErrorCode {
        switch self {
        case .notProvisioned: "client.not-provisioned"
        case .missingFile: "client.missing-file"
        case .serverCertificateExpired: "client.server-certificate-expired"
        case .serverCertificateMissesAddress: "client.server-certificate-misses-address"
        }
    }

    public var description: String {
        switch self {
        case .notProvisioned(let m, let reason): "machine \"\(m)\" is not fully provisioned (\(reason))"
        case .missingFile(_, let path): "\(path) is missing"
        case .serverCertificateExpired(let m, let day): "the server certificate of \"\(m)\" expired on \(day)"
        case .serverCertificateMissesAddress(let m, let address): "the server certificate of \"\(m)\" does not cover \(address)"
        }
    }
}

/// Offline checks for `env`: what can be known without the network.
public enum OfflineCheck {
    public static func problems(_ config: MachineConfig, store: Store, now: Date = Date()) -> [OfflineProblem] {
        var out: [OfflineProblem] = []
        if config.provisioning.phase != .ready {
            out.append(.notProvisioned(machine: config.name, reason: config.provisioning.lastError ?? config.provisioning.phase.rawValue))
        }
        let dir = store.machineDir(config.name)
        for f in ["ca.pem", "cert.pem", "key.pem"] where !FileManager.default.fileExists(atPath: dir + "/" + f) {
            out.append(.missingFile(machine: config.name, path: "\(store.relative(dir))/\(f)"))
        }
        if let notAfter = config.tls.serverNotAfter, notAfter < now {
            out.append(.serverCertificateExpired(machine: config.name, day: MachineStatus.day(notAfter)))
        }
        if !config.tls.serverSANs.isEmpty,
            !config.tls.serverSANs.contains(where: { $0.caseInsensitiveCompare(config.address) == .orderedSame })
        {
            out.append(.serverCertificateMissesAddress(machine: config.name, address: config.address))
        }
        return out
    }
}
