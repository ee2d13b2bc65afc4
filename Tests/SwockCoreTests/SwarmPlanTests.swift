import Testing

@testable import SwockProvision
@testable import SwockSwarm

struct SwarmPlanTests {
    let yaml = """
        defaults: { user: root }
        machines:
          - { name: mgr, address: 10.231.1.10, swarm: { init: true } }
          - { name: w1, address: 10.231.1.11, swarm: { manager: mgr } }
          - { name: m2, address: 10.231.1.12, swarm: { manager: mgr, role: manager } }
          - { name: w2, address: 10.231.1.13, swarm: { manager: mgr, role: worker } }
          - { name: solo, address: 10.231.1.14 }
        """

    @Test func aFleetFileSaysWhoStartsAndWhoJoins() throws {
        let plan = SwarmPlan(fleet: try FleetFile.parse(yaml, source: "f.yaml"))
        #expect(plan.inits == ["mgr"])
        #expect(
            plan.joins == [
                .init(manager: "mgr", asManager: false, names: ["w1", "w2"]),
                .init(manager: "mgr", asManager: true, names: ["m2"]),
            ])
        #expect(SwarmPlan(fleet: try FleetFile.parse("machines: [{ name: a, address: 10.231.1.1 }]", source: "f")).isEmpty)
    }

    @Test func contradictionsAreRefusedWithTheirReason() {
        let both = "machines: [{ name: a, address: 10.231.1.1, swarm: { init: true, manager: b } }]"
        #expect(throws: FleetFile.Invalid.self) { try FleetFile.parse(both, source: "f") }
        let role = "machines: [{ name: a, address: 10.231.1.1, swarm: { manager: b, role: boss } }]"
        do { _ = try FleetFile.parse(role, source: "f"); Issue.record("accepted role boss") } catch {
            #expect("\(error)".contains("swarm.role \"boss\": expected worker or manager"), "\(error)")
        }
        let noInit = """
            machines:
              - { name: a, address: 10.231.1.1 }
              - { name: b, address: 10.231.1.2, swarm: { manager: a } }
            """
        do { _ = try FleetFile.parse(noInit, source: "f"); Issue.record("accepted a manager without init") } catch {
            #expect("\(error)".contains("swarm.manager \"a\" is in this file but has no swarm: {init: true}"), "\(error)")
        }
    }

    @Test func swarmAddressesGetThePort() {
        #expect(SwarmControl.swarmAddress("10.231.1.10") == "10.231.1.10:2377")
        #expect(SwarmControl.swarmAddress("10.231.1.10:4000") == "10.231.1.10:4000")
        #expect(SwarmControl.swarmAddress("fd00::1") == "[fd00::1]:2377")
        #expect(SwarmControl.swarmAddress("[fd00::1]:2377") == "[fd00::1]:2377")
    }
}
