import Foundation

/// Hosts of a test's own, on this machine: network namespaces joined by a bridge (`ip netns`, veth pairs), each host
/// with an address of its own, so that a server in the root namespace sees each as another client IP. Made by the
/// test and removed when the value is released; nothing is routed beyond the bridge.
package final class TestHosts: Sendable {
    /// The bridge's address in the root namespace: where the hosts reach the test's servers.
    package let gateway: String
    /// Each host's namespace name and address.
    package let hosts: [(namespace: String, address: String)]
    private let bridge: String

    /// Makes `count` hosts on a new /24 of 10.213.0.0/16.
    /// - Throws: ``TestHostsUnavailable`` with the failing command (no privilege, no iproute2).
    package init(count: Int) throws {
        let tag = String(UInt32.random(in: 0...0xFFFFF), radix: 16)
        let subnet = Int.random(in: 1...250)
        bridge = "bfbr\(tag)"
        gateway = "10.213.\(subnet).1"
        hosts = (1...count).map { ("bfns\(tag)-\($0)", "10.213.\(subnet).\($0 + 1)") }
        do {
            try Self.ip(["link", "add", bridge, "type", "bridge"])
            try Self.ip(["addr", "add", "\(gateway)/24", "dev", bridge])
            try Self.ip(["link", "set", bridge, "up"])
            for (index, host) in hosts.enumerated() {
                let outside = "bfv\(tag)-\(index + 1)"
                try Self.ip(["netns", "add", host.namespace])
                try Self.ip(["link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
                try Self.ip(["link", "set", outside, "master", bridge, "up"])
                try Self.ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
                try Self.ip(["-n", host.namespace, "link", "set", "eth0", "up"])
                try Self.ip(["-n", host.namespace, "link", "set", "lo", "up"])
            }
        } catch {
            Self.remove(bridge: bridge, namespaces: hosts.map(\.namespace))
            throw error
        }
    }

    /// The command line that runs `arguments` on host `index`.
    package func prefix(_ index: Int) -> [String] { [Self.ipPath, "netns", "exec", hosts[index].namespace] }

    deinit { Self.remove(bridge: bridge, namespaces: hosts.map(\.namespace)) }

    private static func remove(bridge: String, namespaces: [String]) {
        for namespace in namespaces { _ = ToolRunner.runCaptured(ipPath, ["netns", "del", namespace]) }
        _ = ToolRunner.runCaptured(ipPath, ["link", "del", bridge])
    }

    static let ipPath =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        ?? "/usr/sbin/ip"

    private static func ip(_ arguments: [String]) throws {
        let result = ToolRunner.runCaptured(ipPath, arguments)
        guard result.status == 0 else {
            throw TestHostsUnavailable(
                reason: "ip \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr.prefix(300))"
            )
        }
    }
}

package struct TestHostsUnavailable: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }
}
