import CNumerics

/// A symmetric tridiagonal matrix T with its eigenvalues: what one Householder reduction of a dense
/// symmetric matrix leaves (A = Q·T·Qᵀ), kept so that many shifted solves (T − μ)⁻¹·X cost O(n)
/// a column instead of an O(n³) decomposition each.
public struct SymmetricTridiagonal: Sendable {
    /// T's diagonal, n entries.
    public let diagonal: [Double]
    /// T's sub- and super-diagonal, n − 1 entries.
    public let offDiagonal: [Double]
    /// T's eigenvalues, descending (`dsterf`, root-free QR: O(n²), no vectors).
    public let eigenvalues: [Double]

    public var order: Int { diagonal.count }

    public init(diagonal: [Double], offDiagonal: [Double]) throws {
        precondition(offDiagonal.count == max(diagonal.count - 1, 0), "a tridiagonal of order n has n − 1 off-diagonal entries")
        self.diagonal = diagonal
        self.offDiagonal = offDiagonal
        var d = diagonal, e = offDiagonal + [0]
        if !d.isEmpty {
            try requireFinite(d + e, "tridiagonal eigenvalues (dsterf)")
            let info = LAPACKE_dsterf(try lapackInt(d.count, "tridiagonal order"), &d, &e)
            guard info == 0 else { throw LinalgError.lapack(routine: "dsterf", info: info) }
        }
        eigenvalues = d.reversed()
    }

    /// (T − μ·I)⁻¹·X by Gaussian elimination with partial pivoting (`dgtsv`): backward stable for
    /// any μ that is not an eigenvalue, 8n flops a column.
    public func solveShifted(_ mu: Double, _ x: Matrix) throws -> Matrix {
        let n = order
        precondition(x.rows == n, "X has \(x.rows) rows, T order \(n)")
        if n == 0 || x.cols == 0 { return x }
        var lower = offDiagonal, upper = offDiagonal
        var d = diagonal.map { $0 - mu }
        var b = x
        // The _work form: no NaN scan of T and X on every call (T was checked when its eigenvalues were taken).
        let info = LAPACKE_dgtsv_work(LAPACK_COL_MAJOR, try lapackInt(n), try lapackInt(x.cols), &lower, &d, &upper, &b.storage, try lapackInt(n))
        guard info == 0 else { throw LinalgError.lapack(routine: "dgtsv", info: info) }
        return b
    }
}

extension SymmetricTridiagonal {
    /// (T − μ·I)·x, with T in band storage for `cblas_dgbmv` (one sub- and one super-diagonal).
    public func shiftedTimes(_ mu: Double, _ x: [Double]) -> [Double] {
        let n = order
        precondition(x.count == n, "x has \(x.count) entries, T order \(n)")
        if n == 0 { return x }
        var band = [Double](repeating: 0, count: 3 * n)
        for j in 0..<n {
            if j > 0 { band[3 * j] = offDiagonal[j - 1] }
            band[1 + 3 * j] = diagonal[j] - mu
            if j < n - 1 { band[2 + 3 * j] = offDiagonal[j] }
        }
        var y = [Double](repeating: 0, count: n)
        cblas_dgbmv(CblasColMajor, CblasNoTrans, Int32(n), Int32(n), 1, 1, 1, band, 3, x, 1, 0, &y, 1)
        return y
    }
}

extension Eigen {
    /// A = Q·T·Qᵀ by Householder reduction (`dsytrd`, (4/3)n³ flops: the O(n³) part of any symmetric
    /// eigen-decomposition) and Qᵀ·X for a few columns X (`dormtr`), without forming Q. Only the
    /// lower triangle of `a` is read.
    public static func tridiagonal(_ a: Matrix, applyingTransposeTo x: Matrix) throws -> (tridiagonal: SymmetricTridiagonal, transformed: Matrix) {
        let (d, e, qx) = try householderTridiagonal(a, applyingTransposeTo: x)
        return (try SymmetricTridiagonal(diagonal: d, offDiagonal: Array(e.prefix(max(a.rows - 1, 0)))), qx)
    }

    /// T's diagonal d and off-diagonal e (n entries, the last unused: the workspace `dstemr` wants)
    /// and Qᵀ·X; the reflectors are released on return. Shared by `tridiagonal` and `projections`.
    static func householderTridiagonal(_ a: Matrix, applyingTransposeTo x: Matrix) throws -> (d: [Double], e: [Double], qx: Matrix) {
        precondition(a.rows == a.cols && x.rows == a.rows, "shapes differ")
        let n = a.rows, r = x.cols
        if n == 0 { return ([], [], x) }
        let n32 = try lapackInt(n, "matrix order"), r32 = try lapackInt(max(r, 1), "columns")
        try requireFinite(a.storage, "tridiagonal reduction (dsytrd)")
        try requireFinite(x.storage, "Qᵀ·X (dormtr)")
        var q = a.storage
        var d = [Double](repeating: 0, count: n), e = [Double](repeating: 0, count: n), tau = [Double](repeating: 0, count: n)
        let lower = Int8(UInt8(ascii: "L"))
        var info = LAPACKE_dsytrd(LAPACK_COL_MAJOR, lower, n32, &q, n32, &d, &e, &tau)
        guard info == 0 else { throw LinalgError.lapack(routine: "dsytrd", info: info) }
        var qx = x
        if r > 0 {
            info = LAPACKE_dormtr(LAPACK_COL_MAJOR, lower, lower, Int8(UInt8(ascii: "T")), n32, r32, q, n32, tau, &qx.storage, n32)
            guard info == 0 else { throw LinalgError.lapack(routine: "dormtr", info: info) }
        }
        return (d, e, qx)
    }
}
