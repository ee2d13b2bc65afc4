import EngineAPI
import SSHKit
import SwockClient
import SwockDrivers
import SwockEngine
import SwockFleet
import SwockInventory
import SwockProvision
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSupport
import SwockSwarm

/// The one place an error becomes what the user reads and the exit status. The layers below
/// say what went wrong (a `CodedError`: code, message, cause); the advice that names commands
/// and flags is made here, from the codes and cases, and so is the exit status.
enum ErrorReport {
    /// The exit statuses, one scheme for every command (the root --help and
    /// docs/command-reference.md say the same).
    enum Status {
        static let success: Int32 = 0
        /// A runtime failure: the command ran and failed; or, over several machines, every one failed.
        static let failure: Int32 = 1
        /// Over several machines (exec, docker, create -f, provision/rm/stop/... of several):
        /// some succeeded and some did not.
        static let someFailed: Int32 = 2
        /// The command line is wrong (ArgumentParser's own refusals, and those found in run()).
        static let usage: Int32 = 64
        /// Interrupted by SIGINT (128 + 2).
        static let interrupted: Int32 = 130
    }

    /// Codes of errors that are the command line's fault: exit status 64.
    static let usageCodes: Set<ErrorCode> = [
        UsageError.code, "provision.check-flags", "provision.invalid-request",
        "client.invalid-filter", "client.invalid-template", "fleet.invalid-selection", "inventory.bad-rename",
        "driver.unknown-flag", "driver.bad-flag-value", "driver.flag-needs-value", "driver.missing-flag", "driver.invalid-flag",
        "driver.unreadable-file", "driver.unknown-driver", "plugin.unknown-flag", "qemu.bad-flag",
        "provision.ssh-config-invalid", "provision.ssh-config-unreadable", "provision.script-unreadable",
    ]

    /// The line after "Error: ": the error's message, then what to do next (the innermost
    /// cause's advice first, as when the advice was part of each message).
    static func line(_ error: any Error) -> String {
        var parts = [message(error)]
        for e in errorChain(error).reversed() {
            if let a = advice(for: e), !parts.contains(a) { parts.append(a) }
        }
        return parts.joined(separator: "; ")
    }

    /// A certificate that covers another machine's address, with the way out.
    static func warning(_ f: CertificateOverlap.Finding) -> String {
        "\(f.warning); run `swock-machine regenerate-certs \(f.machine)`"
    }

    /// The exit status for a command that failed with `error`.
    static func exitStatus(_ error: any Error) -> Int32 {
        for e in errorChain(error) {
            if let c = e as? any CodedError, usageCodes.contains(c.code) { return Status.usage }
        }
        return Status.failure
    }

    /// The exit status of a command over several machines: 0 when all succeeded, 2 when some
    /// did, 1 when none did.
    static func fleetStatus(total: Int, failed: Int) -> Int32 {
        if failed == 0 { return Status.success }
        return failed < total ? Status.someFailed : Status.failure
    }

    static func fleetStatus(_ outcomes: [HostOutcome]) -> Int32 {
        fleetStatus(total: outcomes.count, failed: outcomes.filter { $0.result != .ok }.count)
    }

    /// One line per machine that failed, each with its advice: "NAME: reason", a job that failed
    /// without an exit status (a lifecycle verb, a create) by its error alone, a command by its
    /// status ("exit status 2", "unreachable: ..."). An error whose line is a sentence about the
    /// machine (`MachineSentence`: "web3 could not join ...") names it once.
    static func lines(_ failure: FanOutFailure) -> [String] {
        failure.failed.map { o in
            let plain = o.result == .failed && o.exitStatus == nil && o.signal == nil
            let reason = plain ? (error(o) ?? "failed") : (status(o) ?? "failed")
            let namesIt = (o.failure as? any MachineSentence)?.subject == o.name
            return (namesIt ? reason : "\(o.name): \(reason)") + adviceSuffix(o.failure)
        }
    }

    /// A fleet host's failure as the user reads it (the `error` of `--format json`, and the end
    /// of its status line): the fleet run's own reasons name the flags that caused them.
    static func error(_ o: HostOutcome) -> String? {
        if let f = o.failure as? HostFailure {
            switch f {
            case .timedOut(let after): return "timed out after \(HostFailure.seconds(after)) (--timeout)"
            case .notStarted: return "not started: --fail-fast stopped the run after a failure"
            case .noExitStatus: return f.description
            }
        }
        return o.failure.map(message) ?? o.error
    }

    /// A fleet host's status line in text output when it did not succeed (nil when it did).
    static func status(_ o: HostOutcome) -> String? {
        switch o.result {
        case .ok: return nil
        case .skipped: return "skipped (--fail-fast)"
        case .unreachable: return "unreachable: \(error(o) ?? "unknown error")"
        case .failed:
            if case .timedOut? = o.failure as? HostFailure { return "failed: \(error(o) ?? "timed out")" }
            if let signal = o.signal { return "killed by SIG\(signal)" }
            if let status = o.exitStatus, status != 0 { return "exit status \(status)" }
            return "failed: \(error(o) ?? "unknown error")"
        }
    }

    /// The message, worded for the command line where the layer below only names values.
    static func message(_ error: any Error) -> String {
        if let p = error as? ProvisionError, let problem = p.cause as? CreateProblem {
            return "\(p.operation) \(p.machine): \(p.step) failed: \(text(problem))"
        }
        if let p = error as? ProvisionError, let n = p.cause as? EngineInstallPlan.NotInstallable {
            return "\(p.operation) \(p.machine): \(p.step) failed: \(text(n))"
        }
        if let p = error as? ProvisionError, let o = p.cause as? ShellUnsafeEngineOption {
            return "\(p.operation) \(p.machine): \(p.step) failed: --engine-opt \"\(o.argument)\": \(o.reason)"
        }
        if let problem = error as? CreateProblem { return text(problem) }
        if let n = error as? EngineInstallPlan.NotInstallable { return text(n) }
        if let e = error as? MachineSelector.Error {
            switch e {
            case .namesAndAll: return "give machine names or --all, not both"
            case .nothingSelected: return "no machines selected: name them (globs like 'web*' work), or use --all or --filter"
            case .filterMatchesNothing: return "no machine matches the selection (--filter)"
            case .globMatchesNothing, .emptyStore: break
            }
        }
        if let e = error as? InventoryError {
            switch e {
            case .noCAKey: return "--with-ca-key: \(e)"
            case .notAnExport(let file, let reason): return "\(file) is not a swock-machine export (\(reason))"
            case .unknownRename(let old, let file): return "--rename \(old)=...: \(file) holds no machine \"\(old)\""
            case .badRename(let text): return "--rename \"\(text)\": expected OLD=NEW, e.g. --rename web1=web1-copy"
            case .tooManyForDockerContext:
                return "--docker-context exports one machine (a docker context holds one endpoint); name exactly one"
            default: break
            }
        }
        // The filter's terms come from --filter: the message names the flag.
        if let e = error as? MachineFilter.Error { return "--\(e.description)" }
        if let e = error as? SSHConfigFile.LoadError { return "--ssh-config \(e.path): \(e.exists ? "cannot read it" : "no such file")" }
        if let t = error as? TunnelService.TunnelError, case .direct = t.kind {
            return "\(t.machine) is reached directly (no --generic-ssh-proxy-jump): it needs no tunnel"
        }
        return "\(error)"
    }

    /// A create request's problem in terms of the flags that gave the values.
    static func text(_ problem: CreateProblem) -> String {
        switch problem {
        case .missingAddress:
            return "--generic-ip-address is required: the IP address or host name of the server to turn into a Docker host"
        case .badAddress(let a): return "--generic-ip-address \"\(a)\" is not an IP address or host name"
        case .sshPortOutOfRange(let p): return "--generic-ssh-port \(p) is out of range 1-65535"
        case .enginePortOutOfRange(let p): return "--generic-engine-port \(p) is out of range 1-65535"
        case .sshKeyUnreadable(let k, let exists): return "--generic-ssh-key \(k): \(exists ? "permission denied" : "no such file")"
        case .badSAN(let san, let reason): return "--tls-san \"\(san)\": \(reason)"
        case .badLabel(let k): return "--label \"\(k)\": expected key=value"
        case .badFingerprint(let fp):
            return
                "--ssh-host-key-fingerprint \"\(fp)\": expected SHA256: and 43 base64 characters, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the host"
        case .strictNeedsExpectedKey:
            return
                "--ssh-host-key strict needs the expected host key: give --ssh-host-key-fingerprint SHA256:... or --ssh-known-hosts FILE (or use accept-new)"
        case .strictNeedsJumpHostKeys:
            return "--ssh-host-key strict with --generic-ssh-proxy-jump needs the jump hosts' keys too: give them in --ssh-known-hosts FILE"
        case .knownHostsUnreadable(let f, let exists): return "--ssh-known-hosts \(f): \(exists ? "cannot read it" : "no such file")"
        case .knownHostsLacksHost(let f, let h):
            return
                "--ssh-known-hosts \(f) has no key for \(h) (plain or hashed); add the host's key (e.g. from its /etc/ssh/ssh_host_*_key.pub, checked out of band) under that name"
        case .knownHostsLacksJumpHost(let f, let h):
            return "--ssh-known-hosts \(f) has no key for the jump host \(h), and --ssh-host-key is strict; add its key under that name"
        }
    }

    /// Why the engine cannot be installed, in terms of the flags that choose how.
    static func text(_ n: EngineInstallPlan.NotInstallable) -> String {
        switch n {
        case .installDisabled:
            return
                "dockerd is not installed and --engine-install is none; install Docker Engine on the host first or use --engine-install auto"
        case .unknownOS:
            return
                "\(n.description); pass --engine-install-url URL (a get.docker.com-style script) or install the engine yourself and pass --engine-install none"
        case .upgradeUnknownFamily: return n.description
        }
    }

    /// "; ADVICE" for `error` and its causes (innermost first), or "" (a fleet host's status line).
    static func adviceSuffix(_ error: (any Error)?) -> String {
        guard let error else { return "" }
        let next = errorChain(error).reversed().compactMap { advice(for: $0) }
        return next.isEmpty ? "" : "; " + next.joined(separator: "; ")
    }

    /// What to do next about this one error (not its causes), in the command line's words.
    static func advice(for error: any Error) -> String? {
        switch error {
        case let e as StoreError: return advice(e)
        case let e as SSHError: return advice(e)
        case let e as EngineError: return advice(e)
        case let e as SwarmError: return advice(e)
        case let e as InventoryError: return advice(e)
        case DriverError.unknownFlag(let driver, _, _): return "see `swock-machine create -d \(driver) --help`"
        case PluginError.unknownFlag(let plugin, _, _): return "see `swock-machine create -d \(plugin) --help`"
        case QemuError.socketPathTooLong: return "use a shorter --storage-path"
        case KeeperError.protocolViolation: return "`swock-machine keeper stop` ends a keeper of another version"
        case is SSHConfigFile.Invalid: return "fix the line or pass --ssh-config none"
        case is SSHConfigFile.LoadError: return "give a readable file or --ssh-config none"
        case MachineSelector.Error.globMatchesNothing: return "`swock-machine ls` lists the machines"
        case MachineSelector.Error.emptyStore: return "create one with `swock-machine create`"
        case let e as Remover.RemoteCleanupFailed:
            return "fix the cause and retry, or run `swock-machine rm -f \(e.machine)` to drop the record anyway"
        case let e as EngineLifecycle.NotConfigured: return "run `swock-machine provision \(e.machine)` to put it back"
        case DockerContextError.invalidName(let name, _):
            return "point docker at it with `eval \"$(swock-machine env \(name))\"` instead"
        case DockerContextError.notFound(let name): return "create it with `swock-machine use \(name) --docker-context`"
        case is ShellUnsafeEngineOption:
            return
                "use only letters, digits and . _ - / : = , @ + % in --engine-opt there (labels, registries and the storage driver go to daemon.json and may hold anything)"
        case let e as OfflineProblem:
            switch e {
            case .notProvisioned(let m, _): return "run `swock-machine provision \(m)`"
            default: return "run `swock-machine regenerate-certs \(e.machine)`"
            }
        case let e as ProvisionScriptFailed:
            return "the machine is usable: fix the script, then run `swock-machine provision --rerun-scripts \(e.machine)`"
        case let t as TunnelService.TunnelError:
            switch t.kind {
            case .direct(serving: true): return "point docker at it with `swock-machine env \(t.machine)`"
            case .alreadyForwarded: return "stop it with `swock-machine tunnel --stop \(t.machine)`"
            case .direct(serving: false), .other: return nil
            }
        case is NoSSH:
            return
                "ssh, scp, exec, mount, stop/start/restart/kill/upgrade and provision need SSH; env, config, docker and the swarm verbs work"
        case let e as Remover.DriverRemovalFailed:
            return
                "fix the cause and retry, or run `swock-machine rm -f \(e.machine)` to drop the record anyway (the host may then be left behind)"
        case let e as HostUnfinished:
            return "run `swock-machine provision \(e.machine)` to retry, or `swock-machine rm -f \(e.machine)` to drop it"
        case let e as ProvisionError:
            return e.resumable ? "fix the cause, then run `swock-machine provision \(e.machine)` to resume" : nil
        default: return nil
        }
    }

    static func advice(_ e: StoreError) -> String? {
        switch e {
        case .alreadyExists(let n): return "pick another name or remove it first with `swock-machine rm \(n)`"
        case .notFound: return "`swock-machine ls` lists the machines"
        case .corrupt(let n, _, _): return "fix or remove it (`swock-machine rm -f \(n)`)"
        case .missingFile(let n, _): return "run `swock-machine regenerate-certs \(n)` or `swock-machine provision \(n)`"
        case .noActiveMachine: return "name one, or pick one with `swock-machine use NAME`"
        case .importedWithoutCAKey(let n):
            return
                "export it again with --with-ca-key and import that, or run `swock-machine regenerate-certs --client-certs \(n)` to move it to this store's CA"
        case .invalidName, .unsupportedVersion, .io, .crypto: return nil
        }
    }

    static func advice(_ e: InventoryError) -> String? {
        switch e {
        case .notReady(let n): return "run `swock-machine provision \(n)` first"
        case .missingFile(let m, _): return "run `swock-machine regenerate-certs \(m)` (or provision) first"
        case .noCAKey(let m): return "export without --with-ca-key, or run `swock-machine regenerate-certs \(m)` first"
        case .encryptedNeedsPassphrase: return "give its passphrase with --passphrase-env VAR or --passphrase-stdin"
        case .extraSANs: return "check them, then import again with --accept-extra-sans"
        case .claimsStoreCA: return "import again with --accept-store-ca only if the archive was exported from this store"
        case .notAnExport: return "give a file written by `swock-machine export`"
        case .unknownRename: return "`--rename` takes OLD=NEW with OLD a machine in the archive"
        case .clash(let n): return "import it under another name with --rename \(n)=NEW"
        case .duplicateTarget: return "give them different names with --rename"
        case .notSealed, .damaged, .cannotDecrypt, .badRename, .tooManyForDockerContext: return nil
        }
    }

    static func advice(_ e: SSHError) -> String? {
        switch e {
        case .authenticationFailed: return "pass a key the server accepts (--generic-ssh-key) or a password"
        case .keyNotUsable(_, let given): return given ? nil : "give its passphrase in $SWOCK_SSH_KEY_PASSPHRASE"
        case .sudoNeedsPassword:
            return
                "give it with --generic-sudo-password-env VAR or --generic-sudo-password-stdin, give the user passwordless sudo (NOPASSWD), or connect as root"
        case .sudoPasswordRefused: return "check the one in --generic-sudo-password-env / --generic-sudo-password-stdin"
        default: return nil
        }
    }

    static func advice(_ e: EngineError) -> String? {
        let name = e.endpoint?.machineName ?? "NAME"
        let regenerate = "run `swock-machine regenerate-certs \(name)`"
        switch e {
        case .dnsFailure: return "check the machine's address with `swock-machine inspect \(name)`"
        case .connectionRefused: return "check `swock-machine status \(name)` and the docker service on the host"
        case .unreachable: return "is the machine running? check `swock-machine status \(name)`"
        case .timedOut: return "is the machine up? check `swock-machine status \(name)`"
        case .unknownCA, .nameMismatch, .certificateInvalid: return regenerate
        case .certificateExpired(_, _, let depth): return depth > 0 ? "renew the CA, then \(regenerate)" : regenerate
        case .clientCertificateRejected: return regenerate
        case .localFile: return "check the machine's certificates or \(regenerate)"
        default: return nil
        }
    }

    static func advice(_ e: SwarmError) -> String? {
        switch e {
        case .alreadyInSwarm(let n, _): return "run `swock-machine swarm leave \(n)` first"
        case .notAManager(let n):
            return
                "give a manager with --manager (`swock-machine swarm ls` shows the roles), or start a swarm with `swock-machine swarm init \(n)`"
        case .notInSwarm(let n):
            return "start one with `swock-machine swarm init NAME`, or join it with `swock-machine swarm join --manager NAME \(n)`"
        case .noReachableManager: return "check them with `swock-machine swarm ls`"
        case .lastManager: return "pass --force (rm: -f) to do it anyway"
        case .joinFailed, .liveRestoreStaysOn, .liveRestoreWithoutSSH, .managerNotReady: return nil
        }
    }
}

/// A command line that cannot work, found in run(): one line on stderr, exit status 64.
struct UsageError: CodedError {
    static let code: ErrorCode = "usage"
    var description: String
    init(_ d: String) { description = d }
    var code: ErrorCode { Self.code }
}
