/// A failure at the LAPACK/BLAS boundary, named by routine and code.
public enum LinalgError: Error, CustomStringConvertible, Equatable {
    /// LAPACK returned `info` ≠ 0: negative means argument −info was illegal,
    /// positive means the routine did not converge (or the matrix was singular/indefinite).
    case lapack(routine: String, info: Int32)
    /// A size that does not fit LAPACK's 32-bit integers.
    case sizeExceedsLAPACK(String, Int)

    public var description: String {
        switch self {
        case let .lapack(routine, info) where info < 0:
            return "\(routine): argument \(-info) was illegal (LAPACK info \(info))"
        case let .lapack(routine, info):
            return "\(routine) failed to converge or met a singular matrix (LAPACK info \(info))"
        case let .sizeExceedsLAPACK(what, value):
            return "\(what) = \(value) exceeds LAPACK's 32-bit integer range"
        }
    }
}

/// Converts a size to LAPACK's 32-bit integer, failing loudly rather than wrapping.
@inlinable
func lapackInt(_ value: Int, _ what: String = "size") throws -> Int32 {
    guard let v = Int32(exactly: value) else { throw LinalgError.sizeExceedsLAPACK(what, value) }
    return v
}

/// Converts a size to a BLAS integer; BLAS sizes are checked at matrix creation, so this traps.
@inlinable
func blasInt(_ value: Int) -> Int32 {
    guard let v = Int32(exactly: value) else { preconditionFailure("size \(value) exceeds BLAS's 32-bit integer range") }
    return v
}
