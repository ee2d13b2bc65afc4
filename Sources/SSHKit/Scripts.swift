import SwockSupport

/// The shell this target runs on hosts: Scripts/*.sh, embedded at build time (`RemoteScript`).
enum Scripts {
    static let rootAccess = RemoteScript("root-access", PackageResources.root_access_sh)
    static let installFiles = RemoteScript("install-files", PackageResources.install_files_sh)
    static let installStaged = RemoteScript("install-staged", PackageResources.install_staged_sh)
}
