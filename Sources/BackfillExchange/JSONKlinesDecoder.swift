import BackfillModel
import Foundation

/// The generic klines decoder (Foundation's JSONSerialization), same rules as ``KlinesDecoder``.
///
/// Kept as the reference the hand-written parser is tested against on random pages, and as the baseline of the
/// decoder benchmark.
package enum JSONKlinesDecoder {
    package static func decode(_ bytes: [UInt8]) throws -> [Kline] {
        guard let rows = try JSONSerialization.jsonObject(with: Data(bytes), options: []) as? [Any] else {
            throw KlinesDecodingError(offset: 0, reason: "not an array")
        }
        return try rows.map { item in
            guard let fields = item as? [Any], fields.count == 12 else {
                throw KlinesDecodingError(offset: 0, reason: "a kline must have exactly 12 fields")
            }
            func integer(_ index: Int) throws -> Int64 {
                guard let number = fields[index] as? NSNumber, !(fields[index] is String),
                    !["d", "f"].contains(String(cString: number.objCType)), number.int64Value >= 0
                else { throw KlinesDecodingError(offset: 0, reason: "field \(index) must be a non-negative integer") }
                return number.int64Value
            }
            func decimal(_ index: Int) throws -> String {
                guard let text = fields[index] as? String, DecimalText.isWellFormed(text) else {
                    throw KlinesDecodingError(offset: 0, reason: "field \(index) is not a well-formed decimal")
                }
                return text
            }
            guard fields[11] is String else {
                throw KlinesDecodingError(offset: 0, reason: "field 11 must be a string")
            }
            return Kline(
                openTime: try integer(0), open: try decimal(1), high: try decimal(2), low: try decimal(3),
                close: try decimal(4), volume: try decimal(5), closeTime: try integer(6), quoteVolume: try decimal(7),
                trades: try integer(8), takerBuyBaseVolume: try decimal(9), takerBuyQuoteVolume: try decimal(10))
        }
    }

}
