import Linalg
import XCTest

final class LinalgTests: XCTestCase {
    /// The CBLAS that runs must be OpenBLAS, not libgslcblas (which libgsl pulls in) nor the reference BLAS.
    func testBLASIsOpenBLAS() {
        let p = BLAS.provider
        XCTAssertTrue(p.library.contains("openblas"), "cblas_dgemm binds to \(p.library)")
        XCTAssertTrue(p.config.contains("OpenBLAS"), "openblas_get_config says \(p.config)")
    }

    func randomMatrix(_ r: Int, _ c: Int, seed: UInt64) -> Matrix {
        RandomStream(seed: seed).gaussianMatrix(rows: r, cols: c)
    }

    func testMultiplyMatchesNaiveProduct() {
        let a = randomMatrix(7, 5, seed: 1), b = randomMatrix(5, 4, seed: 2)
        let naive = Matrix(rows: 7, cols: 4) { i, j in (0..<5).reduce(0) { $0 + a[i, $1] * b[$1, j] } }
        XCTAssertLessThan(BLAS.multiply(a, b).maxAbsDifference(naive), 1e-13)
        XCTAssertLessThan(BLAS.multiply(a.transposed, transposeA: true, b).maxAbsDifference(naive), 1e-13)
        XCTAssertLessThan(BLAS.multiply(a, b.transposed, transposeB: true).maxAbsDifference(naive), 1e-13)
        let x = (0..<5).map { Double($0) - 2 }
        let y = BLAS.multiply(a, x)
        for i in 0..<7 { XCTAssertEqual(y[i], (0..<5).reduce(0) { $0 + a[i, $1] * x[$1] }, accuracy: 1e-13) }
    }

    func testGramIsSymmetricProduct() {
        let a = randomMatrix(9, 4, seed: 3)
        XCTAssertLessThan(BLAS.gram(a).maxAbsDifference(BLAS.multiply(a, transposeA: true, a)), 1e-13)
        XCTAssertLessThan(BLAS.gram(a, transpose: false).maxAbsDifference(BLAS.multiply(a, a, transposeB: true)), 1e-13)
    }

    func testEigenDecompositionReconstructs() throws {
        let a = BLAS.gram(randomMatrix(12, 8, seed: 4))
        let e = try Eigen.symmetric(a)
        let v = e.vectors!
        XCTAssertEqual(e.values, e.values.sorted(by: >))
        let rebuilt = BLAS.multiply(BLAS.multiply(v, Matrix.diagonal(e.values)), v, transposeB: true)
        XCTAssertLessThan(rebuilt.maxAbsDifference(a), 1e-12 * a.maxAbs)
        XCTAssertLessThan(BLAS.gram(v).maxAbsDifference(.identity(8)), 1e-13)
        let top = try Eigen.symmetric(a, vectors: false, largest: 3)
        for i in 0..<3 { XCTAssertEqual(top.values[i], e.values[i], accuracy: 1e-12 * e.values[0]) }
        XCTAssertEqual(e.values.reduce(0, +), a.trace, accuracy: 1e-12 * a.trace)
    }

    func testPSDSquareRootSquaresBack() throws {
        let a = BLAS.gram(randomMatrix(6, 5, seed: 5))
        let r = try Eigen.psdSquareRoot(a)
        XCTAssertLessThan(BLAS.multiply(r, r).maxAbsDifference(a), 1e-12 * a.maxAbs)
    }

    func testOrthonormalColumns() throws {
        let q = try Orthonormal.columns(randomMatrix(20, 4, seed: 6))
        XCTAssertLessThan(BLAS.gram(q).maxAbsDifference(.identity(4)), 1e-14)
    }

    func testLAPACKErrorsAreTyped() {
        XCTAssertEqual(LinalgError.lapack(routine: "dsyevr", info: -3).description, "dsyevr: argument 3 was illegal (LAPACK info -3)")
    }

    /// Streams with the same (seed, stream) repeat; the Gaussian sampler has the right first two
    /// moments within 4 standard errors (n = 200 000: se(mean) = 1/√n, se(var) = √(2/n)).
    func testRandomStreams() {
        let a = RandomStream(seed: 42, stream: 1).gaussianMatrix(rows: 5, cols: 5)
        XCTAssertEqual(a, RandomStream(seed: 42, stream: 1).gaussianMatrix(rows: 5, cols: 5))
        XCTAssertNotEqual(a, RandomStream(seed: 42, stream: 2).gaussianMatrix(rows: 5, cols: 5))
        let n = 200_000
        var x = [Double](repeating: 0, count: n)
        RandomStream(seed: 7).fillGaussian(&x)
        let mean = x.reduce(0, +) / Double(n)
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        XCTAssertEqual(mean, 0, accuracy: 4 / Double(n).squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 4 * (2 / Double(n)).squareRoot())
        let chi = RandomStream(seed: 8)
        let k = 20_000, dof = 5.0
        let m = (0..<k).map { _ in chi.chiSquared(dof) }.reduce(0, +) / Double(k)
        XCTAssertEqual(m, dof, accuracy: 4 * (2 * dof / Double(k)).squareRoot())
    }
}
