import Testing

@testable import SwockSupport

@Suite struct ProcessMemoryTests {
    static let smaps = """
        5652a638a000-5652a836d000 r-xp 00000000 fe:00 1234     /opt/bin/swock-machine
        Size:              32652 kB
        Rss:               15692 kB
        Private_Clean:         0 kB
        Private_Dirty:     15692 kB
        Anonymous:             0 kB
        5652a836e000-5652a8444000 r--p 01fe3000 fe:00 1234     /opt/bin/swock-machine
        Size:                856 kB
        Anonymous:            12 kB
        5652a8444000-5652aa908000 rw-p 020b9000 fe:00 1234     /opt/bin/swock-machine
        Anonymous:          2204 kB
        7fa4f4844000-7fa4f499a000 r-xp 00028000 fe:00 99       /usr/lib/x86_64-linux-gnu/libc.so.6
        Anonymous:             0 kB
        7fa4f5000000-7fa4f5001000 r-xp 00000000 fe:00 1234     /opt/bin/swock-machine
        Anonymous:             4 kB
        7fa4ec000000-7fa4ec7e7000 rw-p 00000000 00:00 0
        Anonymous:          5708 kB
        """

    @Test func onlyOurUnchangedCode() {
        let r = ProcessMemory.droppableCode(smaps: Self.smaps, executable: "/opt/bin/swock-machine")
        // Not the read-only data, not the writable data, not libc's code, not a code mapping
        // with a page copied on write; dirty page-cache pages (a fresh build) do not matter.
        #expect(r == [0x5652_a638_a000..<0x5652_a836_d000])
    }

    @Test func aPathWithSpaces() {
        let smaps = "1000-3000 r-xp 00000000 fe:00 7     /opt/my tools/swock-machine\nAnonymous:             0 kB\n"
        #expect(ProcessMemory.droppableCode(smaps: smaps, executable: "/opt/my tools/swock-machine") == [0x1000..<0x3000])
        #expect(ProcessMemory.droppableCode(smaps: smaps, executable: "/opt/my").isEmpty)
    }
}
