import CNumerics
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Level-3 and level-2 BLAS products on `Matrix`, all bound to OpenBLAS.
public enum BLAS {
    /// C = α·op(A)·op(B), where op transposes when asked. One `dgemm`.
    public static func multiply(_ a: Matrix, transposeA: Bool = false,
                                _ b: Matrix, transposeB: Bool = false,
                                alpha: Double = 1) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "inner dimensions differ: \(k) vs \(kb)")
        var c = Matrix(rows: m, cols: n)
        if m == 0 || n == 0 { return c }
        if k == 0 { return c }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasColMajor,
                                transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans,
                                blasInt(m), blasInt(n), blasInt(k), alpha,
                                pa.baseAddress, blasInt(Swift.max(1, a.rows)),
                                pb.baseAddress, blasInt(Swift.max(1, b.rows)),
                                0, pc.baseAddress, blasInt(Swift.max(1, m)))
                }
            }
        }
        return c
    }

    /// The Gram matrix α·AᵀA (`transpose: true`, cols×cols) or α·AAᵀ (rows×rows), full symmetric.
    /// One `dsyrk` on the lower triangle, then mirrored.
    public static func gram(_ a: Matrix, transpose: Bool = true, alpha: Double = 1) -> Matrix {
        var c = Matrix(rows: transpose ? a.cols : a.rows, cols: transpose ? a.cols : a.rows)
        accumulateGram(a, transpose: transpose, alpha: alpha, into: &c)
        return c
    }

    /// C += α·AᵀA (or α·AAᵀ), keeping C full symmetric. Used to add a low-rank term to a Gram.
    public static func accumulateGram(_ a: Matrix, transpose: Bool = true, alpha: Double = 1,
                                      into c: inout Matrix) {
        let n = transpose ? a.cols : a.rows
        let k = transpose ? a.rows : a.cols
        precondition(c.rows == n && c.cols == n, "target is \(c.rows)×\(c.cols), not \(n)×\(n)")
        if n == 0 || k == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            c.storage.withUnsafeMutableBufferPointer { pc in
                cblas_dsyrk(CblasColMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans,
                            blasInt(n), blasInt(k), alpha, pa.baseAddress, blasInt(Swift.max(1, a.rows)),
                            1, pc.baseAddress, blasInt(n))
            }
        }
        c.symmetrizeFromLower()
    }

    /// Writes α·A[:, columns]·F into the same columns of `out` (A and out with equal row counts,
    /// F square of size columns.count). One `dgemm` on sub-blocks, without copies.
    public static func multiplyBlock(_ a: Matrix, columns: Range<Int>, by f: Matrix, alpha: Double = 1,
                                     into out: inout Matrix) {
        precondition(a.rows == out.rows && f.rows == columns.count && f.cols == columns.count, "block shapes differ")
        precondition(columns.upperBound <= a.cols && columns.upperBound <= out.cols, "columns out of range")
        let m = a.rows, k = columns.count
        if m == 0 || k == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            f.storage.withUnsafeBufferPointer { pf in
                out.storage.withUnsafeMutableBufferPointer { po in
                    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, blasInt(m), blasInt(k), blasInt(k), alpha,
                                pa.baseAddress! + columns.lowerBound * m, blasInt(m), pf.baseAddress, blasInt(k),
                                0, po.baseAddress! + columns.lowerBound * m, blasInt(m))
                }
            }
        }
    }

    /// C[cRow…, cCol…] += α·op(A[aRows, aCols])·op(B[bRows, bCols]): one `dgemm` on sub-blocks addressed
    /// in place (leading dimensions of the parents), for block-structured products without copies.
    public static func accumulateBlock(_ a: Matrix, rows aRows: Range<Int>, cols aCols: Range<Int>, transposeA: Bool = false,
                                       _ b: Matrix, rows bRows: Range<Int>, cols bCols: Range<Int>, transposeB: Bool = false,
                                       alpha: Double = 1, into c: inout Matrix, at cRow: Int, _ cCol: Int) {
        let m = transposeA ? aCols.count : aRows.count
        let k = transposeA ? aRows.count : aCols.count
        let n = transposeB ? bRows.count : bCols.count
        precondition(k == (transposeB ? bCols.count : bRows.count), "inner dimensions differ")
        precondition(aRows.upperBound <= a.rows && aCols.upperBound <= a.cols && bRows.upperBound <= b.rows
                     && bCols.upperBound <= b.cols && cRow + m <= c.rows && cCol + n <= c.cols, "block out of range")
        if m == 0 || n == 0 || k == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasColMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                blasInt(m), blasInt(n), blasInt(k), alpha,
                                pa.baseAddress! + aRows.lowerBound + aCols.lowerBound * a.rows, blasInt(a.rows),
                                pb.baseAddress! + bRows.lowerBound + bCols.lowerBound * b.rows, blasInt(b.rows),
                                1, pc.baseAddress! + cRow + cCol * c.rows, blasInt(c.rows))
                }
            }
        }
    }

    /// y = α·op(A)·x. One `dgemv`.
    public static func multiply(_ a: Matrix, transpose: Bool = false, _ x: [Double], alpha: Double = 1) -> [Double] {
        let n = transpose ? a.rows : a.cols
        precondition(x.count == n, "vector has \(x.count) elements, operator takes \(n)")
        var y = [Double](repeating: 0, count: transpose ? a.cols : a.rows)
        if a.rows == 0 || a.cols == 0 { return y }
        a.storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_dgemv(CblasColMajor, transpose ? CblasTrans : CblasNoTrans,
                                blasInt(a.rows), blasInt(a.cols), alpha, pa.baseAddress, blasInt(a.rows),
                                px.baseAddress, 1, 0, py.baseAddress, 1)
                }
            }
        }
        return y
    }

    /// x·y. One `ddot`.
    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "vectors differ in length")
        return x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in cblas_ddot(blasInt(x.count), px.baseAddress, 1, py.baseAddress, 1) }
        }
    }

    /// The library `cblas_dgemm` binds to at run time (for the OpenBLAS check), and OpenBLAS's build string.
    public static var provider: (library: String, config: String) {
        let lib = sharedObject(containing: "cblas_dgemm") ?? "unresolved"
        let config = openblas_get_config().map { String(cString: $0) } ?? "not OpenBLAS"
        return (lib, config)
    }
}

extension BLAS {
    /// The CPU family OpenBLAS's kernels were chosen for (`openblas_get_corename`: "SkylakeX",
    /// "Haswell", "Prescott", …).
    public static var kernelCore: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// The environment variable through which OpenBLAS takes its kernels' CPU family; it is read once,
    /// when the library loads.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// The kernels to ask OpenBLAS for (the value of `OPENBLAS_CORETYPE`) when its run-time detection
    /// fell back to the generic Prescott (SSE3) kernels on a CPU with AVX2 or AVX-512, or nil when
    /// there is nothing to mend: the detection found a family, the CPU is that old, or
    /// `OPENBLAS_CORETYPE` is set already (a choice that stands).
    ///
    /// Debian 12's OpenBLAS 0.3.21 falls back so on CPUs newer than itself (an Intel Xeon with
    /// AVX-512 FP16 here; OpenBLAS issue 4267, mended in 0.3.25): every `dgemm` and tridiagonal
    /// reduction then takes about twice as long (the 3000×3000 eigenvalues 2.0 s against 1.3 s,
    /// `measure` on the 784-256-256-10 MLP 23 s against 13 s). SkylakeX's kernels run on any CPU
    /// with AVX-512 F, DQ, BW, VL and CD; Haswell's on any with AVX2 and FMA.
    public static func kernelOverride(core: String = kernelCore,
                                      environment: [String: String] = ProcessInfo.processInfo.environment,
                                      avx512: Bool = cn_cpu_has_avx512() != 0,
                                      avx2: Bool = cn_cpu_has_avx2_fma() != 0) -> String? {
        guard core == "Prescott", environment[coreTypeVariable] == nil else { return nil }
        return avx512 ? "SkylakeX" : avx2 ? "Haswell" : nil
    }
}

extension Matrix {
    /// Copies the lower triangle onto the upper one.
    public mutating func symmetrizeFromLower() {
        precondition(rows == cols, "not square")
        let n = rows
        storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<n { for i in (j + 1)..<Swift.max(j + 1, n) { p[j + i * n] = p[i + j * n] } }
        }
    }

    /// A·B.
    public static func * (a: Matrix, b: Matrix) -> Matrix { BLAS.multiply(a, b) }

    /// Element-wise sum.
    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shapes differ")
        var c = a
        for k in c.storage.indices { c.storage[k] += b.storage[k] }
        return c
    }

    /// Scalar multiple.
    public static func * (s: Double, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, cols: a.cols, storage: a.storage.map { s * $0 })
    }
}

/// The mapped file that holds `symbol` as the program's global scope resolves it (the binding the
/// program actually uses), read from /proc/self/maps. Linux only; nil elsewhere.
func sharedObject(containing symbol: String) -> String? {
    guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, symbol) else { return nil }
    let target = UInt(bitPattern: address)
    // /proc files report size 0, so read until end of file rather than by size.
    guard let file = FileHandle(forReadingAtPath: "/proc/self/maps") else { return nil }
    defer { try? file.close() }
    let maps = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    for line in maps.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6 else { continue }
        let range = fields[0].split(separator: "-")
        guard range.count == 2, let lo = UInt(range[0], radix: 16), let hi = UInt(range[1], radix: 16) else { continue }
        if target >= lo && target < hi { return fields[5...].joined(separator: " ") }
    }
    return nil
}
