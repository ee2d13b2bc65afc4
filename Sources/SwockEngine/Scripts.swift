import SwockSupport

/// The shell this target runs on hosts: Scripts/*.sh, embedded at build time (`RemoteScript`).
enum Scripts {
    static let systemd = RemoteScript("systemd", PackageResources.systemd_sh)
    /// OpenRC's and sysvinit's (`InitSystem.scriptCommand`: the init system is its first argument).
    static let service = RemoteScript("service", PackageResources.service_sh)
    static let noInit = RemoteScript("no-init", PackageResources.no_init_sh)
    static let ownFiles = RemoteScript("own-files", PackageResources.own_files_sh)
    static let unixSocketWait = RemoteScript("unix-socket-wait", PackageResources.unix_socket_wait_sh)
    static let daemonJSON = RemoteScript("daemon-json", PackageResources.daemon_json_sh)
    static let enginePackages = RemoteScript("engine-packages", PackageResources.engine_packages_sh)
    static let installScript = RemoteScript("install-script", PackageResources.install_script_sh)
    static let engineBundle = RemoteScript("engine-bundle", PackageResources.engine_bundle_sh)
}
