import Foundation
import Linalg

/// The generator Gram held as its Bartlett factor, W = S·U·Uᵀ·S (U upper triangular of order
/// m + R·d, S the generator scales), never formed: what `--spectrum top` works with. Each product
/// W·X costs n²·b multiply-adds in one pass over U for all columns of X; an entry block of W
/// costs a product of two row panels of U, which start at the later block's first row because U is
/// upper triangular; inner products of sparse combinations of generators (the logit gradients)
/// are read column by column of U, two passes, no storage.
struct GramFactor {
    /// U, upper triangular, the numbers `Wishart.bartlett` would multiply out.
    let upper: Matrix
    /// S: the scale of each generator, then 1 for the hyperplane columns.
    let scales: [Double]

    var order: Int { upper.rows }

    /// W·X for X with `order` rows (zero rows where X has no component), in one pass over U
    /// (`Triangular.gramTimes`).
    func times(_ x: Matrix) -> Matrix {
        precondition(x.rows == order, "W·X needs \(order) rows, got \(x.rows)")
        var y = x
        scale(&y)
        y = Triangular.gramTimes(upper: upper, y)
        scale(&y)
        return y
    }

    private func scale(_ y: inout Matrix) {
        let n = order
        y.storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<y.cols { for i in 0..<n { p[i + j * n] *= scales[i] } }
        }
    }

    /// W[rows, cols] for two contiguous index ranges: S·U[rows, j₀…]·U[cols, j₀…]ᵀ·S with
    /// j₀ = max of the ranges' first indices (columns before it are zero in one panel or the other).
    func entries(rows: Range<Int>, cols: Range<Int>) -> Matrix {
        var out = Matrix(rows: rows.count, cols: cols.count)
        let start = max(rows.lowerBound, cols.lowerBound)
        BLAS.accumulateBlock(upper, rows: rows, cols: start..<order, upper, rows: cols, cols: start..<order, transposeB: true,
                             into: &out, at: 0, 0)
        for j in 0..<cols.count { for i in 0..<rows.count { out[i, j] *= scales[rows.lowerBound + i] * scales[cols.lowerBound + j] } }
        return out
    }

    /// The diagonal blocks W[R_a, R_a] of the row blocks R_a = a·size..<(a + 1)·size listed, in one
    /// pass over U's columns on all cores: column j adds the outer product of U[R_a, j] to every
    /// block that starts at or above row j (U is upper triangular). A block's own product of row
    /// panels (`entries`) reads U across its columns, a strided access; at N = 1000 the thousand
    /// noise blocks of `TopSpectrum.trace` took 0.27 s that way.
    func diagonalBlocks(_ blocks: [Int], size: Int) -> [Int: Matrix] {
        let n = order
        let chunks = coordinateChunks
        let blockSize = size * size
        final class Partial: @unchecked Sendable { var values: [[Double]]; init(_ n: Int) { values = Array(repeating: [], count: n) } }
        let partial = Partial(chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            var sums = [Double](repeating: 0, count: blocks.count * blockSize)
            upper.storage.withUnsafeBufferPointer { u in
                sums.withUnsafeMutableBufferPointer { sums in
                    for j in chunks[index] {
                        let column = u.baseAddress! + j * n
                        for (slot, a) in blocks.enumerated() where a * size <= j {
                            let first = a * size
                            let rows = min(size, j + 1 - first)
                            let target = sums.baseAddress! + slot * blockSize
                            for q in 0..<rows {
                                let x = column[first + q]
                                for p in 0...q { target[p + q * size] += column[first + p] * x }
                            }
                        }
                    }
                }
            }
            partial.values[index] = sums
        }
        var result = [Int: Matrix]()
        for (slot, a) in blocks.enumerated() {
            var w = Matrix(rows: size, cols: size)
            for part in partial.values { for k in 0..<blockSize { w.storage[k] += part[slot * blockSize + k] } }
            for q in 0..<size {
                for p in 0...q {
                    let value = w[p, q] * scales[a * size + p] * scales[a * size + q]
                    w[p, q] = value
                    w[q, p] = value
                }
            }
            result[a] = w
        }
        return result
    }

    /// W[rows, rows] for any set of indices (gathered row panels).
    func entries(_ indices: [Int]) -> Matrix {
        let first = indices.min() ?? 0
        let width = order - first
        var panel = Matrix(rows: indices.count, cols: width)
        for (i, r) in indices.enumerated() { for j in 0..<width { panel[i, j] = upper[r, first + j] * scales[r] } }
        return BLAS.gram(panel, transpose: false)
    }

    /// Coordinates x = Uᵀ·S·a of sparse combinations a of generators, for coordinates `columns` only:
    /// row i of the result is combination i (`terms[i·width + t]` generators, −1 for unused slots,
    /// with `weights` alike), column j − columns.lowerBound its coordinate j. Inner products of the
    /// coordinates over all columns are those of the D-vectors. U's zero lower triangle makes
    /// x_j = Σ_t w_t·s_{r_t}·U[r_t, j] right for every j without a test.
    func coordinates(terms: [Int], width: Int, weights: [Double], columns: Range<Int>) -> Matrix {
        let n = order
        let count = terms.count / width
        var out = Matrix(rows: count, cols: columns.count)
        // The used slots only, combination by combination (CSR): start[i]..<start[i + 1].
        var rows = [Int](), scaled = [Double](), start = [0]
        for i in 0..<count {
            for t in (i * width)..<((i + 1) * width) where terms[t] >= 0 {
                rows.append(terms[t])
                scaled.append(weights[t] * scales[terms[t]])
            }
            start.append(rows.count)
        }
        upper.storage.withUnsafeBufferPointer { u in
            out.storage.withUnsafeMutableBufferPointer { o in
                rows.withUnsafeBufferPointer { rows in
                    scaled.withUnsafeBufferPointer { scaled in
                        start.withUnsafeBufferPointer { start in
                            for (offset, j) in columns.enumerated() {
                                let column = u.baseAddress! + j * n
                                let target = o.baseAddress! + offset * count
                                for i in 0..<count {
                                    var x = 0.0
                                    for t in start[i]..<start[i + 1] { x += scaled[t] * column[rows[t]] }
                                    target[i] = x
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Columns of U in chunks for `coordinates`, so two cores can each take half.
    var coordinateChunks: [Range<Int>] {
        let size = 64
        return stride(from: 0, to: order, by: size).map { $0..<min(order, $0 + size) }
    }
}
