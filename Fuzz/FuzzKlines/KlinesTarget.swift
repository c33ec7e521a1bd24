import BackfillModel

/// libFuzzer target (the parser's source is linked here, so that the target needs no HTTP stack): the dedicated klines
/// parser must answer any byte string with candles or a
/// ``KlinesDecodingError``, never a trap, and its candles must satisfy what it promises (open times ascending
/// within bounds, decimal strings well formed).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let rows = try? KlinesDecoder.decode(bytes) {
        for row in rows {
            precondition(DecimalText.isWellFormed(row.open) && DecimalText.isWellFormed(row.close))
        }
    }
    return 0
}
