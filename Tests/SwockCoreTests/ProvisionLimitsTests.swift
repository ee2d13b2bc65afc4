import Foundation
import SwockProvision
import SwockStore
import Testing

@testable import SwockDrivers

/// A driver says how slow its hosts are (`MachineDriver.pace`); provisioning's and the
/// lifecycle's deadlines are `ProvisionTimeouts` times that, in one place (`ProvisionLimits`).
struct ProvisionLimitsTests {
    @Test func eachDeadlineIsTheNamedConstantTimesThePace() {
        let ordinary = ProvisionLimits()
        #expect(ordinary.pace == 1)
        #expect(ordinary.configure == ProvisionTimeouts.configure && ordinary.engineAnswers == ProvisionTimeouts.engineAnswers)
        #expect(ordinary.connect == ProvisionTimeouts.connect && ordinary.probe == ProvisionTimeouts.probe)
        #expect(ordinary.engineInstall == ProvisionTimeouts.engineInstall && ordinary.authorizedKey == ProvisionTimeouts.authorizedKey)

        let slow = ProvisionLimits(pace: 10)
        #expect(slow.configure == .seconds(1800))
        #expect(slow.engineAnswers == .seconds(900))
        #expect(slow.connect == .seconds(100))
        #expect(slow.probe == .seconds(600))
        #expect(slow.authorizedKey == .seconds(300))
        #expect(slow.engineInstall == .seconds(18000))
        #expect(ProvisionLimits(pace: 3).scaled(.seconds(60)) == .seconds(180))
        #expect(ProvisionLimits(pace: 2.5).scaled(.seconds(60)) > .seconds(149))

        // A driver can only lengthen them: below 1, infinite or NaN counts as 1.
        for odd in [0, 0.5, -3, .infinity, .nan] { #expect(ProvisionLimits(pace: odd).pace == 1, "\(odd)") }
    }

    @Test func aProvisionerTakesTheDriversPace() {
        let store = Store(root: NSTemporaryDirectory() + "limits-" + UUID().uuidString.prefix(8))
        let p = Provisioner(store: store, progress: Scripted.Progress())
        #expect(p.limits == ProvisionLimits())
        let slow = p.paced(QemuDriver.pace(accelerator: "tcg", environment: [:]))
        #expect(slow.limits.configure == ProvisionTimeouts.configure * Int(QemuDriver.tcgPace))
        #expect(slow.limits.scaled(slow.engineWait) == ProvisionTimeouts.engineAnswers * Int(QemuDriver.tcgPace))
        // the settings a caller gave (connectTimeout, engineWait) are kept, and paced where used
        #expect(slow.connectTimeout == p.connectTimeout && slow.engineWait == p.engineWait)
    }

    @Test func onlyAnEmulatedVMIsSlow() throws {
        #expect(QemuDriver.pace(accelerator: "kvm", environment: [:]) == 1)
        #expect(QemuDriver.pace(accelerator: "tcg", environment: [:]) == QemuDriver.tcgPace)
        #expect(QemuDriver.tcgPace > 1)
        // SWOCK_QEMU_PACE overrides it; a value that is not a number of 1 or more is ignored.
        #expect(QemuDriver.pace(accelerator: "kvm", environment: ["SWOCK_QEMU_PACE": "4"]) == 4)
        #expect(QemuDriver.pace(accelerator: "tcg", environment: ["SWOCK_QEMU_PACE": "0.1"]) == QemuDriver.tcgPace)
        #expect(QemuDriver.pace(accelerator: "tcg", environment: ["SWOCK_QEMU_PACE": "fast"]) == QemuDriver.tcgPace)
        // Every other built-in driver: hosts of ordinary speed.
        let config = MachineConfig(
            name: "box", driver: "generic", address: "10.231.0.9",
            ssh: SSHSettings(user: "root", port: 22, authMode: .key, keyPath: nil, knownHostsPath: "k"),
            engine: EngineSettings(port: 2376), tls: TLSSettings(keyType: "ecdsa-p256"))
        let generic = try DriverRegistry.standard.resolve(config, store: Store(root: "/nonexistent"))
        #expect(generic.pace == 1)
    }
}
