import CNumerics

public enum SingularValues {
    /// All min(rows, cols) singular values of `a`, descending, by LAPACK's divide-and-conquer SVD
    /// (`dgesdd`, no singular vectors).
    ///
    ///     let s = try SingularValues.of(a)
    ///     let r = SingularValues.rank(s, rows: a.rows, cols: a.cols)
    public static func of(_ a: Matrix) throws -> [Double] {
        let m = try lapackInt(a.rows, "rows"), n = try lapackInt(a.cols, "cols")
        let k = Swift.min(a.rows, a.cols)
        if k == 0 { return [] }
        try requireFinite(a.storage, "singular values (dgesdd)")
        var work = a.storage
        var s = [Double](repeating: 0, count: k)
        var unused = [Double](repeating: 0, count: 1)
        let info = work.withUnsafeMutableBufferPointer { pa in
            s.withUnsafeMutableBufferPointer { ps in
                unused.withUnsafeMutableBufferPointer { pu in
                    LAPACKE_dgesdd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "N")), m, n, pa.baseAddress, m, ps.baseAddress,
                                   pu.baseAddress, 1, pu.baseAddress, 1)
                }
            }
        }
        guard info == 0 else { throw LinalgError.lapack(routine: "dgesdd", info: info) }
        return s
    }

    /// The numerical rank: the number of singular values above σ_max·max(rows, cols)·ε, the
    /// tolerance of numpy.linalg.matrix_rank (a bound on the round-off of a backward-stable SVD,
    /// so a value below it cannot be told from zero).
    public static func rank(_ values: [Double], rows: Int, cols: Int) -> Int {
        values.filter { $0 > threshold(values, rows: rows, cols: cols) }.count
    }

    /// The tolerance `rank` uses.
    public static func threshold(_ values: [Double], rows: Int, cols: Int) -> Double {
        (values.max() ?? 0) * Double(Swift.max(rows, cols)) * Double.ulpOfOne
    }
}
