import Foundation

/// Test-only certificates made with the `openssl` CLI (ECDSA P-256) in a temp directory, once per
/// test process: our CA and another one, server certificates good and bad, client certificates.
struct TestPKI: Sendable {
    let dir: String

    static let shared: TestPKI = {
        do {
            let pki = try TestPKI.make()
            atexit { try? FileManager.default.removeItem(atPath: TestPKI.shared.dir) }
            return pki
        } catch {
            fatalError("cannot make test certificates: \(error)")
        }
    }()

    func path(_ name: String) -> String { dir + "/" + name }

    /// Our client files (ca.pem = our CA), optionally another client certificate.
    func clientFiles(cert: String = "client") -> (ca: String, cert: String, key: String) {
        (path("ca.pem"), path("\(cert).pem"), path("\(cert)-key.pem"))
    }

    static func make() throws -> TestPKI {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engineapi-pki-\(getpid())-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = """
            set -e
            cd "$1"
            ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
            mkca() {
              openssl req -x509 $ec -keyout $1-key.pem -out $1.pem -days 30 -subj /CN=$1 \\
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            }
            # leaf NAME CA EKU DAYS [SAN]
            leaf() {
              openssl req -new $ec -keyout $1-key.pem -out $1.csr -subj /CN=$1
              printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=%s\\n' "$3" > $1.ext
              if [ -n "$5" ]; then printf 'subjectAltName=%s\\n' "$5" >> $1.ext; fi
              openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2-key.pem -set_serial 0x$(openssl rand -hex 8) \\
                -days $4 -extfile $1.ext -out $1.pem
            }
            mkca ca
            mkca otherca
            leaf server ca serverAuth 30 IP:127.0.0.1,DNS:localhost
            leaf foreign otherca serverAuth 30 IP:127.0.0.1,DNS:localhost
            leaf wrongsan ca serverAuth 30 IP:10.231.9.9,DNS:elsewhere.test
            leaf expired ca serverAuth -1 IP:127.0.0.1,DNS:localhost
            leaf client ca clientAuth 30
            leaf otherclient otherca clientAuth 30
            openssl pkey -in client-key.pem -aes256 -passout pass:secret -out encrypted-key.pem
            chmod 600 *-key.pem
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script, "sh", dir]
        let log = dir + "/gen.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        guard p.terminationStatus == 0 else {
            throw TestSupportError("openssl failed: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
        return TestPKI(dir: dir)
    }
}

struct TestSupportError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
