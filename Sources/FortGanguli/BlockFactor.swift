import Linalg

/// A block-sparse mixing matrix F (rows: generator vectors in blocks of `rowBlockSize`; columns in
/// blocks of `colBlockSize`). The model's Hessian is H = Y·F·Fᵀ·Yᵀ with Y the generator vectors as
/// columns, so its nonzero spectrum is that of K = Fᵀ·W·F, W = YᵀY. F is block-diagonal for eq. 16
/// and has two blocks a column for eq. 10, so products with it cost O(m·b) a block, not a dense
/// m×m multiply.
struct BlockFactor {
    struct Entry { let row: Int; let col: Int; let block: Matrix }
    let rowBlockSize: Int
    let colBlockSize: Int
    let rowBlocks: Int
    let colBlocks: Int
    var entries: [Entry] = []

    var rows: Int { rowBlocks * rowBlockSize }
    var cols: Int { colBlocks * colBlockSize }

    /// W[:, 0..<rows]·F, (W.rows)×cols: one small `dgemm` a block on contiguous column blocks of W.
    func leftMultiplied(by w: Matrix) -> Matrix {
        precondition(w.cols >= rows, "W has \(w.cols) columns, F \(rows) rows")
        var out = Matrix(rows: w.rows, cols: cols)
        let (rb, cb) = (rowBlockSize, colBlockSize)
        for e in entries {
            BLAS.accumulateBlock(w, rows: 0..<w.rows, cols: (e.row * rb)..<((e.row + 1) * rb),
                                 e.block, rows: 0..<rb, cols: 0..<cb, into: &out, at: 0, e.col * cb)
        }
        return out
    }

    /// F·X, `rows`×b, padded with zero rows to `height` (≥ rows): one small `dgemm` a block.
    func times(_ x: Matrix, height: Int) -> Matrix {
        precondition(x.rows == cols && height >= rows, "F·X: X has \(x.rows) rows, F \(cols) columns")
        var out = Matrix(rows: height, cols: x.cols)
        let (rb, cb) = (rowBlockSize, colBlockSize)
        for e in entries {
            BLAS.accumulateBlock(e.block, rows: 0..<rb, cols: 0..<cb, x, rows: (e.col * cb)..<((e.col + 1) * cb), cols: 0..<x.cols,
                                 into: &out, at: e.row * rb, 0)
        }
        return out
    }

    /// Fᵀ·Y[0..<rows], `cols`×b.
    func transposeTimes(_ y: Matrix) -> Matrix {
        precondition(y.rows >= rows, "Fᵀ·Y: Y has \(y.rows) rows, F \(rows)")
        var out = Matrix(rows: cols, cols: y.cols)
        let (rb, cb) = (rowBlockSize, colBlockSize)
        for e in entries {
            BLAS.accumulateBlock(e.block, rows: 0..<rb, cols: 0..<cb, transposeA: true, y, rows: (e.row * rb)..<((e.row + 1) * rb),
                                 cols: 0..<y.cols, into: &out, at: e.col * cb, 0)
        }
        return out
    }
}
