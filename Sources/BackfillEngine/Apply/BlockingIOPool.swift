import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import NIOPosix

/// Threads of their own for blocking system calls (file writes, fsync, rename, directory reads), so that they never
/// hold one of the Swift concurrency pool's threads (one per core) while the disk works.
package final class BlockingIOPool: Sendable {
    private let pool: NIOThreadPool

    /// Starts `threads` threads.
    package init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Stops the threads once the work in flight is done.
    package func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
