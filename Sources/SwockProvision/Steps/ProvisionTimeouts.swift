/// Every deadline of create/provision, in one place.
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
