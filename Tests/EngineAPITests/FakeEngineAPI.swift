import Foundation

/// Files for `openssl s_server -HTTP`: each holds a complete HTTP response, named by request path.
enum FakeEngineAPI {
    static let version =
        #"{"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0-test"}"#
    static let info =
        #"{"ID":"X","Name":"fake1","ServerVersion":"20.10.24+dfsg1","Containers":2,"ContainersRunning":1,"ContainersPaused":0,"ContainersStopped":1,"Images":1,"Labels":["role=test"]}"#
    static let containers =
        #"[{"Id":"abc123","Names":["/web"],"Image":"busybox:local","State":"running","Status":"Up 5 minutes","Labels":{}},{"Id":"def456","Names":["/old"],"Image":"busybox:local","State":"exited","Status":"Exited (0) 2 hours ago","Labels":null}]"#

    /// Makes the directory; returns its path.
    static func make() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fake-engine-\(UUID().uuidString.prefix(8))").path
        func put(_ path: String, _ response: String) throws {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(response.utf8).write(to: URL(fileURLWithPath: full))
        }
        try put(
            "_ping", "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOSType: linux\r\nDocker-Experimental: false\r\nContent-Length: 2\r\n\r\nOK")
        try put(
            "version",
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(version, size: 40))
        try put("v1.41/info", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(info.utf8.count)\r\n\r\n" + info)
        try put("v1.41/containers/json?all=1", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(containers, size: 64))
        let failure = #"{"message":"daemon is shutting down"}"#
        try put(
            "v1.40/info",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: \(failure.utf8.count)\r\n\r\n"
                + failure)
        return root
    }

    static func chunked(_ text: String, size: Int) -> String {
        var out = ""
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let piece = bytes.prefix(size)
            bytes = bytes.dropFirst(piece.count)
            out += String(piece.count, radix: 16) + "\r\n" + String(decoding: piece, as: UTF8.self) + "\r\n"
        }
        return out + "0\r\n\r\n"
    }
}
