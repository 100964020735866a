/// A dense column-major matrix of `Double`, the layout BLAS and LAPACK expect.
///
///     var a = Matrix(rows: 2, cols: 2)
///     a[0, 1] = 3   // row 0, column 1
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    /// Column-major elements: element (i, j) is `storage[i + j * rows]`.
    public var storage: [Double]

    /// A zero matrix.
    public init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.storage = [Double](repeating: 0, count: rows * cols)
    }

    /// A matrix over existing column-major storage.
    public init(rows: Int, cols: Int, storage: [Double]) {
        precondition(storage.count == rows * cols, "storage holds \(storage.count) elements, not \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A matrix whose element (i, j) is `element(i, j)`.
    public init(rows: Int, cols: Int, element: (Int, Int) -> Double) {
        self.init(rows: rows, cols: cols)
        for j in 0..<cols { for i in 0..<rows { storage[i + j * rows] = element(i, j) } }
    }

    /// Matrices with equal row counts side by side (`parts` not empty).
    public init(sideBySide parts: [Matrix]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.rows == parts[0].rows }, "side by side needs matrices with equal row counts")
        self.init(rows: parts[0].rows, cols: parts.reduce(0) { $0 + $1.cols }, storage: parts.flatMap(\.storage))
    }

    /// The columns in `range`, a copy.
    public func columns(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= cols, "columns \(range) outside 0..<\(cols)")
        return Matrix(rows: rows, cols: range.count, storage: Array(storage[(range.lowerBound * rows)..<(range.upperBound * rows)]))
    }

    /// The n×n identity.
    public static func identity(_ n: Int) -> Matrix {
        Matrix(rows: n, cols: n) { i, j in i == j ? 1 : 0 }
    }

    /// A diagonal matrix with `diagonal` on its diagonal.
    public static func diagonal(_ diagonal: [Double]) -> Matrix {
        Matrix(rows: diagonal.count, cols: diagonal.count) { i, j in i == j ? diagonal[i] : 0 }
    }

    @inlinable
    public subscript(i: Int, j: Int) -> Double {
        get {
            assert(i >= 0 && i < rows && j >= 0 && j < cols, "index (\(i), \(j)) outside \(rows)×\(cols)")
            return storage[i + j * rows]
        }
        set {
            assert(i >= 0 && i < rows && j >= 0 && j < cols, "index (\(i), \(j)) outside \(rows)×\(cols)")
            storage[i + j * rows] = newValue
        }
    }

    /// Column j as an array.
    public func column(_ j: Int) -> [Double] {
        Array(storage[(j * rows)..<((j + 1) * rows)])
    }

    /// The transpose (a copy), in cache-sized tiles.
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        let (r, c) = (rows, cols)
        let tile = 32
        storage.withUnsafeBufferPointer { src in
            t.storage.withUnsafeMutableBufferPointer { dst in
                for j0 in stride(from: 0, to: c, by: tile) {
                    for i0 in stride(from: 0, to: r, by: tile) {
                        for j in j0..<Swift.min(j0 + tile, c) {
                            for i in i0..<Swift.min(i0 + tile, r) { dst[j + i * c] = src[i + j * r] }
                        }
                    }
                }
            }
        }
        return t
    }

    /// Sum of the diagonal.
    public var trace: Double {
        var t = 0.0
        for i in 0..<Swift.min(rows, cols) { t += self[i, i] }
        return t
    }

    /// Largest absolute difference between two matrices of the same shape.
    public func maxAbsDifference(_ other: Matrix) -> Double {
        precondition(rows == other.rows && cols == other.cols, "shapes differ")
        var m = 0.0
        for k in storage.indices { m = Swift.max(m, Swift.abs(storage[k] - other.storage[k])) }
        return m
    }

    /// Largest absolute element.
    public var maxAbs: Double { storage.reduce(0) { Swift.max($0, Swift.abs($1)) } }
}
