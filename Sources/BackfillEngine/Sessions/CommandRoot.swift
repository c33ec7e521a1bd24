import BackfillExchange
import BackfillLedger
import BackfillModel
import Foundation
import Logging
import Synchronization

/// The composition root: what one command runs on, built once and handed to its session. The ledger is opened
/// once (or created once, by `apply`), the exchange bundle made once, the log and the clock chosen once.
///
/// Where things plug in: a new candle source or exchange in ``ExchangeBundle/make(exchange:market:baseURL:frozenNowMs:apiKey:connections:logger:)``;
/// a new ledger backend in ``openLedger(path:create:busyTimeoutMs:)``.
package struct CommandRoot: Sendable {
    /// Opened at first use and then kept: a plan refused before it needs the ledger leaves no trace on it (not even
    /// SQLite's `-wal` file).
    package let ledgerAccess: LedgerAccess
    package var landing: LandingArea
    package var exchange: ExchangeBundle
    package var logger: Logger
    /// The machine's clock (timestamps, cache ages); planning uses the exchange's clock.
    package var clock: any TimeSource

    package init(
        ledger: LedgerAccess, landing: LandingArea, exchange: ExchangeBundle, logger: Logger = .silent,
        clock: any TimeSource = SystemTimeSource()
    ) {
        ledgerAccess = ledger
        self.landing = landing
        self.exchange = exchange
        self.logger = logger
        self.clock = clock
    }

    /// The root of a command on `config`.
    /// - Parameter createLedger: create a missing ledger (with its parents); otherwise a missing one is `nil`.
    package static func make(
        config: PlanDocument.Config, createLedger: Bool, frozenNowMs: Int64?, apiKey: String?, connections: Int = 2,
        logger: Logger = .silent
    ) -> CommandRoot {
        CommandRoot(
            ledger: LedgerAccess(path: config.ledger, create: createLedger),
            landing: LandingArea(path: config.landing),
            exchange: .make(
                exchange: config.exchange, market: config.market, baseURL: config.baseURL, frozenNowMs: frozenNowMs,
                apiKey: apiKey, connections: connections, archive: config.effectiveArchive, logger: logger),
            logger: logger)
    }

    /// The command's ledger (opened now if not yet); `nil` when there is none and the command does not create one
    /// (`plan`, `audit`, `apply --dry-run`).
    package func ledger() throws -> Ledger? { try ledgerAccess.get() }

    /// The one place a ledger is opened (SQLite today; another backend is chosen here from the path).
    package static func openLedger(
        path: String, create: Bool, busyTimeoutMs: Int64 = Ledger.readerBusyTimeoutMs
    ) throws -> Ledger? {
        try Ledger.open(path: path, create: create, busyTimeoutMs: busyTimeoutMs)
    }
}

extension PlanDocument.Config {
    /// The configuration of a loaded plan file.
    package init(_ file: PlanFile) {
        self.init(
            exchange: file.exchange, market: file.market, baseURL: file.baseURL, landing: file.landing,
            ledger: file.ledger, columns: file.columns, sleepMs: file.defaults.sleepMs)
        archive = file.archive
        archiveURL = file.archiveURL
    }
}

/// A ledger opened once, at first use.
package final class LedgerAccess: Sendable {
    private let path: String
    private let create: Bool
    private let state: Mutex<Result<Ledger?, any Error>?>

    package init(path: String, create: Bool) {
        self.path = path
        self.create = create
        state = Mutex(nil)
    }

    /// A ledger the command has opened already.
    package init(opened: Ledger?, path: String) {
        self.path = path
        create = false
        state = Mutex(.success(opened))
    }

    package func get() throws -> Ledger? {
        let result = state.withLock { state -> Result<Ledger?, any Error> in
            if let state { return state }
            let opened = Result { try CommandRoot.openLedger(path: path, create: create) }
            state = opened
            return opened
        }
        return try result.get()
    }
}
