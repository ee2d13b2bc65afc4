import Testing

@testable import SwockEngine
@testable import SwockStore

@Suite struct DockerdArgumentsTests {
    @Test func fullOrderAndContent() {
        let engine = EngineSettings(
            port: 2999, options: ["dns=1.1.1.1", "--debug", "log-level=warn"],
            labels: ["env=prod", "tier=web"], storageDriver: "overlay2",
            registryMirrors: ["https://m1.example", "https://m2.example"],
            insecureRegistries: ["reg.local:5000"])
        let args = EngineConfigRenderer.dockerdArguments(
            engine: engine, machineLabels: ["zone": "b", "app": "x y", "m": "1"],
            containerdSocket: "/run/containerd/containerd.sock")
        #expect(
            args == [
                "-H", "unix:///var/run/docker.sock",
                "-H", "tcp://0.0.0.0:2999",
                "--tlsverify",
                "--tlscacert=/etc/docker/swock/ca.pem",
                "--tlscert=/etc/docker/swock/server.pem",
                "--tlskey=/etc/docker/swock/server-key.pem",
                "--containerd=/run/containerd/containerd.sock",
                "--storage-driver=overlay2",
                "--label=env=prod", "--label=tier=web",
                "--label=app=x y", "--label=m=1", "--label=zone=b",
                "--registry-mirror=https://m1.example", "--registry-mirror=https://m2.example",
                "--insecure-registry=reg.local:5000",
                "--dns=1.1.1.1", "--debug", "--log-level=warn",
            ])
    }

    @Test func minimal() {
        let args = EngineConfigRenderer.dockerdArguments(
            engine: EngineSettings(storageDriver: ""), machineLabels: [:],
            containerdSocket: nil)
        #expect(
            args == [
                "-H", "unix:///var/run/docker.sock", "-H", "tcp://0.0.0.0:2376", "--tlsverify",
                "--tlscacert=/etc/docker/swock/ca.pem", "--tlscert=/etc/docker/swock/server.pem",
                "--tlskey=/etc/docker/swock/server-key.pem",
            ])
    }

    @Test(arguments: [
        ("dns=1.1.1.1", "--dns=1.1.1.1"), ("--debug", "--debug"), ("debug", "--debug"),
        ("log-opt=max-size=10m", "--log-opt=max-size=10m"), ("--mtu=1400", "--mtu=1400"),
    ])
    func engineOpt(opt: String, flag: String) {
        #expect(EngineConfigRenderer.engineOptFlag(opt) == flag)
    }
}

@Suite struct SystemdQuoteTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        ("", #""""#),
        ("two words", #""two words""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"back\slash"#, #""back\\slash""#),
        ("$HOME ${X} $$", #""$$HOME $${X} $$$$""#),
        ("100% %n %%", #""100%% %%n %%%%""#),
        ("a\nb", #""a\nb""#),
        ("a\tb", #""a\tb""#),
        ("a\rb", #""a\rb""#),
        ("\u{1}\u{1b}\u{7f}\u{1f}", #""\x01\x1b\x7f\x1f""#),
        ("it's `x`;", #""it's `x`;""#),
        ("é✓", #""é✓""#),
    ])
    func quoting(input: String, expected: String) {
        #expect(EngineConfigRenderer.systemdQuote(input) == expected)
    }

    @Test func environmentKeepsSingleDollar() {
        // systemd does no $ expansion in Environment=, so `$$` there would stay two dollars.
        #expect(EngineConfigRenderer.systemdEnvironmentQuote("A=$x %h \"q\"\n") == #""A=$x %%h \"q\"\n""#)
    }

    @Test func unitLayout() {
        let unit = EngineConfigRenderer.systemdUnit(
            dockerdPath: "/usr/sbin/dockerd", arguments: ["-H", "tcp://0.0.0.0:2376", "--label=a b"],
            environment: ["HTTP_PROXY=http://p:3128", "NO_PROXY=$x"])
        #expect(
            unit == """
                # Written by swock-machine; removed by `swock-machine rm`.
                [Service]
                Environment="HTTP_PROXY=http://p:3128"
                Environment="NO_PROXY=$x"
                ExecStart=
                ExecStart="/usr/sbin/dockerd" "-H" "tcp://0.0.0.0:2376" "--label=a b"

                """)
        #expect(InitSystem.systemd.configPath(serviceScript: nil) == "/etc/systemd/system/docker.service.d/10-swock-machine.conf")
    }

    @Test func unitWithoutEnvironment() {
        let unit = EngineConfigRenderer.systemdUnit(dockerdPath: "/usr/bin/dockerd", arguments: [], environment: [])
        let lines = unit.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines == [
                "# Written by swock-machine; removed by `swock-machine rm`.", "[Service]", "ExecStart=", #"ExecStart="/usr/bin/dockerd""#,
                "",
            ])
    }
}
