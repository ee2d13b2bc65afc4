/// Every deadline of create/provision, in one place, for a host of ordinary speed. A driver whose
/// hosts are slower (a VM on QEMU's TCG emulator) says so with `MachineDriver.pace`; the
/// deadlines actually used are these times that (`ProvisionLimits`).
public enum ProvisionTimeouts {
    /// Opening the SSH session (per hop), `Provisioner.connectTimeout`'s default.
    public static let connect: Duration = .seconds(10)
    /// wait-engine: dockerd answering over mutual TLS after configure-engine restarted it
    /// (`Provisioner.engineWait`'s default).
    public static let engineAnswers: Duration = .seconds(90)
    /// detect-os, and the probe after install-engine: one short script.
    public static let probe: Duration = .seconds(60)
    /// install-engine: a package manager, the install script, or finishing an interrupted install.
    public static let engineInstall: Duration = .seconds(1800)
    /// install-ssh-key: appending the generated key to authorized_keys.
    public static let authorizedKey: Duration = .seconds(30)
    /// configure-engine: the files in place and the one restart of dockerd.
    public static let configure: Duration = .seconds(180)
}

/// `ProvisionTimeouts` for a host of a given pace: each deadline times `pace` (1: the constants
/// as they are; a pace below 1, not finite or not a number counts as 1, so a driver can only
/// lengthen the deadlines).
public struct ProvisionLimits: Sendable, Equatable {
    public let pace: Double

    public init(pace: Double = 1) { self.pace = pace.isFinite && pace > 1 ? pace : 1 }

    /// `d` at this pace.
    public func scaled(_ d: Duration) -> Duration {
        if pace == 1 { return d }
        // whole multiples exactly (integer arithmetic); a fraction through Double
        if pace.rounded() == pace, pace < Double(Int32.max) { return d * Int(pace) }
        return d * pace
    }

    public var connect: Duration { scaled(ProvisionTimeouts.connect) }
    public var engineAnswers: Duration { scaled(ProvisionTimeouts.engineAnswers) }
    public var probe: Duration { scaled(ProvisionTimeouts.probe) }
    public var engineInstall: Duration { scaled(ProvisionTimeouts.engineInstall) }
    public var authorizedKey: Duration { scaled(ProvisionTimeouts.authorizedKey) }
    public var configure: Duration { scaled(ProvisionTimeouts.configure) }
}
