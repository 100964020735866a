/// A symmetric linear operator on Rⁿ: a dense matrix, a Gram-space matrix, or a network's
/// Hessian-vector product. The matrix-free estimators in `Lanczos` see an operator only through
/// `apply`, and count every call, since for a network each one is a forward and a backward pass.
public protocol SymmetricOperator {
    /// n, the length of the vectors the operator takes and returns.
    var dimension: Int { get }
    /// A·v for a vector of `dimension` elements.
    func apply(_ v: [Double]) -> [Double]
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
}

/// An operator given by a closure, e.g. a Hessian-vector product `{ v in model.hvp(v) }`.
///
///     let op = ClosureOperator(dimension: 3) { v in v.map { 2 * $0 } }
public struct ClosureOperator: SymmetricOperator {
    public let dimension: Int
    private let body: ([Double]) -> [Double]

    public init(dimension: Int, _ apply: @escaping ([Double]) -> [Double]) {
        precondition(dimension >= 0, "dimension must be non-negative")
        self.dimension = dimension
        self.body = apply
    }

    public func apply(_ v: [Double]) -> [Double] {
        let y = body(v)
        precondition(y.count == dimension, "operator returned \(y.count) elements, not \(dimension)")
        return y
    }
}
