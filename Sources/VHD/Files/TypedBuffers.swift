// The standard library's withUnsafeMutableBytes rethrows untyped errors; these keep VHDError.

extension Array where Element: BitwiseCopyable {
    /// `withUnsafeMutableBytes` for a body that throws ``VHDError``.
    mutating func withMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(VHDError) -> R
    ) throws(VHDError) -> R {
        let outcome: Result<R, VHDError> = withUnsafeMutableBytes { buffer in
            do throws(VHDError) {
                return .success(try body(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
