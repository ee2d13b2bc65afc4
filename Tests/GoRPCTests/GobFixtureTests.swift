import Foundation
import Testing

@testable import GoRPC
@testable import SwockDrivers

/// The gob codec and net/rpc framing on bytes Go itself wrote: Tests/Fixtures/gob/*.hex, recorded
/// by Tests/Fixtures/gob/record.go (go 1.19, apt's golang-go), each in a fresh Go process.
@Suite struct GobFixtureTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        let text = try String(contentsOf: url.appendingPathComponent("Fixtures/gob/\(name).hex"), encoding: .utf8)
        let hex = Array(text.filter { !$0.isWhitespace }.utf8)
        var out: [UInt8] = []
        var i = 0
        while i + 1 < hex.count {
            out.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16)!)
            i += 2
        }
        return out
    }

    static func decodeAll(_ bytes: [UInt8]) throws -> [(GobType, GobValue)] {
        let d = GobDecoder(bytes: bytes)
        var out: [(GobType, GobValue)] = []
        while let v = try d.decode() { out.append(v) }
        return out
    }

    static let svc = "RPCServerDriver."

    /// A Request header as decoded (gob leaves a zero Seq out).
    static func request(_ method: String, _ seq: UInt64) -> GobValue {
        seq == 0
            ? .structure(["ServiceMethod": .string(svc + method)])
            : .structure(["ServiceMethod": .string(svc + method), "Seq": .uint(seq)])
    }

    /// The ten calls record.go's client-session makes, as PluginSession makes them.
    static let sessionCalls: [(String, (GobType, GobValue))] = [
        ("GetVersion", (GoRPCTypes.empty, GoRPCTypes.emptyValue)),
        ("SetConfigRaw", (.bytes, .bytes(Array(#"{"MachineName":"p-m1","StorePath":"/s"}"#.utf8)))),
        ("GetCreateFlags", (GoRPCTypes.empty, GoRPCTypes.emptyValue)),
        ("SetConfigFromFlags", RPCFlags.argument(["generic-ip-address": .string("10.231.0.5")])),
        ("SetConfigFromFlags", RPCFlags.argument(["generic-ssh-port": .int(22)])),
        ("SetConfigFromFlags", RPCFlags.argument(["engine-opt": .strings(["a=1", "b=2"])])),
        ("SetConfigFromFlags", RPCFlags.argument(["swarm": .bool(true)])),
        ("SetConfigFromFlags", RPCFlags.argument(["engine-label": .strings([])])),
        ("Heartbeat", (GoRPCTypes.empty, GoRPCTypes.emptyValue)),
        ("Close", (GoRPCTypes.empty, GoRPCTypes.emptyValue)),
    ]

    @Test func aCallEncodesAsGoDoes() throws {
        let e = GobEncoder()
        var bytes = try e.encode(GoRPCTypes.request, Self.request("GetVersion", 0))
        bytes += try e.encode(GoRPCTypes.empty, GoRPCTypes.emptyValue)
        #expect(bytes == (try Self.fixture("client-getversion")))
    }

    @Test func aSessionOfCallsEncodesAsGoDoes() throws {
        let e = GobEncoder()
        var bytes: [UInt8] = []
        for (seq, (method, arg)) in Self.sessionCalls.enumerated() {
            bytes += try e.encode(GoRPCTypes.request, Self.request(method, UInt64(seq)))
            bytes += try e.encode(arg.0, arg.1)
        }
        let go = try Self.fixture("client-session")
        #expect(bytes.count == go.count)
        #expect(bytes == go)
    }

    @Test func goClientBytesDecodeToTheCalls() throws {
        let values = try Self.decodeAll(try Self.fixture("client-session"))
        #expect(values.count == 20)
        for (seq, (method, arg)) in Self.sessionCalls.enumerated() {
            #expect(values[2 * seq].1 == Self.request(method, UInt64(seq)))
            #expect(values[2 * seq + 1].0 == arg.0)
            #expect(values[2 * seq + 1].1 == arg.1)
        }
    }

    @Test func manyFlagValuesInOneMapDecodeAndReencode() throws {
        let values = try Self.decodeAll(try Self.fixture("client-flags-many"))
        #expect(values.count == 2)
        guard case .interface(let flags?) = values[1].1, case .map(let entries)? = flags.value["Values"] else {
            Issue.record("not an RPCFlags interface: \(values[1].1)")
            return
        }
        #expect(flags.name == "*rpcdriver.RPCFlags")
        var byKey: [String: GobValue] = [:]
        for e in entries {
            guard case .interface(let iv?) = e.value, let k = e.key.stringValue else { continue }
            byKey[k] = iv.value
            #expect(["string", "int", "[]string", "bool"].contains(iv.name))
        }
        #expect(
            byKey == [
                "generic-ip-address": .string("10.231.0.5"), "generic-ssh-port": .int(2222),
                "engine-opt": .list([.string("x")]), "swarm-master": .bool(false), "negative": .int(-300),
            ])
        // Our own bytes of the same value read back the same.
        let e = GobEncoder()
        let again = try Self.decodeAll(try e.encode(values[1].0, values[1].1))
        #expect(again.count == 1 && again[0].1 == values[1].1)
    }

    @Test func goServerRepliesDecode() throws {
        let v = try Self.decodeAll(try Self.fixture("server-session"))
        #expect(v.count == 18)
        #expect(v[0].0 == GoRPCTypes.response)
        #expect(v[0].1 == .structure(["ServiceMethod": .string(Self.svc + "GetVersion")]))
        #expect(v[1].1 == .int(1))
        #expect(v[3].1 == .bytes(Array(#"{"IPAddress":"10.231.0.5"}"#.utf8)))
        let flags = try (v[5].1.listValue ?? []).map { e throws in try PluginFlag(e) }
        #expect(
            flags == [
                PluginFlag(
                    kind: .string, name: "generic-ip-address", usage: "IP Address of machine", envVar: "GENERIC_IP_ADDRESS",
                    defaultValue: .string("")),
                PluginFlag(kind: .int, name: "generic-ssh-port", usage: "SSH port", envVar: "GENERIC_SSH_PORT", defaultValue: .int(22)),
                PluginFlag(kind: .stringSlice, name: "fixture-tag", usage: "tags", defaultValue: .strings(["a", "b"])),
                PluginFlag(kind: .bool, name: "fixture-hang", usage: "hang in create", defaultValue: .bool(false)),
                PluginFlag(kind: .int, name: "fixture-big", defaultValue: .int(-70000)),
            ])
        #expect(v[7].1 == .int(4))
        #expect(v[9].1 == .int(22))
        #expect(v[11].1 == .string("10.231.0.5"))
        #expect(v[12].1["Error"] == .string("Error creating machine: boom"))
        #expect(v[12].1["Seq"] == .uint(6))
        #expect(v[13].1 == .structure([:]))
        #expect(v[17].1 == .string(""))
    }

    /// Every cut of a stream fails as truncated (or ends cleanly between values), never crashes.
    @Test func everyTruncationIsAnError() throws {
        let go = try Self.fixture("server-session")
        let all = try Self.decodeAll(go)
        for cut in 0..<go.count {
            let d = GobDecoder(bytes: Array(go[0..<cut]))
            var n = 0
            do {
                while try d.decode() != nil { n += 1 }
                #expect(n < all.count)
            } catch let e as GobError {
                #expect(e == .truncated || { if case .corrupt = e { return true } else { return false } }())
            }
        }
    }

    @Test func corruptBytesAreRefused() throws {
        // A value of a type no definition introduced.
        #expect(throws: GobError.unknownType(70)) { try GobDecoder(bytes: [0x03, 0xff, 0x8c, 0x00]).decode() }
        // A struct field beyond the type's fields (Response has 3).
        var go = try Self.fixture("server-session")
        // The first Response value: its first field delta, 01, made 09.
        let defLen = Int(go[0]) + 1
        #expect(go[defLen + 3] == 0x01)
        go[defLen + 3] = 0x09
        #expect(throws: GobError.self) { try Self.decodeAll(go) }
        // A length beyond the message.
        #expect(throws: GobError.truncated) { try GobDecoder(bytes: [0x04, 0x0c, 0x00, 0x7f, 0x61]).decode() }
    }
}
