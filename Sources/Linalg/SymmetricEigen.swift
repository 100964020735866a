import CNumerics

/// Eigenvalues (descending) and, if asked for, the matching orthonormal eigenvectors as columns.
public struct SymmetricEigen: Sendable {
    public var values: [Double]
    public var vectors: Matrix?
}

public enum Eigen {
    /// All eigenpairs of a symmetric matrix by LAPACK's `dsyevr` (MRRR), sorted descending.
    /// Only the lower triangle of `a` is read.
    public static func symmetric(_ a: Matrix, vectors: Bool = true) throws -> SymmetricEigen {
        try symmetric(a, vectors: vectors, largest: a.rows)
    }

    /// The `largest` top eigenpairs of a symmetric matrix by `dsyevr`'s index range, descending.
    /// Cheaper than the full spectrum when only the outliers are needed.
    public static func symmetric(_ a: Matrix, vectors: Bool, largest: Int) throws -> SymmetricEigen {
        precondition(a.rows == a.cols, "eigen-decomposition needs a square matrix")
        let n = a.rows
        let count = Swift.min(Swift.max(largest, 0), n)
        if n == 0 || count == 0 { return SymmetricEigen(values: [], vectors: vectors ? Matrix(rows: n, cols: 0) : nil) }
        let n32 = try lapackInt(n, "matrix order")
        try requireFinite(a.storage, "eigenvalues (dsyevr)")
        var work = a.storage
        var w = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: vectors ? n * count : 1)
        var isuppz = [Int32](repeating: 0, count: 2 * Swift.max(1, count))
        var found: Int32 = 0
        let full = count == n
        let info = work.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer { pw in
                z.withUnsafeMutableBufferPointer { pz in
                    isuppz.withUnsafeMutableBufferPointer { ps in
                        LAPACKE_dsyevr(LAPACK_COL_MAJOR,
                                       Int8(UInt8(ascii: vectors ? "V" : "N")),
                                       Int8(UInt8(ascii: full ? "A" : "I")),
                                       Int8(UInt8(ascii: "L")),
                                       n32, pa.baseAddress, n32, 0, 0,
                                       n32 - Int32(count) + 1, n32, 0,
                                       &found, pw.baseAddress, pz.baseAddress, vectors ? n32 : 1, ps.baseAddress)
                    }
                }
            }
        }
        guard info == 0 else { throw LinalgError.lapack(routine: "dsyevr", info: info) }
        let m = Int(found)
        // LAPACK returns ascending order; reverse to descending.
        let values = Array(w[0..<m].reversed())
        var vecs: Matrix? = nil
        if vectors {
            var v = Matrix(rows: n, cols: m)
            z.withUnsafeBufferPointer { pz in
                v.storage.withUnsafeMutableBufferPointer { pv in
                    for j in 0..<m {
                        let src = (m - 1 - j) * n
                        for i in 0..<n { pv[i + j * n] = pz[src + i] }
                    }
                }
            }
            vecs = v
        }
        return SymmetricEigen(values: values, vectors: vecs)
    }

    /// The symmetric PSD square root V·diag(√max(λ,0))·Vᵀ; tiny negative round-off eigenvalues are clipped to 0.
    public static func psdSquareRoot(_ a: Matrix) throws -> Matrix {
        let e = try symmetric(a, vectors: true)
        guard let v = e.vectors else { return a }
        var scaled = v
        let n = a.rows
        for j in 0..<e.values.count {
            let s = Swift.max(e.values[j], 0).squareRoot()
            for i in 0..<n { scaled[i, j] *= s }
        }
        return BLAS.multiply(scaled, v, transposeB: true)
    }
}

public enum Orthonormal {
    /// An orthonormal basis of the column span of `a` (rows ≥ cols) by Householder QR (`dgeqrf` + `dorgqr`).
    public static func columns(_ a: Matrix) throws -> Matrix {
        precondition(a.rows >= a.cols, "QR basis needs rows ≥ cols")
        let m = try lapackInt(a.rows, "rows"), n = try lapackInt(a.cols, "cols")
        if a.cols == 0 { return a }
        try requireFinite(a.storage, "QR basis (dgeqrf)")
        var q = a
        var tau = [Double](repeating: 0, count: a.cols)
        let info1 = q.storage.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, pq.baseAddress, m, pt.baseAddress)
            }
        }
        guard info1 == 0 else { throw LinalgError.lapack(routine: "dgeqrf", info: info1) }
        let info2 = q.storage.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, n, n, pq.baseAddress, m, pt.baseAddress)
            }
        }
        guard info2 == 0 else { throw LinalgError.lapack(routine: "dorgqr", info: info2) }
        return q
    }
}

/// All eigenvalues of a symmetric matrix together with Vᵀ·X, the products of every eigenvector
/// with a few given vectors X (n×r), without forming the n×n eigenvector matrix. One tridiagonal
/// reduction A = Q·T·Qᵀ (`dsytrd`), all eigenpairs of T by MRRR (`dstemr`, O(n²)), and Q applied
/// to X only (`dormtr`): Vᵀ·X = Zᵀ·(Qᵀ·X). This is the O(n³) cost of the eigenvalues alone, where
/// full eigenvectors would cost about three times as much.
public struct SpectralProjections: Sendable {
    /// Eigenvalues, descending.
    public var values: [Double]
    /// Row i holds u_iᵀ·X for the eigenvector u_i of `values[i]` (n×r).
    public var projections: Matrix

    public init(values: [Double], projections: Matrix) {
        precondition(projections.rows == values.count, "one row of projections per eigenvalue")
        (self.values, self.projections) = (values, projections)
    }
}

extension Eigen {
    public static func projections(_ a: Matrix, onto x: Matrix) throws -> SpectralProjections {
        precondition(a.rows == a.cols && x.rows == a.rows, "shapes differ")
        let n = a.rows, r = x.cols
        if n == 0 { return SpectralProjections(values: [], projections: Matrix(rows: 0, cols: r)) }
        let n32 = try lapackInt(n, "matrix order")
        let reduced = try householderTridiagonal(a, applyingTransposeTo: x)
        var d = reduced.d, e = reduced.e
        var w = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: n * n)
        var support = [Int32](repeating: 0, count: 2 * n)
        var found: Int32 = 0
        var tryrac: Int32 = 1
        let info = LAPACKE_dstemr(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "A")), n32, &d, &e, 0, 0, 0, 0,
                                  &found, &w, &z, n32, n32, &support, &tryrac)
        guard info == 0 else { throw LinalgError.lapack(routine: "dstemr", info: info) }
        let zt = Matrix(rows: n, cols: n, storage: z)
        let ascending = BLAS.multiply(zt, transposeA: true, reduced.qx)
        // Reverse to descending order.
        var p = Matrix(rows: n, cols: r)
        for j in 0..<r { for i in 0..<n { p[i, j] = ascending[n - 1 - i, j] } }
        return SpectralProjections(values: Array(w.reversed()), projections: p)
    }
}

extension Eigen {
    /// The `count` largest eigenvalues of the trailing principal block A[c:, c:] of a symmetric A,
    /// from A's spectrum and the leading c components of its eigenvectors only (row i of `leading`
    /// = first c components of the i-th eigenvector, `values` descending).
    ///
    /// By Haynsworth's inertia additivity, the number of eigenvalues of the block above μ is
    /// #{λ_i > μ} − n₊(R(μ)), with R(μ) = Σ_i v_i v_iᵀ/(λ_i − μ) the c×c corner of (A − μ)⁻¹;
    /// each eigenvalue is found by bisection on that count, within its Cauchy interlacing interval
    /// [λ_{j+c}, λ_j]. Cost O(n·c²) a step, so no second O(n³) decomposition is needed.
    public static func trailingBlockLargest(values: [Double], leading: Matrix, count: Int) throws -> [Double] {
        let n = values.count, c = leading.cols
        precondition(leading.rows == n, "one row of leading components per eigenvalue")
        var result: [Double] = []
        func above(_ mu: Double) throws -> Int {
            var scaled = leading
            var larger = 0
            for i in 0..<n {
                let s = 1 / (values[i] - mu)
                if values[i] > mu { larger += 1 }
                for j in 0..<c { scaled[i, j] *= s }
            }
            let r = BLAS.multiply(leading, transposeA: true, scaled)
            let positive = try symmetric(r, vectors: false).values.filter { $0 > 0 }.count
            return larger - positive
        }
        for j in 0..<min(count, n - c) {
            var hi = values[j]
            var lo = j + c < n ? values[j + c] : min(0, values[n - 1])
            let scale = max(abs(hi), abs(lo), .leastNormalMagnitude)
            var steps = 0
            while hi - lo > 4 * Double.ulpOfOne * scale && steps < 200 {
                let mid = 0.5 * (lo + hi)
                if try above(mid) >= j + 1 { lo = mid } else { hi = mid }
                steps += 1
            }
            result.append(0.5 * (lo + hi))
        }
        return result
    }
}
