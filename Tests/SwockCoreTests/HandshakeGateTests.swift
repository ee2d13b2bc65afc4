import Foundation
import SwockSupport
import Testing

@testable import SwockFleet
@testable import SwockStore

/// `exec --handshakes N` bounds handshakes per sshd: each machine's own, or the first bastion
/// that machines behind it share.
struct HandshakeGateTests {
    @Test func theFirstServerIsTheMachineOrItsFirstBastion() {
        var direct = sampleConfig("a", address: "10.0.0.7")
        direct.ssh.port = 2222
        #expect(FleetExec.firstServer(direct) == "10.0.0.7:2222")
        var behind = sampleConfig("b", address: "192.168.5.9")
        behind.ssh.proxyJump = [JumpHost(host: "bastion.example", port: 22), JumpHost(host: "10.1.1.1", port: 2200)]
        #expect(FleetExec.firstServer(behind) == "bastion.example:22")
    }

    @Test func gatesAreOnePerKeyAndBoundEachKeyAlone() async {
        let gates = AsyncGates(2)
        #expect(gates.gate("x") === gates.gate("x"))
        #expect(gates.gate("x") !== gates.gate("y"))
        // Two permits taken on x: a third waits, y does not.
        await gates.gate("x").acquire()
        await gates.gate("x").acquire()
        let flags = Flags()
        let third = Task {
            await gates.gate("x").acquire(); flags.set("x")
        }
        let other = Task {
            await gates.gate("y").acquire(); flags.set("y")
        }
        await other.value
        try? await Task.sleep(for: .milliseconds(100))
        #expect(flags.value == ["y"])
        gates.gate("x").release()
        await third.value
        #expect(flags.value == ["x", "y"])
    }
}

final class Flags: @unchecked Sendable {
    private let lock = NSLock()
    private var set: Set<String> = []
    func set(_ s: String) { lock.withLock { _ = set.insert(s) } }
    var value: Set<String> { lock.withLock { set } }
}
