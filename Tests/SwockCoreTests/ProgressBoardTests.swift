import SwockRuntime
import Testing

@Suite struct ProgressBoardTests {
    func board() -> ProgressBoard {
        var b = ProgressBoard(names: ["web1", "web2", "db-primary"], started: 0)
        b.step(0, "install-engine", at: 1)
        b.step(1, "connect", at: 1)
        b.finish(1, ok: true, detail: "ready", at: 4.25)
        return b
    }

    @Test func oneLinePerMachineAndASummary() {
        let lines = board().render(now: 5, width: 60, frame: 0)
        #expect(
            lines == [
                "⠋ web1        install-engine                            4.0s",
                "✔ web2        ready                                     3.2s",
                "· db-primary  waiting",
                "1/3 done: 1 ok, 0 failed · 1 running · 1 waiting · 5.0s",
            ])
    }

    @Test func theSpinnerTurnsWithTheFrame() {
        let b = board()
        #expect(b.render(now: 5, width: 60, frame: 1)[0].hasPrefix("⠙ web1"))
        #expect(b.render(now: 5, width: 60, frame: 10)[0].hasPrefix("⠋ web1"))
        #expect(b.render(now: 5, width: 60, frame: -1)[0].hasPrefix("⠏ web1"))
    }

    /// A long single step says so, with the step's own time, instead of going silent.
    @Test func aLongStepSaysStillWaiting() {
        var b = board()
        b.step(0, "wait-engine", at: 20)
        #expect(b.render(now: 29.9, width: 80, frame: 0)[0].contains("wait-engine  "))
        let line = b.render(now: 95, width: 80, frame: 0)[0]
        #expect(line == "⠋ web1        wait-engine: still waiting (1m15s)                           1m34s")
    }

    @Test func finishedMachinesCollapseToAMarkAndDuration() {
        var b = board()
        b.finish(0, ok: false, detail: "install-engine: apt-get failed\nsecond line", at: 7)
        b.step(2, "connect", at: 7)
        b.finish(2, ok: true, detail: "ready (resumed)", at: 8)
        #expect(b.isFinished)
        #expect(
            b.render(now: 8, width: 70, frame: 3) == [
                "✘ web1        install-engine: apt-get failed second line          6.0s",
                "✔ web2        ready                                               3.2s",
                "✔ db-primary  ready (resumed)                                     1.0s",
                "3/3 done: 2 ok, 1 failed · 8.0s",
            ])
    }

    /// No line is wider than the terminal: the step text is cut first, then the name.
    @Test(arguments: [10, 20, 30, 44])
    func narrowTerminals(width: Int) {
        var b = board()
        b.step(0, "install-engine", at: 1)
        b.step(0, "configure-engine", at: 30)
        for line in b.render(now: 65, width: width, frame: 2) {
            #expect(line.count <= width, "\(line)")
        }
        let narrow = b.render(now: 65, width: 30, frame: 2)
        #expect(narrow[0] == "⠹ web1        configure… 1m04s")
        #expect(narrow[3] == "1/3 done: 1 ok, 0 failed · 1 …")
    }

    @Test func eventsAfterTheEndAndUnknownRowsAreIgnored() {
        var b = board()
        b.step(1, "connect", at: 9)
        b.step(7, "connect", at: 9)
        b.finish(-1, ok: true, detail: "x", at: 9)
        #expect(b.rows[1].state == .done(ok: true, detail: "ready", seconds: 3.25))
    }

    /// Taller than the terminal: running machines first, then failed, waiting, finished; a line
    /// counts the rest; never more lines than asked.
    @Test func aShortTerminalShowsTheRunningOnesAndCountsTheRest() {
        var b = ProgressBoard(names: (1...8).map { "m\($0)" }, started: 0)
        for i in 0..<8 { b.step(i, "exec", at: 0) }
        for i in [0, 1, 2, 4] { b.finish(i, ok: true, detail: "ok", at: 1) }
        b.finish(5, ok: false, detail: "exit status 1", at: 1)
        let lines = b.render(now: 2, width: 40, frame: 0, height: 6)
        #expect(lines.count == 6)
        #expect(lines.map { String($0.prefix(4)) } == ["⠋ m4", "✘ m6", "⠋ m7", "⠋ m8", "… 4 ", "5/8 "])
        #expect(lines[4] == "… 4 more (4 done, 0 not)")
        #expect(b.render(now: 2, width: 40, frame: 0, height: 9).count == 9)
        #expect(b.render(now: 2, width: 40, frame: 0, height: 8).count == 8)
    }

    @Test func durations() {
        #expect(ProgressBoard.duration(0.04) == "0.0s")
        #expect(ProgressBoard.duration(59.94) == "59.9s")
        #expect(ProgressBoard.duration(65) == "1m05s")
        #expect(ProgressBoard.duration(3725) == "1h02m")
        #expect(ProgressBoard.fit("abcdef", width: 4) == "abc…")
        #expect(ProgressBoard.fit("abc", width: 4) == "abc")
    }
}
