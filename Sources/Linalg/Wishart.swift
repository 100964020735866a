import CNumerics
import Dispatch

/// Sampling of Gram matrices of Gaussian vectors without the vectors.
public enum Wishart {
    /// W ~ Wishart_n(dof, I): the n×n Gram XᵀX of a dof×n standard Gaussian matrix X, sampled
    /// exactly by the Bartlett decomposition in O(n³/3) work, independent of `dof` (which may be 10¹²).
    /// W = U·Uᵀ with U upper triangular, U_ii = √χ²(dof − (n−1−i)), U_ij ~ N(0,1) for i < j: this is
    /// the reversed-index form of the usual L·Lᵀ, equal in distribution because a permutation
    /// leaves Wishart_n(dof, I) invariant; it lets LAPACK's `dlauum` form the product.
    public static func bartlett(order n: Int, degreesOfFreedom dof: Double, stream: RandomStream) throws -> Matrix {
        var u = bartlettFactor(order: n, degreesOfFreedom: dof, stream: stream)
        if n == 0 { return u }
        let n32 = try lapackInt(n, "Wishart order")
        let info = u.storage.withUnsafeMutableBufferPointer { p in
            LAPACKE_dlauum(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), n32, p.baseAddress, n32)
        }
        guard info == 0 else { throw LinalgError.lapack(routine: "dlauum", info: info) }
        // dlauum leaves U·Uᵀ in the upper triangle; mirror it.
        u.storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<n { for i in (j + 1)..<max(j + 1, n) { p[i + j * n] = p[j + i * n] } }
        }
        return u
    }

    /// The Bartlett factor U of `bartlett` (W = U·Uᵀ, U upper triangular, zeros below the diagonal),
    /// the same numbers for the same stream: O(n²) draws and no O(n³) product, for callers that only
    /// apply W (two triangular multiplies, `Triangular.multiplyUpper`) or need few of its entries.
    public static func bartlettFactor(order n: Int, degreesOfFreedom dof: Double, stream: RandomStream) -> Matrix {
        precondition(dof > Double(n - 1), "Bartlett sampling needs dof > n − 1 (dof \(dof), n \(n))")
        if n == 0 { return Matrix(rows: 0, cols: 0) }
        // Columns in fixed blocks, each block from its own sub-stream of `stream`'s seed, filled on
        // all cores: the numbers depend only on (stream, n, dof), not on scheduling. Each column is
        // written whole (its zeros too) by the core that draws it, so the storage is touched once and
        // in parallel: zero-filling it first cost a single-threaded pass of page faults (1.2 s of the
        // 1.7 s at m = 10010).
        let block = 128
        let blocks = (n + block - 1) / block
        let seeds = (0..<blocks).map { _ in UInt64(stream.uniformInt(Int(UInt32.max))) }
        let storage = [Double](unsafeUninitializedCapacity: n * n) { p, initialized in
            let base = UnsafeSendablePointer(p.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let s = RandomStream(seed: seeds[b], stream: UInt64(b))
                for j in (b * block)..<min(n, (b + 1) * block) {
                    let column = base.pointer + j * n
                    s.fill(column, count: j)
                    column[j] = s.chiSquared(dof - Double(n - 1 - j)).squareRoot()
                    (column + j + 1).initialize(repeating: 0, count: n - j - 1)
                }
            }
            initialized = n * n
        }
        return Matrix(rows: n, cols: n, storage: storage)
    }
}

public enum Triangular {
    /// U·X (or Uᵀ·X with `transpose`) for U upper triangular n×n and X n×b, in place (`dtrmm`):
    /// n²·b flops, U streamed once for all b columns.
    public static func multiplyUpper(_ u: Matrix, transpose: Bool = false, _ x: inout Matrix) {
        precondition(u.rows == u.cols && x.rows == u.rows, "shapes differ: \(u.rows)×\(u.cols) and \(x.rows)×\(x.cols)")
        if x.rows == 0 || x.cols == 0 { return }
        u.storage.withUnsafeBufferPointer { pu in
            x.storage.withUnsafeMutableBufferPointer { px in
                cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, transpose ? CblasTrans : CblasNoTrans, CblasNonUnit,
                            blasInt(x.rows), blasInt(x.cols), 1, pu.baseAddress, blasInt(u.rows), px.baseAddress, blasInt(x.rows))
            }
        }
    }

    /// U·Uᵀ·X for U upper triangular n×n with zeros stored below the diagonal (as
    /// `Wishart.bartlettFactor` gives it), in one pass over U: U·Uᵀ = Σ_J U_J·U_Jᵀ over column
    /// panels J, and each panel (its rows up to the panel's last; the rest are zero) serves both
    /// products while it is in cache. Two `dtrmm` stream U from memory twice, and at a few columns
    /// that pass, not the arithmetic, is the cost: measured at n = 10010, 52 ms instead of 75 ms
    /// for 8 columns, 89 instead of 116 for 24. The panels are fixed by n, so the numbers depend
    /// only on U and X (and the BLAS).
    public static func gramTimes(upper u: Matrix, _ x: Matrix, panel: Int = 256) -> Matrix {
        let n = u.rows, b = x.cols
        precondition(u.rows == u.cols && x.rows == n, "U·Uᵀ·X needs \(n) rows, got \(x.rows)")
        var out = Matrix(rows: n, cols: b)
        if n == 0 || b == 0 { return out }
        var panelTimesX = Matrix(rows: panel, cols: b)
        for start in stride(from: 0, to: n, by: panel) {
            let columns = start..<min(n, start + panel)
            let rows = 0..<columns.upperBound
            // T = U_Jᵀ·X (overwriting the last panel's), then Y += U_J·T.
            for k in panelTimesX.storage.indices { panelTimesX.storage[k] = 0 }
            BLAS.accumulateBlock(u, rows: rows, cols: columns, transposeA: true, x, rows: rows, cols: 0..<b, into: &panelTimesX, at: 0, 0)
            BLAS.accumulateBlock(u, rows: rows, cols: columns, panelTimesX, rows: 0..<columns.count, cols: 0..<b, into: &out, at: 0, 0)
        }
        return out
    }

    /// The upper Cholesky factor R of a symmetric positive definite matrix, A = RᵀR (`dpotrf`).
    public static func cholesky(_ a: Matrix) throws -> Matrix {
        precondition(a.rows == a.cols, "Cholesky needs a square matrix")
        var r = a
        let n = try lapackInt(a.rows, "order")
        if a.rows == 0 { return r }
        try requireFinite(a.storage, "Cholesky factor (dpotrf)")
        let info = r.storage.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), n, p.baseAddress, n)
        }
        guard info == 0 else { throw LinalgError.lapack(routine: "dpotrf", info: info) }
        for j in 0..<a.cols { for i in (j + 1)..<max(j + 1, a.rows) { r[i, j] = 0 } }
        return r
    }

    /// B·R⁻¹ for R upper triangular (`dtrsm`), e.g. orthonormalising Q = G·R⁻¹ with GᵀG = RᵀR.
    public static func solveRight(_ b: Matrix, upper r: Matrix) -> Matrix {
        precondition(r.rows == r.cols && b.cols == r.rows, "shapes differ")
        var x = b
        if b.rows == 0 || b.cols == 0 { return x }
        r.storage.withUnsafeBufferPointer { pr in
            x.storage.withUnsafeMutableBufferPointer { px in
                cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit,
                            blasInt(b.rows), blasInt(b.cols), 1, pr.baseAddress, blasInt(r.rows), px.baseAddress, blasInt(b.rows))
            }
        }
        return x
    }
}
