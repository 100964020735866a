import Linalg

/// A sparse matrix of b×b blocks, Mᵀ in H = Yᵀ·Mᵀ·M·Y... more precisely: the model's Hessian is
/// H = Bᵀ·B with Bᵀ = Y·F, where Y holds the generator vectors as columns and F (this type) mixes
/// them. F is block-sparse: block-diagonal for eq. 16, two blocks a column for eq. 10. Products
/// with it cost O(rows·b) per block instead of a dense m×m multiply.
struct BlockFactor {
    struct Entry { let row: Int; let col: Int; let block: Matrix }
    let blockSize: Int
    let rowBlocks: Int
    let colBlocks: Int
    var entries: [Entry] = []

    var rows: Int { rowBlocks * blockSize }
    var cols: Int { colBlocks * blockSize }

    /// W·F for W with `rows` columns among its leading ones: (W.rows)×cols. `wCols` offsets into W.
    func leftMultiplied(by w: Matrix, rows wRows: Range<Int>) -> Matrix {
        var out = Matrix(rows: wRows.count, cols: cols)
        let b = blockSize
        for e in entries {
            BLAS.accumulateBlock(w, rows: wRows, cols: (e.row * b)..<((e.row + 1) * b),
                                 e.block, rows: 0..<b, cols: 0..<b, into: &out, at: 0, e.col * b)
        }
        return out
    }

    /// Fᵀ·T for T whose leading `rows` rows are indexed like F's rows: cols×(T.cols).
    func transposeMultiplied(_ t: Matrix, cols tCols: Range<Int>) -> Matrix {
        var out = Matrix(rows: cols, cols: tCols.count)
        let b = blockSize
        for e in entries {
            BLAS.accumulateBlock(e.block, rows: 0..<b, cols: 0..<b, transposeA: true,
                                 t, rows: (e.row * b)..<((e.row + 1) * b), cols: tCols, into: &out, at: e.col * b, 0)
        }
        return out
    }

    /// Fᵀ·v for a vector indexed like F's rows.
    func transposeMultiplied(_ v: [Double]) -> [Double] {
        let t = Matrix(rows: v.count, cols: 1, storage: v)
        return transposeMultiplied(t, cols: 0..<1).storage
    }
}
