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
        case let error as ApplyStopped: (error.description, temporary)
        case let error as ExternalRegistration.Failure: (error.description, error.isUsage ? usage : .failure)
        case let error as LegacyImport.Failure: (error.description, usage)
        default: (String(describing: error), .failure)
        }
    }
}

/// stdout for results, stderr for everything a person reads while it runs.
enum Output {
    static func result(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func result(_ data: Data) {
        FileHandle.standardOutput.write(data)
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}
