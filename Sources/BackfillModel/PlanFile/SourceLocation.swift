/// A position in an input file, printed as `file:line:column` (1-based, as compilers print them).
package struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var column: Int

    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// Line 0 marks a value that came from somewhere without lines (an environment variable, named by `file`).
    package var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// A value together with where it was written, so errors found later (an unknown symbol at plan time) can still
/// point at the line that caused them.
package struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    package var value: Value
    package var location: SourceLocation

    package init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}
