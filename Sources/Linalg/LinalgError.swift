/// A failure at the LAPACK/BLAS boundary, named by routine and code.
public enum LinalgError: Error, CustomStringConvertible, Equatable {
    /// LAPACK returned `info` ≠ 0: negative means argument −info was illegal,
    /// positive means the routine did not converge (or the matrix was singular/indefinite).
    case lapack(routine: String, info: Int32)
    /// A size that does not fit LAPACK's 32-bit integers.
    case sizeExceedsLAPACK(String, Int)
    /// The input matrix of a routine holds NaN or ±∞ (an overflow upstream), checked before LAPACK
    /// is called, whose own check would report an "illegal argument".
    case notFinite(routine: String)

    public var description: String {
        switch self {
        case let .lapack(routine, info) where info < 0:
            return "\(routine): argument \(-info) was illegal (LAPACK info \(info))"
        case let .lapack(routine, info):
            return "\(routine) failed to converge or met a singular matrix (LAPACK info \(info))"
        case let .sizeExceedsLAPACK(what, value):
            return "\(what) = \(value) exceeds LAPACK's 32-bit integer range"
        case let .notFinite(routine):
            return "\(routine): the matrix holds NaN or infinite entries (a computation overflowed before it); lower the scales of the input"
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

/// Throws `LinalgError.notFinite` unless every entry is finite: LAPACKE rejects NaN input as an
/// "illegal argument", a message no user should see. O(n²), against the routines' O(n³).
@inlinable
func requireFinite(_ storage: [Double], _ routine: String) throws {
    for x in storage where !x.isFinite { throw LinalgError.notFinite(routine: routine) }
}
