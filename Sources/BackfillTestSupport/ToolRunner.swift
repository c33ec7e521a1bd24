import Foundation

/// Runs the built `backfill-tool` binary (argument-parser's end-to-end pattern): arguments in, exit code and
/// both output streams out.
package struct ToolRunner: Sendable {
    package struct Result: Sendable {
        package var exitCode: Int32
        package var stdout: String
        package var stderr: String
    }

    /// The directory holding the built products (`.build/debug` or `.build/release`).
    package static var productsDirectory: URL {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        // On macOS the test binary sits inside an .xctest bundle.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS"
            || directory.lastPathComponent == "Contents"
        {
            directory.deleteLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("backfill-tool").path) {
            return directory
        }
        return Bundle.main.bundleURL
    }

    package var executable: URL
    package var environment: [String: String]
    /// A command the tool runs under (`ip netns exec NS`: on a test's own host).
    package var prefix: [String] = []

    package init(product: String = "backfill-tool", environment: [String: String] = [:]) {
        executable = Self.productsDirectory.appendingPathComponent(product)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        self.environment = env
    }

    private func setCommand(_ process: Process, _ arguments: [String]) {
        if let first = prefix.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(prefix.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
    }

    /// Starts the tool in `directory` with its output discarded and returns at once (the crash tests kill it).
    package func start(_ arguments: [String], in directory: URL) throws -> Process {
        let process = Process()
        setCommand(process, arguments)
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs the tool in `directory` and waits for it without holding a thread of the pool Swift concurrency runs on
    /// (on Linux, Dispatch's global queue, a few threads on two cores): an in-process fake Binance serves on that
    /// pool, so tests blocked in the synchronous ``run(_:in:)`` can starve the server the tool is talking to. The
    /// waiting happens on threads of their own.
    package func run(_ arguments: [String], in directory: String) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Swift.Result { try self.runBlocking(arguments, in: directory) })
            }
            thread.start()
        }
    }

    /// Runs the tool in `directory` and waits for it, blocking the calling thread: never call it from a task.
    func runBlocking(_ arguments: [String], in directory: String) throws -> Result {
        let process = Process()
        setCommand(process, arguments)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently with the process so a full pipe never blocks it.
        let outData = Locked(Data())
        let outDone = DispatchSemaphore(value: 0)
        // A thread of its own, not Dispatch's global queue (see the async `run`).
        let reader = Thread {
            outData.set(out.fileHandleForReading.readDataToEndOfFile())
            outDone.signal()
        }
        reader.start()
        // No run of the tool in a test takes minutes: one that hangs is killed (and fails its test) rather than
        // holding the whole suite.
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 240, execute: watchdog)
        defer { watchdog.cancel() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        outDone.wait()
        process.waitUntilExit()
        return Result(
            exitCode: process.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

extension ToolRunner {
    /// Runs another program (a script, psql, ip) to its end, blocking the calling thread, its output collected in
    /// temporary files. posix_spawn and waitpid, not Foundation's Process: a script that starts a daemon (the
    /// PostgreSQL cluster) left Process waiting for an exit it had missed.
    package static func runCaptured(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil
    ) -> (status: Int32, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("backfill-run-\(UUID().uuidString)")
        let outPath = base.path + ".out"
        let errPath = base.path + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables =
            (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
            + [nil]
        defer { for pointer in variables { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, variables)
        guard spawned == 0 else { return (127, "", "cannot run \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (exit, out, err)
    }
}

/// A tiny lock-protected box.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
