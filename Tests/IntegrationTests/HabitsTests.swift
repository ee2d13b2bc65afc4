import FleetSupport
import Foundation
import Testing

/// Docker Machine habits on real hosts: a host alias from an OpenSSH client configuration, and
/// provision scripts (issue 23, items 7 and 8).
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct HabitsTests {
    static func scratch(_ tag: String) throws -> String {
        let dir = NSTemporaryDirectory() + "swock-\(tag)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `create --generic-ip-address ALIAS` takes HostName, User, IdentityFile and IdentitiesOnly
    /// from the alias's Host entry; the record keeps the resolved values, so a later change of the
    /// file changes nothing.
    @Test func createsThroughAnSSHConfigAlias() async throws {
        let host = try await Fleet.fresh("h-alias", variant: "docker")
        let dir = try Self.scratch("sshcfg")
        let cli = CLI()
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/config"
        try """
        Host h-alias-box
          HostName \(host.ip)
          User \(host.user)
          Port 22
          IdentityFile \(host.keyPath)
          IdentitiesOnly yes
        Host *
          User nobody-by-default
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try await cli.run(["create", "--ssh-config", config, "--generic-ip-address", "h-alias-box", "al1"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("\(host.user)@\(host.ip):22"), "\(r.stderrText)")
        let c = try cli.config("al1")
        let ssh = c["ssh"] as? [String: Any] ?? [:]
        #expect(c["address"] as? String == host.ip)
        #expect(ssh["user"] as? String == host.user && ssh["port"] as? Int == 22)
        #expect(ssh["keyPath"] as? String == host.keyPath && ssh["authMode"] as? String == "key")
        #expect(ssh["identitiesOnly"] as? Bool == true && ssh["sshConfigHost"] as? String == "h-alias-box")
        // The file changes (or goes): the machine is reached as recorded.
        try "Host h-alias-box\n  HostName 10.231.255.254\n  User nobody\n".write(toFile: config, atomically: true, encoding: .utf8)
        let who = try await cli.run(["ssh", "al1", "--", "id -un"])
        #expect(who.status == 0 && who.stdoutText == "\(host.user)\n", "\(who.all)")
        // --ssh-config none: the alias is a host name again (and cannot be resolved).
        let none = try await cli.run([
            "create", "--ssh-config", "none", "--generic-ip-address", "h-alias-box",
            "--generic-ssh-key", host.keyPath, "al2",
        ])
        #expect(none.status == 1, "\(none.all)")
        #expect(try await cli.run(["ls", "-q"]).stdoutText == "al1\n")
    }

    /// Provision scripts run as root after the engine answers, their output shown with the
    /// machine's name; a failing one leaves the machine usable and marked with its exit status
    /// and last lines; `provision` reruns them only with --rerun-scripts.
    @Test func provisionScriptsRunRecordAndRerun() async throws {
        let host = try await Fleet.fresh("h-script", variant: "docker")
        let dir = try Self.scratch("scripts")
        let cli = CLI()
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: dir) }
        try """
        #!/bin/sh
        set -e
        # MARKER-b7e1: this text must never be on a command line
        echo "hello from the script as $(id -un)"
        echo "script text on command lines: $(ps -eo args | grep -c '[M]ARKER-b7e1')"
        docker version --format '{{.Server.Version}}' > /root/swock-script-ran
        echo "a line on stderr" >&2
        """.write(toFile: dir + "/ok.sh", atomically: true, encoding: .utf8)
        try """
        #!/bin/sh
        echo "step one"
        echo "step two"
        echo "the package is not there" >&2
        exit 3
        """.write(toFile: dir + "/fail.sh", atomically: true, encoding: .utf8)

        let r = try await cli.create(
            "sc1", on: host, extra: ["--provision-script", dir + "/ok.sh", "--provision-script", dir + "/fail.sh"])
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderrText.contains("(sc1) hello from the script as root"), "\(r.stderrText)")
        #expect(r.stderrText.contains("(sc1) a line on stderr"), "\(r.stderrText)")
        #expect(r.stderrText.contains("(sc1) script text on command lines: 0"), "\(r.stderrText)")
        #expect(r.stderrText.contains("(sc1) the package is not there"), "\(r.stderrText)")
        #expect(
            r.stderrText.contains(
                "Error: sc1: provision script \(dir)/fail.sh failed (exit status 3); last lines: step one | step two | the package is not there; the machine is usable"
            ), "\(r.stderrText)")
        // The first script ran as root after the engine answered.
        let ran = try await Fleet.run("h-script", "cat /root/swock-script-ran")
        #expect(ran.status == 0 && !ran.stdoutText.isEmpty, "\(ran.all)")
        // The machine is usable and marked.
        #expect(try await cli.docker(["version", "--format", "{{.Server.Version}}"], machine: "sc1", host: host).status == 0)
        let ls = try await cli.run(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"])
        #expect(
            ls.stdoutText
                == "sc1 Running provision script \(dir)/fail.sh failed (exit status 3); run `swock-machine provision --rerun-scripts sc1`\n",
            "\(ls.all)")
        let c = try cli.config("sc1")
        let scripts = c["provisionScripts"] as? [[String: Any]] ?? []
        #expect(scripts.count == 2)
        let last = scripts.last?["lastRun"] as? [String: Any] ?? [:]
        #expect(last["exitStatus"] as? Int == 3)
        #expect(last["lastLines"] as? [String] == ["step one", "step two", "the package is not there"])
        #expect((c["provisioning"] as? [String: Any])?["phase"] as? String == "ready")
        // The store keeps a copy, 0600.
        let mode =
            try FileManager.default.attributesOfItem(atPath: cli.store + "/machines/sc1/provision-script-2")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // Fixed script; provision without --rerun-scripts does not run them.
        try "#!/bin/sh\necho fixed\n".write(toFile: dir + "/fail.sh", atomically: true, encoding: .utf8)
        #expect(try await Fleet.run("h-script", "rm /root/swock-script-ran").status == 0)
        let plain = try await cli.run(["provision", "sc1"])
        #expect(plain.status == 1, "\(plain.all)")
        #expect(!plain.stderrText.contains("hello from the script"), "\(plain.stderrText)")
        #expect(try await Fleet.run("h-script", "test -e /root/swock-script-ran").status == 1)
        // With it, both run again (the fixed one read from its path) and the mark goes.
        let again = try await cli.run(["provision", "--rerun-scripts", "sc1"])
        #expect(again.status == 0, "\(again.all)")
        #expect(
            again.stderrText.contains("(sc1) hello from the script as root") && again.stderrText.contains("(sc1) fixed"),
            "\(again.stderrText)")
        #expect(try await Fleet.run("h-script", "test -e /root/swock-script-ran").status == 0)
        let clean = try await cli.run(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"])
        #expect(clean.stdoutText == "sc1 Running \n", "\(clean.all)")
    }

    /// The same from a fleet file: `provision-scripts` per machine (or in defaults).
    @Test func fleetFileProvisionScripts() async throws {
        let host = try await Fleet.fresh("h-fscript", variant: "docker")
        let dir = try Self.scratch("fscripts")
        let cli = CLI()
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: dir) }
        try "#!/bin/sh\necho from-fleet > /root/fleet-script\necho fleet script done\n".write(
            toFile: dir + "/f.sh", atomically: true, encoding: .utf8)
        try """
        machines:
          - {name: fs1, address: \(host.ip), user: \(host.user), key: \(host.keyPath), provision-scripts: [\(dir)/f.sh]}
        """.write(toFile: dir + "/fleet.yaml", atomically: true, encoding: .utf8)
        let r = try await cli.run(["create", "-f", dir + "/fleet.yaml"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderrText.contains("(fs1) fleet script done"), "\(r.stderrText)")
        #expect(try await Fleet.run("h-fscript", "cat /root/fleet-script").stdoutText == "from-fleet\n")
    }
}
