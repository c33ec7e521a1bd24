/// Checks that a landing CSV is valid for its name before it is adopted: our header, rows ascending and unique by
/// timestamp, every timestamp inside the file's range, every value a well-formed decimal.
package enum CSVValidator {
    /// The number of rows, or `nil` when the file is not valid for `range` and `columns`.
    package static func rows(in bytes: [UInt8], range: TimeRange, columns: ColumnSet) -> Int? {
        guard let text = String(validating: bytes, as: UTF8.self), text.hasSuffix("\n") else { return nil }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        guard let header = lines.first, header == CSVFormat.header(columns) else { return nil }
        let fieldCount = columns == .basic ? 6 : 11
        var previous = Int64.min
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == fieldCount, let time = Int64(fields[0]), time > previous, range.contains(time)
            else { return nil }
            previous = time
            for (index, field) in fields.enumerated().dropFirst() {
                let integerField = columns == .full && (index == 6 || index == 8)
                guard integerField ? Int64(field) != nil : DecimalText.isWellFormed(field) else {
                    return nil
                }
            }
        }
        return lines.count - 1
    }
}
