import Foundation
import SwockSupport
import Testing
@testable import SwockCore

@Suite struct InitSystemTests {
    @Test func probedNames() {
        #expect(InitSystem(probed: "systemd") == .systemd)
        #expect(InitSystem(probed: "openrc") == .openrc)
        #expect(InitSystem(probed: "sysvinit") == .sysvinit)
        #expect(InitSystem(probed: "none") == .none)
        #expect(InitSystem(probed: "runit") == .none)
        #expect(InitSystem(probed: nil) == .systemd, "records from before the probe")
    }

    @Test func configFilesByInitSystem() {
        let launch = DaemonLaunch(dockerdPath: "/usr/bin/dockerd", arguments: ["-H", "tcp://0.0.0.0:2376"], environment: ["A=b"])
        #expect(InitSystem.systemd.configFile(launch)?.contains(#"ExecStart="/usr/bin/dockerd" "-H" "tcp://0.0.0.0:2376""#) == true)
        #expect(InitSystem.openrc.configPath == "/etc/conf.d/docker")
        #expect(InitSystem.sysvinit.configPath == "/etc/default/docker")
        #expect(InitSystem.openrc.configFile(launch)?.contains("DOCKER_OPTS='-H tcp://0.0.0.0:2376'") == true)
        #expect(InitSystem.none.configPath == nil && InitSystem.none.configFile(launch) == nil)
    }

    @Test func systemdUnconfigureRecreatesTheSocketBeforeStarting() {
        let c = InitSystem.systemd.unconfigure(dockerdPath: "/usr/sbin/dockerd")
        let reload = try! #require(c.range(of: "systemctl daemon-reload"))
        let stop = try! #require(c.range(of: "systemctl stop docker.service"))
        let socket = try! #require(c.range(of: "systemctl restart docker.socket"))
        let start = try! #require(c.range(of: "systemctl start docker.service"))
        #expect(reload.lowerBound < stop.lowerBound && stop.lowerBound < socket.lowerBound && socket.lowerBound < start.lowerBound)
        #expect(c.hasPrefix("rm -f /etc/systemd/system/docker.service.d/10-swock-machine.conf"))
    }

    @Test func noInitStopIsTheOnePidFileLoop() {
        let launch = DaemonLaunch(dockerdPath: "/d", arguments: [], environment: [])
        #expect(InitSystem.none.command(.stop, launch) == InitSystem.stopDetached)
        #expect(InitSystem.none.command(.restart, launch).hasPrefix(InitSystem.stopDetached))
        #expect(InitSystem.none.unconfigure(dockerdPath: "/d").hasPrefix(InitSystem.stopDetached))
    }

    /// The unix-socket wait, run by sh with a stand-in `docker` first on PATH.
    @Test(arguments: [(0, true), (1, false)])
    func unixSocketWait(dockerExit: Int, answers: Bool) throws {
        let dir = NSTemporaryDirectory() + "swock-initsys-\(getpid())-\(dockerExit)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "#!/bin/sh\nexit \(dockerExit)\n".write(toFile: dir + "/docker", atomically: true, encoding: .utf8)
        chmod(dir + "/docker", 0o755)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", InitSystem.unixSocketAnswers(within: 1)]
        p.environment = ["PATH": dir + ":/usr/bin:/bin"]
        try p.run()
        p.waitUntilExit()
        #expect((p.terminationStatus == 0) == answers)
    }
}
