import BackfillModel
import BackfillSpec

/// libFuzzer target: the plan loader answers any text with a plan or one `PlanFileError`, never a trap (YAML bombs,
/// deep nesting and odd scalars included; the loader's own limits apply).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    let loader = PlanLoader(environment: ["HOME": "/root", "START": "2024-01-01"])
    do {
        let plan = try loader.parse(text, path: "fuzz.yaml")
        precondition(!plan.targets.isEmpty)
    } catch {
        precondition(!error.reason.isEmpty)
    }
    return 0
}
