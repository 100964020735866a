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
