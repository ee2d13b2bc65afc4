import FleetSupport
import Foundation
import SSHKit
import SwockSupport
import Testing

@testable import SwockEngine
@testable import SwockRemote
@testable import SwockStore

@Suite struct EngineInstallPlanTests {
    let debian = OSRelease(id: "debian", versionID: "12")

    @Test(arguments: [EngineSettings.InstallMethod.auto, .none])
    func dockerdPresentMeansAlreadyInstalled(method: EngineSettings.InstallMethod) throws {
        #expect(
            try EngineInstallPlan.plan(release: debian, family: .debian, dockerdPresent: true, method: method, installURL: "https://x")
                == .alreadyInstalled)
        #expect(
            try EngineInstallPlan.plan(release: nil, family: nil, dockerdPresent: true, method: method, installURL: nil)
                == .alreadyInstalled)
    }

    @Test func installNoneWithoutDockerdFails() {
        #expect(
            throws: EngineInstallPlan.NotInstallable.installDisabled
        ) {
            try EngineInstallPlan.plan(
                release: debian, family: .debian, dockerdPresent: false, method: .none, installURL: "https://get.docker.com")
        }
    }

    /// The plan runs engine-packages.sh; what that runs per family is `EnginePackagesScriptTests`.
    @Test(arguments: [
        (OSFamily.debian, true, ["install", "debian"]),
        (.rhel, true, ["install", "rhel", "dnf"]),
        (.rhel, false, ["install", "rhel", "yum"]),
        (.alpine, true, ["install", "alpine"]),
        (.suse, true, ["install", "suse"]),
        (.arch, true, ["install", "arch"]),
    ])
    func familyCommands(family: OSFamily, hasDnf: Bool, arguments: [String]) throws {
        let plan = try EngineInstallPlan.plan(
            release: OSRelease(id: "x"), family: family, dockerdPresent: false,
            method: .auto, installURL: nil, hasDnf: hasDnf)
        #expect(plan == .packageManager(family: family, command: Scripts.enginePackages.command(arguments)))
    }

    @Test func unknownOSNamesIDAndIDLikeAndFlags() throws {
        let e = #expect(throws: EngineInstallPlan.NotInstallable.self) {
            try EngineInstallPlan.plan(
                release: OSRelease(id: "plan9", idLike: ["inferno", "bell"]), family: nil,
                dockerdPresent: false, method: .auto, installURL: nil)
        }
        #expect(
            e?.description
                == "cannot install Docker Engine on OS \"plan9\", ID_LIKE inferno bell: no known package manager for it"
        )

        let noLike = #expect(throws: EngineInstallPlan.NotInstallable.self) {
            try EngineInstallPlan.plan(release: OSRelease(id: "plan9"), family: nil, dockerdPresent: false, method: .auto, installURL: nil)
        }
        #expect(noLike?.description.hasPrefix("cannot install Docker Engine on OS \"plan9\": no known package manager") == true)

        let noRelease = #expect(throws: EngineInstallPlan.NotInstallable.self) {
            try EngineInstallPlan.plan(release: nil, family: nil, dockerdPresent: false, method: .auto, installURL: nil)
        }
        #expect(noRelease?.description.contains("OS \"unknown (no /etc/os-release)\"") == true)
        #expect(noRelease?.description.contains("--") == false)
    }

    @Test func urlIsQuotedNeverBare() throws {
        let pwned = Pwned()
        let url = "https://get.example.com/i.sh?a='b'&c=$(touch \(pwned.path))&d=`id`"
        let plan = try EngineInstallPlan.plan(release: nil, family: nil, dockerdPresent: false, method: .auto, installURL: url)
        guard case .script(let u, let command) = plan else { Issue.record("not a script plan: \(plan)"); return }
        #expect(u == url)
        #expect(command == Scripts.installScript.command(url), "the URL is the script's one argument, quoted")
        #expect(!Scripts.installScript.text.contains("get.example.com"))
        #expect(command.components(separatedBy: ShellQuote.quote(url)).count == 2, "the quoted URL appears once, as the argument")
        // A URL also wins over the family.
        #expect(try EngineInstallPlan.plan(release: debian, family: .debian, dockerdPresent: false, method: .auto, installURL: url) == plan)
    }

    /// Runs the script plan with a fake curl / wget first on PATH: the URL arrives byte-exact,
    /// the downloaded script runs, and nothing in the URL executes.
    @Test(arguments: ["curl", "wget", "neither"])
    func scriptPlanRunsInSh(downloader: String) throws {
        let dir = try TempDir("install")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        let url = "https://get.example.com/a b?x='y'&z=$(touch \(pwned.path))&w=`touch \(pwned.path)`;touch \(pwned.path)"
        guard
            case .script(_, let command) = try EngineInstallPlan.plan(
                release: nil, family: nil, dockerdPresent: false, method: .auto, installURL: url)
        else {
            Issue.record("not a script plan"); return
        }
        let bin = dir.sub("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for tool in ["mktemp", "rm", "sh"] {
            let real = try #require(findExecutable(tool))
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + tool, withDestinationPath: real)
        }
        // The fake downloader records its argv and "downloads" a script that leaves a mark.
        let fake = """
            #!/bin/sh
            for a in "$@"; do printf '%s\\0' "$a"; done > "$ARGV_OUT"
            while [ $# -gt 0 ]; do
              case "$1" in -o|-qO) printf 'echo ran > "$INSTALLED"\\n' > "$2";; esac
              shift
            done
            """
        if downloader != "neither" { try dir.script("bin/\(downloader)", fake) }
        let argvOut = dir.sub("argv"), installed = dir.sub("installed")
        let r = try Subprocess.runBlocking(
            ["/bin/sh", "-c", command],
            environment: ["PATH": bin, "ARGV_OUT": argvOut, "INSTALLED": installed, "TMPDIR": dir.path])
        #expect(!pwned.happened)
        switch downloader {
        case "neither":
            #expect(r.status == 1)
            #expect(r.stderrText == "neither curl nor wget is installed")
        default:
            #expect(r.status == 0, "\(r.stderrText)")
            let argv = nulFields(try Data(contentsOf: URL(fileURLWithPath: argvOut)))
            if downloader == "curl" {
                #expect(argv.count == 4 && argv[0] == "-fsSL" && argv[1] == url && argv[2] == "-o")
            } else {
                #expect(argv.count == 3 && argv[0] == "-qO" && argv[2] == url)
            }
            #expect(FileManager.default.fileExists(atPath: installed), "the downloaded script ran")
            // The temp file is removed afterwards.
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("tmp.") }
            #expect(left.isEmpty)
        }
    }
}
