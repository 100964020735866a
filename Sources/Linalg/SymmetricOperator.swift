/// A symmetric linear operator on Rⁿ: a dense matrix, a Gram-space matrix, or a network's
/// Hessian-vector product. The matrix-free estimators in `Lanczos` see an operator only through
/// `apply`, and count every call, since for a network each one is a forward and a backward pass.
public protocol SymmetricOperator {
    /// n, the length of the vectors the operator takes and returns.
    var dimension: Int { get }
    /// A·v for a vector of `dimension` elements.
    func apply(_ v: [Double]) -> [Double]
    /// A·X for the columns of X (`dimension` rows). Operators whose cost per vector falls in blocks
    /// (a triangular factor streamed once for all columns, a network's layer-by-layer products)
    /// implement it; the default applies `apply` column by column.
    func applyBlock(_ x: Matrix) -> Matrix
}

extension SymmetricOperator {
    public func applyBlock(_ x: Matrix) -> Matrix { appliedColumnByColumn(x) }

    /// The whole n×n matrix, column j = A·e_j, the identity applied `block` columns at a time;
    /// with `symmetrised`, (A + Aᵀ)/2, otherwise as computed, so its asymmetry shows the round-off.
    public func assembled(block: Int, symmetrised: Bool = false) -> Matrix {
        let n = dimension
        var a = Matrix(rows: n, cols: n)
        var j = 0
        while j < n {
            let w = Swift.min(Swift.max(block, 1), n - j)
            var e = Matrix(rows: n, cols: w)
            for c in 0..<w { e[j + c, c] = 1 }
            a.storage.replaceSubrange((j * n)..<((j + w) * n), with: applyBlock(e).storage)
            j += w
        }
        if symmetrised { symmetrise(&a) }
        return a
    }

    /// A·X by one `apply` a column.
    public func appliedColumnByColumn(_ x: Matrix) -> Matrix {
        precondition(x.rows == dimension, "a block of \(x.rows)-vectors given to a \(dimension)-dimensional operator")
        var y = Matrix(rows: x.rows, cols: x.cols)
        for j in 0..<x.cols { y.storage.replaceSubrange((j * x.rows)..<((j + 1) * x.rows), with: apply(x.column(j))) }
        return y
    }
}

/// A ← (A + Aᵀ)/2 for a square matrix, in place.
func symmetrise(_ a: inout Matrix) {
    let n = a.rows
    for c in 0..<n { for r in (c + 1)..<Swift.max(c + 1, n) { let s = 0.5 * (a[r, c] + a[c, r]); a[r, c] = s; a[c, r] = s } }
}

/// A square matrix as an operator (one `dgemv` an application). Only square matrices qualify:
/// `dimension` traps on a rectangular one. Symmetry is the caller's promise, as for `Eigen.symmetric`.
extension Matrix: SymmetricOperator {
    public var dimension: Int {
        precondition(rows == cols, "a \(rows)×\(cols) matrix is not an operator on one space")
        return rows
    }

    public func apply(_ v: [Double]) -> [Double] {
        precondition(rows == cols, "a \(rows)×\(cols) matrix is not an operator on one space")
        return BLAS.multiply(self, v)
    }

    /// One `dgemm`.
    public func applyBlock(_ x: Matrix) -> Matrix {
        precondition(rows == cols, "a \(rows)×\(cols) matrix is not an operator on one space")
        return BLAS.multiply(self, x)
    }
}

/// An operator given by a closure, e.g. a Hessian-vector product `{ v in model.hvp(v) }`, or by a
/// block closure `{ X in model.hessianTimes(X) }` that serves single vectors as one-column blocks.
///
///     let op = ClosureOperator(dimension: 3) { v in v.map { 2 * $0 } }
public struct ClosureOperator: SymmetricOperator {
    public let dimension: Int
    private let body: ([Double]) -> [Double]
    private let blockBody: ((Matrix) -> Matrix)?

    public init(dimension: Int, _ apply: @escaping ([Double]) -> [Double]) {
        precondition(dimension >= 0, "dimension must be non-negative")
        self.dimension = dimension
        self.body = apply
        self.blockBody = nil
    }

    public init(dimension: Int, block: @escaping (Matrix) -> Matrix) {
        precondition(dimension >= 0, "dimension must be non-negative")
        self.dimension = dimension
        self.body = { v in block(Matrix(rows: v.count, cols: 1, storage: v)).storage }
        self.blockBody = block
    }

    public func apply(_ v: [Double]) -> [Double] {
        let y = body(v)
        precondition(y.count == dimension, "operator returned \(y.count) elements, not \(dimension)")
        return y
    }

    public func applyBlock(_ x: Matrix) -> Matrix {
        guard let blockBody else { return appliedColumnByColumn(x) }
        let y = blockBody(x)
        precondition(y.rows == dimension && y.cols == x.cols, "operator returned \(y.rows)×\(y.cols), not \(dimension)×\(x.cols)")
        return y
    }
}
