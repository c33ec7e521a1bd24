import Logging
import Synchronization

/// What the executable sets up once per process before a command runs.
enum Bootstrap {
    private static let logging = Mutex(false)

    /// swift-log to stderr at `level`, bootstrapped once (a second bootstrap is a programming error in swift-log),
    /// and the logger the command hands to the core. Nothing secret is ever logged: the API key travels in a header
    /// the client never logs, and the secret is not used at all.
    static func logger(_ level: LogLevelOption) -> Logger {
        let swiftLevel = Logger.Level(rawValue: level.rawValue) ?? .warning
        logging.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = swiftLevel
                return handler
            }
        }
        var logger = Logger(label: "backfill-tool")
        logger.logLevel = swiftLevel
        return logger
    }
}
