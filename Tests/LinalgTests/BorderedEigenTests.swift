import XCTest
@testable import Linalg

/// The bordered solver against a dense eigen-decomposition of the assembled K = [[A, Bᵀ], [B, E]].
final class BorderedEigenTests: XCTestCase {
    struct Case {
        let bordered: BorderedEigen
        let dense: Matrix
        /// Coordinates of n-vectors (columns) in the trailing block's basis.
        let coordinates: (Matrix) throws -> Matrix
    }

    /// E = V·diag(Λ)·Vᵀ with V Haar-random, A and B Gaussian scaled by `coupling`; E given to the
    /// solver as its spectrum (a diagonal T in V's basis), or with `reduce` as its Householder
    /// tridiagonal form (`Eigen.tridiagonal`).
    func make(_ values: [Double], width l: Int, coupling: Double, seed: UInt64, reduce: Bool = false) throws -> Case {
        let n = values.count
        let stream = RandomStream(seed: seed)
        let v = try Orthonormal.columns(stream.gaussianMatrix(rows: n, cols: n))
        var vd = v
        for j in 0..<n { for i in 0..<n { vd[i, j] *= values[j] } }
        let e = BLAS.multiply(vd, v, transposeB: true)
        let g = stream.gaussianMatrix(rows: l, cols: l)
        let a = Matrix(rows: l, cols: l) { i, j in coupling * (g[i, j] + g[j, i]) }
        var b = stream.gaussianMatrix(rows: n, cols: l)
        for k in b.storage.indices { b.storage[k] *= coupling }
        var k = Matrix(rows: n + l, cols: n + l)
        for j in 0..<l { for i in 0..<l { k[i, j] = a[i, j] } }
        for j in 0..<l { for i in 0..<n { k[l + i, j] = b[i, j]; k[j, l + i] = b[i, j] } }
        for j in 0..<n { for i in 0..<n { k[l + i, l + j] = 0.5 * (e[i, j] + e[j, i]) } }
        if reduce {
            let (t, z) = try Eigen.tridiagonal(e, applyingTransposeTo: b)
            return Case(bordered: BorderedEigen(corner: a, trailing: t, coupling: z), dense: k,
                        coordinates: { try Eigen.tridiagonal(e, applyingTransposeTo: $0).transformed })
        }
        let diagonal = try SymmetricTridiagonal(diagonal: values, offDiagonal: [Double](repeating: 0, count: n - 1))
        return Case(bordered: BorderedEigen(corner: a, trailing: diagonal, coupling: BLAS.multiply(v, transposeA: true, b)), dense: k,
                    coordinates: { BLAS.multiply(v, transposeA: true, $0) })
    }

    /// Every eigenvalue of K, outliers, the perturbed bulk and the bottom, agrees with `dsyevr` to
    /// 1e-12·‖K‖, and each unit eigenvector's products with two probe vectors agree up to sign.
    func testAllEigenpairsMatchTheDenseDecomposition() throws {
        for reduce in [false, true] { try assertAllEigenpairs(reduce: reduce) }
    }

    func assertAllEigenpairs(reduce: Bool) throws {
        let n = 80, l = 4
        let stream = RandomStream(seed: 21)
        let values = (0..<n).map { _ in 1 + 0.3 * stream.gaussian() }.sorted(by: >)
        let c = try make(values, width: l, coupling: 1.5, seed: 4, reduce: reduce)
        let exact = try Eigen.symmetric(c.dense, vectors: true)
        // Probes [s; t] in the full space: leading s, trailing Vᵀt in E's eigenbasis.
        let probes = stream.gaussianMatrix(rows: n + l, cols: 2)
        let leading = Matrix(rows: l, cols: 2) { i, j in probes[i, j] }
        let trailing = try c.coordinates(Matrix(rows: n, cols: 2) { i, j in probes[l + i, j] })
        let result = try c.bordered.largest(n + l, leading: leading, trailing: trailing)
        let scale = exact.values.map(abs).max()!
        let expected = BLAS.multiply(exact.vectors!, transposeA: true, probes)
        for i in 0..<(n + l) {
            XCTAssertEqual(result.values[i], exact.values[i], accuracy: 1e-12 * scale, "λ\(i + 1), reduced \(reduce)")
            for j in 0..<2 {
                XCTAssertEqual(abs(result.projections[i, j]), abs(expected[i, j]), accuracy: 1e-9, "λ\(i + 1), probe \(j), reduced \(reduce)")
            }
        }
    }

    /// Counts at points between, above and below the eigenvalues (and on a pole) equal the dense count.
    func testCountsEqualTheDenseCount() throws {
        let n = 50, l = 3
        let values = (0..<n).map { 2 - 3 * Double($0) / Double(n) }   // indefinite E
        let c = try make(values, width: l, coupling: 0.7, seed: 8, reduce: true)
        let exact = try Eigen.symmetric(c.dense, vectors: false).values
        var points = zip(exact, exact.dropFirst()).map { 0.5 * ($0 + $1) }
        points += [exact.first! + 1, exact.last! - 1, values[7], values[30]]
        for mu in points {
            XCTAssertEqual(try c.bordered.count(above: mu), exact.filter { $0 > mu }.count, "μ = \(mu)")
        }
    }

    /// A weak coupling leaves eigenvalues within round-off of the poles: the solver still returns
    /// each eigenvalue of K once, in order, to the dense accuracy.
    func testWeakCouplingNearPoles() throws {
        let n = 40, l = 2
        let values = (0..<n).map { 1 + Double(n - $0) * 1e-3 }
        let c = try make(values, width: l, coupling: 1e-5, seed: 13)
        let exact = try Eigen.symmetric(c.dense, vectors: false).values
        let result = try c.bordered.largest(12, leading: Matrix(rows: l, cols: 0), trailing: Matrix(rows: n, cols: 0))
        for i in 0..<12 { XCTAssertEqual(result.values[i], exact[i], accuracy: 1e-13, "λ\(i + 1)") }
    }

    /// A coupling of 1e-20 leaves K's eigenvalues within the pole guard of E's: the eigenvalues are
    /// still right, but the secular eigenvectors are not, and `largest` says so instead of answering.
    func testDecoupledEigenvectorsAreRefused() throws {
        let n = 40, l = 2
        let values = (0..<n).map { 1 + Double(n - $0) * 1e-3 }
        let c = try make(values, width: l, coupling: 1e-20, seed: 13)
        XCTAssertThrowsError(try c.bordered.largest(5, leading: Matrix(rows: l, cols: 1), trailing: Matrix(rows: n, cols: 1))) {
            XCTAssertTrue($0 is BorderedEigen.Unresolved, "\($0)")
        }
    }
}
