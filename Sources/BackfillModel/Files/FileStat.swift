/// What the ledger records of a file at registration to see later, without reading it, that it changed (§5 Change
/// detection): its size, modification time in nanoseconds and inode. A file whose stat differs from the row in any
/// way is hashed again; there is no tolerance window.
package struct FileStat: Sendable, Hashable {
    package var size: Int
    package var modifiedNs: Int64
    package var inode: UInt64

    package init(size: Int, modifiedNs: Int64, inode: UInt64) {
        self.size = size
        self.modifiedNs = modifiedNs
        self.inode = inode
    }

    /// The inode as SQLite stores it (a signed 64-bit integer, bit for bit).
    package var inodeBits: Int64 { Int64(bitPattern: inode) }
}
