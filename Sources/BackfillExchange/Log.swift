import BackfillModel
import Logging

extension Logger {
    /// The core's default: silent. The executable bootstraps swift-log once (stderr, `--log-level`) and hands its
    /// logger to the sessions, so library code and tests stay quiet unless asked.
    package static let silent = Logger(label: "backfill-tool", factory: { _ in SwiftLogNoOpLogHandler() })
}
