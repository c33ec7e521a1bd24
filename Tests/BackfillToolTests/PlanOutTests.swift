import BackfillTestSupport
import Foundation
import Testing

/// Issue 13 point 2: `plan --out PATH` writes by temp file + rename only over a regular file; a FIFO, a symlink,
/// a directory or a device there is refused (exit 64, one line) and left as it was.
@Suite(.serialized)
struct PlanOutTests {
    let tool = ToolRunner()

    func workspace() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("plan-out")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: 2024-01-03}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        return dir
    }

    @Test(arguments: ["fifo", "symlink", "directory", "device"])
    func aSpecialFileAtTheOutputPathIsRefusedAndLeftAlone(kind: String) async throws {
        let dir = try workspace()
        let target = try dir.write("precious\n", to: "precious.txt")
        var out = dir.path("saved.json")
        let expected: String
        switch kind {
        case "fifo":
            #expect(mkfifo(out, 0o644) == 0)
            expected = "a FIFO or another special file"
        case "symlink":
            try FileManager.default.createSymbolicLink(atPath: out, withDestinationPath: target)
            expected = "a symbolic link"
        case "directory":
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            expected = "a directory"
        default:
            out = "/dev/null"
            expected = "a device"
        }
        let before = try dir.inventory()
        let result = try await tool.run(["plan", "plan.yaml", "--now-ms", "1709251200000", "--out", out], in: dir.path)
        #expect(result.exitCode == 64)
        #expect(
            result.stderr == "error: refusing to replace \(out): it is \(expected); --out writes only regular files\n")
        #expect(result.stdout.isEmpty)
        #expect(try dir.inventory() == before)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: out)
        switch kind {
        case "fifo": #expect(attributes[.type] as? FileAttributeType != .typeRegular)
        case "symlink": #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink)
        case "directory": #expect(attributes[.type] as? FileAttributeType == .typeDirectory)
        default: #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial)
        }
    }

    @Test func aRegularFileIsReplacedAndAMissingDirectoryIsOneLine() async throws {
        let dir = try workspace()
        try dir.write("old\n", to: "saved.json")
        let result = try await tool.run(
            ["plan", "plan.yaml", "--now-ms", "1709251200000", "--out", "saved.json"], in: dir.path)
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: dir.path("saved.json"), encoding: .utf8).contains("\"format_version\""))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }.isEmpty)
        let missing = try await tool.run(
            ["plan", "plan.yaml", "--now-ms", "1709251200000", "--out", "no/such/dir/saved.json"], in: dir.path)
        #expect(missing.exitCode == 1)
        #expect(missing.stderr == "error: cannot write saved plan no/such/dir/saved.json: No such file or directory\n")
    }
}
