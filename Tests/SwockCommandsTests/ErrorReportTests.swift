import EngineAPI
import Foundation
import SSHKit
import SwockClient
import SwockDrivers
import SwockFleet
import SwockInventory
import SwockRemote
import SwockRuntime
import SwockStore
import SwockSupport
import SwockSwarm
import Testing

@testable import SwockCommands
@testable import SwockEngine
@testable import SwockProvision

/// The one place errors become a line and an exit status: the advice comes from the codes and
/// cases (the layers below name no command or flag), and the exit status follows one scheme.
struct ErrorReportTests {
    @Test func dockerMachinesLinesStayExactlyAsTheyWere() {
        #expect(
            ErrorReport.line(StoreError.notFound("web1")) == "Docker machine \"web1\" does not exist; `swock-machine ls` lists the machines"
        )
        #expect(
            ErrorReport.line(StoreError.alreadyExists("web1"))
                == "Docker machine \"web1\" already exists; pick another name or remove it first with `swock-machine rm web1`")
        // The layer below says only what is wrong.
        #expect(StoreError.notFound("web1").description == "Docker machine \"web1\" does not exist")
        #expect(StoreError.notFound("web1").code == "store.not-found")
    }

    @Test func adviceComesFromTheCase() {
        #expect(
            ErrorReport.line(StoreError.missingFile(name: "w", path: "machines/w/cert.pem"))
                == "machine \"w\": machines/w/cert.pem is missing; run `swock-machine regenerate-certs w` or `swock-machine provision w`")
        #expect(
            ErrorReport.line(StoreError.noActiveMachine)
                == "no machine given, no active machine and no machine named \"default\"; name one, or pick one with `swock-machine use NAME`"
        )
        #expect(
            ErrorReport.line(StoreError.importedWithoutCAKey("imp")).hasSuffix(
                "export it again with --with-ca-key and import that, or run `swock-machine regenerate-certs --client-certs imp` to move it to this store's CA"
            ))
        let tls = EngineEndpoint(host: "10.231.1.12", tls: TLSFiles(directory: "/c"), machineName: "web1")
        #expect(
            ErrorReport.line(EngineError.connectionRefused(tls))
                == "connection refused by 10.231.1.12:2376: no daemon listens there; check `swock-machine status web1` and the docker service on the host"
        )
        #expect(
            ErrorReport.line(EngineError.certificateExpired(tls, date: "2024-01-31", depth: 1))
                == "tls: the CA certificate in the chain of the daemon at 10.231.1.12:2376 expired on 2024-01-31; renew the CA, then run `swock-machine regenerate-certs web1`"
        )
        #expect(
            ErrorReport.line(SwarmError.alreadyInSwarm("w2", role: "worker"))
                == "w2 is already in a swarm (as a worker); run `swock-machine swarm leave w2` first")
        // No advice where there is none to give: the message alone.
        #expect(ErrorReport.line(StoreError.io(path: "/s", reason: "disk full")) == "store: /s: disk full")
    }

    /// The key passphrase comes from $SWOCK_SSH_KEY_PASSPHRASE; SSHKit used to name a flag that
    /// does not exist.
    @Test func anEncryptedKeyPointsAtTheVariableThatExists() {
        let e = SSHError.keyNotUsable(path: "/k", passphraseGiven: false)
        let line = ErrorReport.line(e)
        #expect(
            line
                == "ssh: cannot use private key /k: not a private key, or it is encrypted and no passphrase was given; give its passphrase in $SWOCK_SSH_KEY_PASSPHRASE"
        )
        #expect(!line.contains("--generic-ssh-key-passphrase"))
        #expect(
            ErrorReport.line(SSHError.keyNotUsable(path: "/k", passphraseGiven: true))
                == "ssh: cannot use private key /k: not a private key, or the passphrase is wrong")
    }

    /// A wrapped error keeps its cause as a value: the cause's advice comes first, then the
    /// wrapper's, as when each message carried its own.
    @Test func causesAreWalkedInnermostAdviceFirst() {
        let auth = SSHError.authenticationFailed(user: "u", host: "h", tried: ["publickey"], offered: ["publickey"], detail: nil)
        let p = ProvisionError(machine: "w", step: .connect, reason: "\(auth)", resumable: true, cause: auth)
        #expect(
            ErrorReport.line(p) == "create w: connect failed: ssh: authentication as u@h failed; tried: publickey; server offers: publickey"
                + "; pass a key the server accepts (--generic-ssh-key) or a password; fix the cause, then run `swock-machine provision w` to resume"
        )
        let hop = SSHError.viaJumpHost(hop: "bastion", auth)
        #expect(ErrorReport.line(hop).hasSuffix("; pass a key the server accepts (--generic-ssh-key) or a password"))
        #expect(errorChain(hop).count == 2)
        let sudo = ProvisionError(
            machine: "w", step: .checkRoot, reason: "x", resumable: false, cause: SSHError.sudoNeedsPassword(user: "u", host: "h"))
        #expect(
            ErrorReport.line(sudo).hasSuffix(
                "give it with --generic-sudo-password-env VAR or --generic-sudo-password-stdin, give the user passwordless sudo (NOPASSWD), or connect as root"
            ))
    }

    /// "--generic-ip-address is required" is worded once: create's own check and the request's
    /// check (reached by create -f and the library) give the same words.
    @Test func aMissingAddressIsWordedOnce() {
        let fromRequest = ProvisionError(
            machine: "w", step: .checkFlags, reason: CreateProblem.missingAddress.description,
            resumable: false, cause: CreateProblem.missingAddress)
        #expect(ErrorReport.line(fromRequest) == "create w: check flags failed: " + ErrorReport.text(.missingAddress))
        #expect(ErrorReport.text(.missingAddress).hasPrefix("--generic-ip-address is required"))
        // Below SwockCommands the words name the value, not the flag.
        #expect(!CreateProblem.missingAddress.description.contains("--"))
        #expect(ErrorReport.exitStatus(fromRequest) == 64)
    }

    @Test func aDriversFlagMistakeIsAUsageErrorWithItsHelp() {
        let e = DriverError.unknownFlag(driver: "qemu", flag: "--url", known: ["--qemu-cpus"])
        #expect(
            ErrorReport.line(e)
                == "--url is not a flag of the qemu driver; its flags are: --qemu-cpus; see `swock-machine create -d qemu --help`")
        #expect(ErrorReport.exitStatus(e) == 64)
        #expect(ErrorReport.exitStatus(DriverError.operationFailed(driver: "qemu", operation: "boot", detail: "x")) == 1)
    }

    /// Messages whose advice once lived in the layer below: the same line, worded here.
    @Test func lowerLayersAdviceIsWordedHere() {
        let plugin = PluginError.unknownFlag(plugin: "fixture", flag: "--bogus", known: ["--fixture-x"])
        #expect(!plugin.description.contains("swock-machine"))
        #expect(
            ErrorReport.line(plugin)
                == "--bogus is not a flag of the fixture driver; its flags are: --fixture-x; see `swock-machine create -d fixture --help`")
        #expect(ErrorReport.exitStatus(plugin) == 64)
        let socket = QemuError.socketPathTooLong(path: "/x/qmp.sock")
        #expect(ErrorReport.line(socket) == "the QMP socket path /x/qmp.sock is longer than 107 bytes; use a shorter --storage-path")
        #expect(ErrorReport.exitStatus(socket) == 1)
        let keeper = KeeperError.protocolViolation("no hello")
        #expect(
            ErrorReport.line(keeper) == "keeper: unexpected answer (no hello); `swock-machine keeper stop` ends a keeper of another version"
        )
        let invalid = SSHConfigFile.Invalid(file: "/c", line: 2, problem: "bad")
        #expect(invalid.description == "ssh config /c line 2: bad")
        #expect(ErrorReport.line(invalid) == "ssh config /c line 2: bad; fix the line or pass --ssh-config none")
        #expect(ErrorReport.exitStatus(invalid) == 64)
        let missing = SSHConfigFile.LoadError(path: "/c", exists: false)
        #expect(!missing.description.contains("--"))
        #expect(ErrorReport.line(missing) == "--ssh-config /c: no such file; give a readable file or --ssh-config none")
        let run = ScriptRun(exitStatus: 3, seconds: 1, finishedAt: .init(timeIntervalSince1970: 0), lastLines: ["boom"])
        let failed = ProvisionScriptFailed(machine: "sc1", script: "/s.sh", run: run)
        #expect(!failed.description.contains("swock-machine"))
        #expect(
            ErrorReport.line(failed)
                == "sc1: \(failed.summary); last lines: boom; the machine is usable: fix the script, then run `swock-machine provision --rerun-scripts sc1`"
        )
        #expect(ErrorReport.exitStatus(failed) == 1)
        let cleanup = Remover.RemoteCleanupFailed(machine: "m1", reason: "connection refused")
        #expect(
            ErrorReport.line(cleanup)
                == "rm m1: cannot clean the host: connection refused; the record is kept; fix the cause and retry, or run `swock-machine rm -f m1` to drop the record anyway"
        )
        let notConfigured = EngineLifecycle.NotConfigured(machine: "m1", host: "10.0.0.1")
        #expect(!notConfigured.description.contains("swock-machine provision"))
        #expect(
            ErrorReport.line(notConfigured).hasSuffix(
                "(an interrupted rm, or it was removed); run `swock-machine provision m1` to put it back"))
        let overlap = CertificateOverlap.Finding(machine: "web1", address: "10.231.1.11", others: ["db1"])
        #expect(
            ErrorReport.warning(overlap)
                == "Warning: the server certificate of web1 also covers 10.231.1.11, the address of db1: its key could pass for that machine; run `swock-machine regenerate-certs web1`"
        )
        #expect(
            ErrorReport.line(DockerContextError.invalidName("default", reason: "reserved"))
                == "no docker context for machine \"default\": reserved; point docker at it with `eval \"$(swock-machine env default)\"` instead"
        )
        #expect(
            ErrorReport.line(DockerContextError.notFound("web1"))
                == "docker context \"web1\" does not exist; create it with `swock-machine use web1 --docker-context`")
        #expect(
            ErrorReport.line(MachineFilter.Error.badTerm("color=red"))
                == "--filter \"color=red\": expected KEY=VALUE with KEY one of name, state, label, driver")
        #expect(ErrorReport.line(MachineFilter.Error.badRegex("[")) == "--filter name=[: not a valid regular expression")
        #expect(ErrorReport.exitStatus(MachineFilter.Error.badRegex("[")) == 64)
        let os = EngineInstallPlan.NotInstallable.unknownOS(id: "plan9", like: ["inferno"])
        #expect(
            ErrorReport.line(ProvisionError(machine: "m", step: .detectOS, reason: os.description, resumable: false, cause: os))
                == "create m: detect-os failed: cannot install Docker Engine on OS \"plan9\", ID_LIKE inferno: no known package manager for it; pass --engine-install-url URL (a get.docker.com-style script) or install the engine yourself and pass --engine-install none"
        )
        #expect(
            ErrorReport.line(EngineInstallPlan.NotInstallable.installDisabled)
                == "dockerd is not installed and --engine-install is none; install Docker Engine on the host first or use --engine-install auto"
        )
        let unsafe = ShellUnsafeEngineOption(argument: "--log-opt=tag=$(x)", initSystem: "sysvinit", file: "/etc/default/docker")
        #expect(!unsafe.description.contains("--engine-opt"))
        #expect(
            ErrorReport.line(ProvisionError(machine: "m", step: .detectOS, reason: unsafe.description, resumable: false, cause: unsafe))
                == "create m: detect-os failed: --engine-opt \"--log-opt=tag=$(x)\": on this sysvinit host dockerd's options pass through a shell (DOCKER_OPTS, read by /etc/default/docker), which would split or run it; use only letters, digits and . _ - / : = , @ + % in --engine-opt there (labels, registries and the storage driver go to daemon.json and may hold anything)"
        )
        #expect(
            ErrorReport.line(OfflineProblem.notProvisioned(machine: "web1", reason: "creating"))
                == "machine \"web1\" is not fully provisioned (creating); run `swock-machine provision web1`")
        #expect(
            ErrorReport.line(OfflineProblem.missingFile(machine: "web1", path: "machines/web1/ca.pem"))
                == "machines/web1/ca.pem is missing; run `swock-machine regenerate-certs web1`")
        #expect(
            ErrorReport.line(OfflineProblem.serverCertificateExpired(machine: "web1", day: "2027-01-15"))
                == "the server certificate of \"web1\" expired on 2027-01-15; run `swock-machine regenerate-certs web1`")
        #expect(
            ErrorReport.adviceSuffix(OfflineProblem.serverCertificateMissesAddress(machine: "web1", address: "10.0.0.9"))
                == "; run `swock-machine regenerate-certs web1`")
        #expect(ErrorReport.adviceSuffix(nil) == "")
        #expect(
            failed.code == "provision.script-failed" && plugin.code == "plugin.unknown-flag" && keeper.code == "keeper.protocol-violation")
    }

    /// The staging known_hosts file is renamed in the error's value (no text rewriting).
    @Test func aStagedKnownHostsFileIsRenamedInTheValue() {
        let changed = SSHError.hostKeyChanged(host: "h", expected: "SHA256:a", presented: "SHA256:b", knownHosts: "/s/.staging/known_hosts")
        #expect(
            changed.knownHosts("/s/.staging/known_hosts", shownAs: "--ssh-known-hosts /k")
                == .hostKeyChanged(host: "h", expected: "SHA256:a", presented: "SHA256:b", knownHosts: "--ssh-known-hosts /k"))
        let viaJump = SSHError.viaJumpHost(hop: "j", .hostKeyUnknown(host: "h", fingerprint: "SHA256:a", knownHosts: "/s/kh"))
        #expect(
            viaJump.knownHosts("/s/kh", shownAs: "known_hosts")
                == .viaJumpHost(hop: "j", .hostKeyUnknown(host: "h", fingerprint: "SHA256:a", knownHosts: "known_hosts")))
        // Another file, or another case mentioning the same text, is left as it is.
        #expect(changed.knownHosts("/other", shownAs: "x") == changed)
        let other = SSHError.connectFailed(host: "/s/kh", port: 22, reason: "/s/kh")
        #expect(other.knownHosts("/s/kh", shownAs: "x") == other)
    }

    @Test func aTunnelsNextStepIsWordedHere() {
        let direct = TunnelService.TunnelError(
            description: "w is reached directly (not through jump hosts): it needs no tunnel", machine: "w", kind: .direct(serving: true))
        #expect(
            ErrorReport.line(direct)
                == "w is reached directly (no --generic-ssh-proxy-jump): it needs no tunnel; point docker at it with `swock-machine env w`")
        let running = TunnelService.TunnelError(
            description: "the Engine API of w is already forwarded on 127.0.0.1:5000 (pid 7)", machine: "w", kind: .alreadyForwarded)
        #expect(
            ErrorReport.line(running)
                == "the Engine API of w is already forwarded on 127.0.0.1:5000 (pid 7); stop it with `swock-machine tunnel --stop w`")
    }

    @Test func exitStatusFromTheCode() {
        #expect(ErrorReport.exitStatus(UsageError("no command given")) == 64)
        #expect(ErrorReport.exitStatus(ProvisionError(machine: "w", step: .checkFlags, reason: "x", resumable: false)) == 64)
        #expect(
            ErrorReport.exitStatus(MachineSelector.Error.namesAndAll) == 64)
        #expect(ErrorReport.exitStatus(ProvisionError(machine: "w", step: .installEngine, reason: "x", resumable: true)) == 1)
        #expect(ErrorReport.exitStatus(MachineSelector.Error.globMatchesNothing("zz*")) == 1)
        // The selector's words are the command line's, made here.
        #expect(ErrorReport.line(MachineSelector.Error.namesAndAll) == "give machine names or --all, not both")
        #expect(
            ErrorReport.line(MachineSelector.Error.nothingSelected)
                == "no machines selected: name them (globs like 'web*' work), or use --all or --filter")
        #expect(
            ErrorReport.line(MachineSelector.Error.globMatchesNothing("zz*"))
                == "no machine matches \"zz*\"; `swock-machine ls` lists the machines")
        #expect(ErrorReport.line(MachineSelector.Error.emptyStore) == "no machines in the store; create one with `swock-machine create`")
        #expect(ErrorReport.line(MachineSelector.Error.filterMatchesNothing) == "no machine matches the selection (--filter)")
        #expect(ErrorReport.exitStatus(StoreError.notFound("w")) == 1)
        #expect(ErrorReport.exitStatus(UserFacingError("failed")) == 1)
        #expect(ErrorReport.exitStatus(SSHError.disconnected(host: "h")) == 1)
    }

    @Test func aBadSelectionIsAUsageError() throws {
        do {
            _ = try MachineSelector(patterns: ["a"], all: true)
            Issue.record("names and --all together were taken")
        } catch {
            #expect(ErrorReport.exitStatus(error) == 64)
        }
        do {
            _ = try MachineSelector(patterns: [], all: false)
            Issue.record("an empty selection was taken")
        } catch {
            #expect(ErrorReport.exitStatus(error) == 64)
        }
        do {
            _ = try MachineSelector(patterns: [], all: true, filters: ["nokey"])
            Issue.record("a bad filter was taken")
        } catch {
            #expect(ErrorReport.exitStatus(error) == 64)
        }
    }

    @Test func aFleetCommandSaysWhetherSomeOrAllFailed() {
        #expect(ErrorReport.fleetStatus(total: 3, failed: 0) == 0)
        #expect(ErrorReport.fleetStatus(total: 3, failed: 1) == 2)
        #expect(ErrorReport.fleetStatus(total: 3, failed: 2) == 2)
        #expect(ErrorReport.fleetStatus(total: 3, failed: 3) == 1)
        #expect(ErrorReport.fleetStatus(total: 1, failed: 1) == 1)
        let ok = HostOutcome(name: "a", result: .ok)
        let bad = HostOutcome(name: "b", result: .unreachable, error: "ssh: no")
        let skipped = HostOutcome.skipped("c")
        #expect(ErrorReport.fleetStatus([ok, bad, skipped]) == 2)
        #expect(ErrorReport.fleetStatus([bad, skipped]) == 1)
        #expect(ErrorReport.fleetStatus([ok]) == 0)
    }

    /// A fan-out's failure lines carry the advice of each machine's error value.
    @Test func fanOutLinesCarryAdvice() throws {
        let failure = try #require(
            FanOutFailure([
                HostOutcome(name: "w1", result: .ok),
                HostOutcome(name: "w2", result: .failed, error: "w2 is not in a swarm", failure: SwarmError.notInSwarm("w2")),
            ]))
        #expect(
            ErrorReport.lines(failure) == [
                "w2 is not in a swarm; start one with `swock-machine swarm init NAME`, or join it with `swock-machine swarm join --manager NAME w2`"
            ])
    }

    /// A fleet host's status line and its JSON `error`: the fleet run's own reasons (values below)
    /// are worded here, naming the flag that caused them, as they read before they were typed.
    @Test func fleetHostFailuresNameTheirFlagsHere() throws {
        #expect(ErrorReport.status(HostOutcome(name: "a", result: .ok, exitStatus: 0)) == nil)
        #expect(ErrorReport.status(HostOutcome(name: "a", result: .failed, exitStatus: 2)) == "exit status 2")
        #expect(ErrorReport.status(HostOutcome(name: "a", result: .failed, signal: "TERM")) == "killed by SIGTERM")
        #expect(ErrorReport.status(HostOutcome(name: "a", result: .unreachable, error: "ssh: no")) == "unreachable: ssh: no")
        let late = HostOutcome.timedOut("a", timeout: .seconds(10))
        #expect(ErrorReport.status(late) == "failed: timed out after 10 s (--timeout)")
        #expect(ErrorReport.error(late) == "timed out after 10 s (--timeout)")
        // A docker run killed at its deadline reads as the timeout, not as the signal.
        var killed = HostOutcome.finished(name: "d", exitStatus: nil, signal: "TERM", stdout: nil, stderr: nil, duration: .seconds(1))
        killed.failure = HostFailure.timedOut(after: .milliseconds(1500))
        #expect(ErrorReport.status(killed) == "failed: timed out after 1.5 s (--timeout)")
        let skipped = HostOutcome.skipped("s")
        #expect(ErrorReport.status(skipped) == "skipped (--fail-fast)")
        #expect(ErrorReport.error(skipped) == "not started: --fail-fast stopped the run after a failure")
        let lost = HostOutcome.finished(name: "l", exitStatus: nil, signal: nil, stdout: nil, stderr: nil, duration: .zero)
        #expect(ErrorReport.status(lost) == "failed: no exit status: the connection closed before the command finished")
        // --format json carries the same words.
        let json = try JSONSerialization.jsonObject(with: Data(late.jsonLine(errorText: ErrorReport.error(late)).utf8)) as? [String: Any]
        #expect(json?["error"] as? String == "timed out after 10 s (--timeout)")
        #expect(json?["result"] as? String == "failed")
        // An unreachable host's error value brings its advice to the status line.
        let refused = HostOutcome(
            name: "u", result: .unreachable,
            failure: SSHError.authenticationFailed(user: "root", host: "h", tried: ["publickey"], offered: [], detail: nil))
        #expect(ErrorReport.status(refused)?.hasPrefix("unreachable: ssh: ") == true)
        #expect(ErrorReport.adviceSuffix(refused.failure) == "; pass a key the server accepts (--generic-ssh-key) or a password")
    }

    /// One line per machine that failed, in order: a sentence about the machine (a
    /// `MachineSentence`, decided on its value) names it once; others get "NAME: ".
    @Test func fanOutLinesNameEachMachineOnce() throws {
        let failure = try #require(
            FanOutFailure([
                HostOutcome(name: "a", result: .ok),
                HostOutcome(name: "b", result: .failed, exitStatus: 2),
                HostOutcome(name: "c", result: .unreachable, error: "connection refused"),
                HostOutcome(name: "d", result: .failed, error: "wait-engine: the daemon did not answer"),
                HostOutcome(
                    name: "web3", result: .failed,
                    failure: SwarmError.joinFailed("web3", manager: "web1", address: "10.231.1.10:2377", reason: "timeout")),
                HostOutcome(name: "web", result: .failed, failure: SwarmError.notInSwarm("web3")),
                HostOutcome(name: "w4", result: .failed, failure: SwarmError.liveRestoreStaysOn("w4")),
                HostOutcome(name: "w5", result: .failed, failure: SwarmError.managerNotReady("w5", manager: "w1")),
                HostOutcome(name: "w6", result: .failed, error: "w6 is down"),
                .skipped("s"),
            ]))
        let lines = ErrorReport.lines(failure)
        #expect(lines.count == 9)
        #expect(
            Array(lines.prefix(3)) == [
                "b: exit status 2", "c: unreachable: connection refused", "d: wait-engine: the daemon did not answer",
            ])
        #expect(lines[3].hasPrefix("web3 could not join web1's swarm at 10.231.1.10:2377 (timeout)"))
        #expect(lines[4].hasPrefix("web: web3 is not in a swarm; start one with"))
        // Its text begins "w4: ": named once (the text was "w4: w4: ..." when decided on its words).
        #expect(lines[5].hasPrefix("w4: dockerd still has live-restore on"))
        #expect(lines[6] == "w5: not joined: its swarm manager w1 is not ready")
        // Text that merely begins with the name is no sentence about the machine.
        #expect(lines[7] == "w6: w6 is down")
        #expect(lines[8] == "s: skipped (--fail-fast)")
        #expect(SwarmError.managerNotReady("w5", manager: "w1").code == "swarm.manager-not-ready")
    }

    /// Export and import: the layer below says what is wrong; the way out, naming the flags and
    /// commands, is added here from the case.
    @Test func inventoryAdviceComesFromTheCase() {
        let cases: [(InventoryError, String)] = [
            (
                .notReady("web1"),
                "machine \"web1\" is not fully provisioned, so it cannot be exported; run `swock-machine provision web1` first"
            ),
            (
                .missingFile(machine: "web1", file: "cert.pem"),
                "machine \"web1\" has no cert.pem in the store; run `swock-machine regenerate-certs web1` (or provision) first"
            ),
            (
                .noCAKey(machine: "web1"),
                "--with-ca-key: the key of machine \"web1\"'s CA is not in this store (the store's CA was renewed since, or the machine was imported without it); export without --with-ca-key, or run `swock-machine regenerate-certs web1` first"
            ),
            (
                .encryptedNeedsPassphrase(file: "f"),
                "f is encrypted and no passphrase was given; give its passphrase with --passphrase-env VAR or --passphrase-stdin"
            ),
            (
                .extraSANs(machine: "m1", sans: ["victim.example"]),
                "machine \"m1\" in the archive asks for extra names in its server certificate (\"victim.example\"), which provision and regenerate-certs would sign; nothing was imported; check them, then import again with --accept-extra-sans"
            ),
            (
                .claimsStoreCA(machine: "m2", address: "10.231.1.99"),
                "machine \"m2\" in the archive claims this store's own CA, so provision and regenerate-certs would sign certificates for its address \"10.231.1.99\" (and its names) with that CA; nothing was imported; import again with --accept-store-ca only if the archive was exported from this store"
            ),
            (
                .notAnExport(file: "f", reason: "no manifest.json"),
                "f is not a swock-machine export (no manifest.json); give a file written by `swock-machine export`"
            ),
            (.damaged(file: "f", reason: "x is missing"), "f is damaged (x is missing); nothing was imported: export it again"),
            (
                .unknownRename("old", file: "f"),
                "--rename old=...: f holds no machine \"old\"; `--rename` takes OLD=NEW with OLD a machine in the archive"
            ),
            (.badRename("web1"), "--rename \"web1\": expected OLD=NEW, e.g. --rename web1=web1-copy"),
            (
                .clash("m1"),
                "machine \"m1\" already exists in this store, so nothing was imported; import it under another name with --rename m1=NEW"
            ),
            (
                .duplicateTarget("n"),
                "two machines of the archive would both be imported as \"n\"; give them different names with --rename"
            ),
            (
                .tooManyForDockerContext,
                "--docker-context exports one machine (a docker context holds one endpoint); name exactly one"
            ),
        ]
        for (error, line) in cases {
            #expect(ErrorReport.line(error) == line)
            // The layer below names no flag and no command.
            #expect(!error.description.contains("--") && !error.description.contains("swock-machine "), "\(error.description)")
        }
        #expect(ErrorReport.exitStatus(InventoryError.badRename("x")) == 64)
        #expect(ErrorReport.exitStatus(InventoryError.clash("x")) == 1)
    }
}
