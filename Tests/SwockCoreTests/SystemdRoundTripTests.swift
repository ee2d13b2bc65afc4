import FleetSupport
import Foundation
import Testing

@testable import SwockEngine

/// systemd itself parses the rendered drop-in (`systemd-analyze verify`, whose debug log dumps the
/// parsed unit): every hostile argument and environment value must come out byte-exact.
@Suite struct SystemdRoundTripTests {
    @Test func systemdParsesHostileValuesByteExact() throws {
        guard let analyze = findExecutable("systemd-analyze") else {
            print("SKIP systemd round trip: systemd-analyze is not installed")
            return
        }
        let dir = try TempDir("systemd")
        defer { dir.remove() }
        let pwned = Pwned()
        defer { pwned.cleanup() }
        // Executable path with a space and a %: both must survive.
        let dockerd = try dir.script("bin dir/dockerd%x", "#!/bin/sh\nexit 0\n")
        let args = pwned.hostileWords + ["\u{1}ctl\u{7f}", "cr\rlf", ";", "\\;", "$$", "%%", "${HOME}$(id)", "=", "-H", "fd://"]
        let env = ["SWOCK_A=x y$z%h", "SWOCK_B=q\"r\\s\nt\u{1}u'v`w", "SWOCK_C=", "SWOCK_D=é ✓", "SWOCK_E=$(touch \(pwned.path))"]

        let unitDir = dir.sub("units")
        try FileManager.default.createDirectory(atPath: unitDir + "/swocktest.service.d", withIntermediateDirectories: true)
        try "[Unit]\nDescription=stock\n[Service]\nExecStart=/bin/false -H fd://\n".write(
            toFile: unitDir + "/swocktest.service", atomically: true, encoding: .utf8)
        let dropIn = EngineConfigRenderer.systemdUnit(dockerdPath: dockerd, arguments: args, environment: env)
        try dropIn.write(toFile: unitDir + "/swocktest.service.d/10-swock-machine.conf", atomically: true, encoding: .utf8)

        // Plain verify first: does this systemd-analyze work here at all?
        let plain = try Subprocess.runBlocking([analyze, "verify", unitDir + "/swocktest.service"], currentDirectory: unitDir)
        if plain.stderrText.contains("Failed to") && !plain.stderrText.contains("10-swock-machine.conf") {
            print("SKIP systemd round trip: systemd-analyze verify cannot run here: \(plain.stderrText)")
            return
        }
        #expect(plain.status == 0, "\(plain.stderrText)")
        #expect(!plain.stderrText.contains("10-swock-machine.conf:"), "systemd complained: \(plain.stderrText)")

        var environment = ProcessInfo.processInfo.environment
        environment["SYSTEMD_LOG_LEVEL"] = "debug"
        environment["SYSTEMD_LOG_COLOR"] = "0"
        let r = try Subprocess.runBlocking(
            [analyze, "verify", unitDir + "/swocktest.service"], environment: environment, currentDirectory: unitDir)
        let dump = r.stdout + r.stderr
        guard let text = String(data: dump, encoding: .utf8), text.contains("-> ExecStart:") else {
            print("SKIP systemd round trip: this systemd-analyze prints no unit dump at debug level")
            return
        }
        #expect(text.contains("10-swock-machine.conf"), "the drop-in was loaded")

        // ExecStart: exactly one command (the empty ExecStart= reset the stock one).
        let commandLines = text.components(separatedBy: "\n").filter { $0.contains("Command Line: ") }
        #expect(commandLines.count == 1, "\(commandLines)")
        let line = try #require(commandLines.first)
        let dumped = try #require(Self.decodeCommandLine(String(line[line.range(of: "Command Line: ")!.upperBound...])))
        // systemd keeps `$$` in argv and turns it into `$` at exec time; a lone `$` would expand.
        let atExec = dumped.map(Self.execTimeDollars)
        #expect(atExec.count == args.count + 1)
        #expect(atExec.first == dockerd)
        for (i, a) in args.enumerated() where i + 1 < atExec.count {
            #expect(
                atExec[i + 1] == a, "argument \(i): \(a.debugDescription) arrived as \(String(describing: atExec[i + 1]?.debugDescription))"
            )
        }

        // Environment: dumped raw, one "Environment: K=V" per assignment.
        for e in env {
            #expect(text.contains("\tEnvironment: \(e)\n"), "\(e.debugDescription) did not arrive byte-exact")
        }
        #expect(!pwned.happened)
    }

    /// `$$` -> `$` as systemd does when it execs; nil when a lone `$` (an expansion) is left.
    static func execTimeDollars(_ s: String) -> String? {
        var out = "", it = s.makeIterator()
        while let c = it.next() {
            if c == "$" {
                guard it.next() == "$" else { return nil }
            }
            out.append(c)
        }
        return out
    }

    /// Decodes systemd's dump of a command line (words shell-quoted, C escapes inside quotes).
    static func decodeCommandLine(_ s: String) -> [String]? {
        let b = Array(s.utf8)
        var words: [String] = []
        var i = 0
        func octal(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x37 }
        while i < b.count {
            if b[i] == 0x20 { i += 1; continue }
            var w: [UInt8] = []
            if b[i] == 0x22 {
                i += 1
                while i < b.count, b[i] != 0x22 {
                    if b[i] == 0x5c, i + 1 < b.count {
                        i += 1
                        switch b[i] {
                        case UInt8(ascii: "n"): w.append(0x0a)
                        case UInt8(ascii: "t"): w.append(0x09)
                        case UInt8(ascii: "r"): w.append(0x0d)
                        case UInt8(ascii: "a"): w.append(0x07)
                        case UInt8(ascii: "b"): w.append(0x08)
                        case UInt8(ascii: "f"): w.append(0x0c)
                        case UInt8(ascii: "v"): w.append(0x0b)
                        case UInt8(ascii: "x"):
                            guard i + 2 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) else {
                                return nil
                            }
                            w.append(v); i += 2
                        case let c where octal(c):
                            var v = 0, n = 0
                            while n < 3, i < b.count, octal(b[i]) { v = v * 8 + Int(b[i] - 0x30); i += 1; n += 1 }
                            w.append(UInt8(v)); i -= 1
                        default: w.append(b[i])
                        }
                    } else {
                        w.append(b[i])
                    }
                    i += 1
                }
                guard i < b.count else { return nil }
                i += 1
            } else {
                while i < b.count, b[i] != 0x20 { w.append(b[i]); i += 1 }
            }
            words.append(String(decoding: w, as: UTF8.self))
        }
        return words
    }
}
