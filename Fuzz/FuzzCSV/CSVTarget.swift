import BackfillModel

/// libFuzzer target: the CSV validator and the candle checks read any bytes under any name range without a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let range = TimeRange(uncheckedLower: 1_704_067_200_000, upper: 1_704_067_200_000 + 24 * 3_600_000)
    for columns in [ColumnSet.basic, .full] {
        if let rows = CSVValidator.rows(in: bytes, range: range, columns: columns) {
            precondition(rows >= 0 && rows <= bytes.count)
        }
    }
    _ = CandleCheck.violations(in: bytes, grid: Timeframe.h1.grid(listedAtMs: nil), range: range)
    _ = ExternalCSV.openTimes(in: bytes)
    return 0
}
