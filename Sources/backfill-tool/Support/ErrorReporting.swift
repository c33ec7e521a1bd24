import ArgumentParser
import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// Maps core errors to one stderr line and an exit code (§1): 64 usage, 75 temporary, 1 anything else.
enum ErrorReporting {
    static let usage = ExitCode(64)
    static let temporary = ExitCode(75)

    /// Runs `body`, turning any error other than `ExitCode` into a message and the matching exit code.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ExitCode {
            throw error
        } catch {
            let (message, code) = describe(error)
            Output.error(message)
            throw code
        }
    }

    static func describe(_ error: any Error) -> (String, ExitCode) {
        switch error {
        case let error as PlanFileError: (error.description, usage)
        case let error as ValidationError: (error.message, usage)
        case let error as LedgerError:
            if case .busy = error { (error.description, temporary) } else { (error.description, .failure) }
        case let error as ExchangeError: (error.description, error.isTemporary ? temporary : .failure)
        case let error as TransportError: (error.description, temporary)
        case let error as PlanningError: (error.description, .failure)
        case let error as LandingArea.Failure: (error.description, .failure)
        case let error as LockBusy: (error.description, temporary)
        case let error as LockStillHeld: (error.description, .failure)
        case let error as StalePlan: (error.description, .failure)
        case let error as SavedPlanMismatch: (error.description, .failure)
        case let error as ApplyStopped: (error.description, temporary)
        case let error as Output.WriteFailed: (error.description, .failure)
        case let error as ExternalRegistration.Failure: (error.description, error.isUsage ? usage : .failure)
        case let error as LegacyImport.Failure: (error.description, usage)
        default: (String(describing: error), .failure)
        }
    }
}

/// stdout for results, stderr for everything a person reads while it runs.
enum Output {
    /// A result that could not be written to stdout (closed, full, a broken pipe): exit 1 (§11).
    struct WriteFailed: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "cannot write the result to stdout: \(String(cString: strerror(errno)))" }
    }

    /// Whether the tool was started with stdout closed (`>&-`).
    nonisolated(unsafe) private static var stdoutClosed = false

    /// A closed stdin, stdout or stderr is held by `/dev/null` so that no file the run opens (a landing file, the
    /// ledger) can get descriptor 0, 1 or 2 and receive output; a result for a closed stdout is then an error.
    static func guardStandardDescriptors() {
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(descriptor, F_GETFD) == -1 {
            if descriptor == STDOUT_FILENO { stdoutClosed = true }
            let null = open("/dev/null", descriptor == STDIN_FILENO ? O_RDONLY : O_WRONLY)
            if null >= 0, null != descriptor {
                dup2(null, descriptor)
                close(null)
            }
        }
    }

    static func result(_ text: String) throws {
        try result(Data(text.utf8))
    }

    /// Writes all of `data` to descriptor 1, retrying short writes and EINTR; never traps.
    static func result(_ data: Data) throws {
        guard !stdoutClosed else { throw WriteFailed(errno: EBADF) }
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard var base = buffer.baseAddress else { return }
            var left = buffer.count
            while left > 0 {
                let written = write(STDOUT_FILENO, base, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteFailed(errno: errno)
                }
                left -= written
                base += written
            }
        }
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("error: \(oneLine(message))\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// A message as one line (§11): control characters escaped (`\n`, `\u{1B}`), any run of more than 200
    /// characters without a space (an echoed value) cut with `…`, and the whole at most 2,000 characters.
    static func oneLine(_ message: String) -> String {
        var out = ""
        var run = 0
        var length = 0
        for character in message {
            if character == " " {
                run = 0
            } else {
                run += 1
                if run > 200 {
                    if run == 201 { out += "…" }
                    continue
                }
            }
            if character.unicodeScalars.count == 1, let scalar = character.unicodeScalars.first,
                scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
            {
                switch scalar.value {
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                default: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                }
            } else {
                out.append(character)
            }
            length += 1
            if length >= 2_000 {
                out += "…"
                break
            }
        }
        return out
    }
}
