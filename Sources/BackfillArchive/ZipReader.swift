import CZlibCRC
import Foundation
import ZIPFoundation

/// Reads the one CSV an archive zip holds, with ZIPFoundation (the only file that knows it): the entry's bytes
/// inflated and checked against the entry's CRC-32.
enum ZipReader {
    /// Why a zip is not usable.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The largest CSV accepted from one zip (a month of 1m is ~5 MB, a day of 1s ~10 MB).
    static let maxEntryBytes: UInt64 = 512 << 20

    /// The content of the zip's single file entry, which must be named `expectedName` (a `.csv`).
    static func singleEntry(_ zip: [UInt8], expectedName: String) throws(Failure) -> [UInt8] {
        // Read in place: no second copy of the zip while it is inflated.
        let result = zip.withUnsafeBytes { buffer -> Result<[UInt8], Failure> in
            guard let base = buffer.baseAddress, buffer.count > 0 else {
                return .failure(Failure(description: "not a zip archive (empty)"))
            }
            let data = Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: buffer.count, deallocator: .none)
            return Result { () throws(Failure) -> [UInt8] in try entry(of: data, expectedName: expectedName) }
        }
        return try result.get()
    }

    private static func entry(of data: Data, expectedName: String) throws(Failure) -> [UInt8] {
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw Failure(description: "not a zip archive (\(error))")
        }
        let files = archive.filter { $0.type == .file }
        guard files.count == 1, let entry = files.first else {
            throw Failure(description: "holds \(files.count) files, expected one")
        }
        guard entry.path == expectedName else {
            throw Failure(description: "holds '\(entry.path.prefix(200))', expected '\(expectedName)'")
        }
        guard entry.uncompressedSize <= maxEntryBytes else {
            throw Failure(description: "its entry claims \(entry.uncompressedSize) bytes, more than allowed")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(entry.uncompressedSize))
        // The CRC-32 by zlib over the inflated bytes (ZIPFoundation's own is a table loop on Linux).
        var crc: UInt32 = 0
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true) { chunk in
                guard UInt64(out.count + chunk.count) <= maxEntryBytes else {
                    throw Failure(description: "its entry inflates beyond \(maxEntryBytes) bytes")
                }
                chunk.withUnsafeBytes { bytes in
                    if let base = bytes.baseAddress {
                        crc = backfill_crc32(crc, base.assumingMemoryBound(to: UInt8.self), bytes.count)
                    }
                }
                out.append(contentsOf: chunk)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "cannot be inflated (\(error))")
        }
        guard crc == entry.checksum, UInt64(out.count) == entry.uncompressedSize else {
            throw Failure(description: "its entry fails its CRC-32 or size")
        }
        return out
    }
}
