import BackfillModel
import Crypto
import Foundation

/// SHA-256 as lower-case hex, the ledger's content key.
package enum SHA256Hex {
    package static func digest(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
