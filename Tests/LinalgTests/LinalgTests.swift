import Linalg
import XCTest

final class LinalgTests: XCTestCase {
    /// The CBLAS that runs must be OpenBLAS, not libgslcblas (which libgsl pulls in) nor the reference BLAS.
    func testBLASIsOpenBLAS() {
        let p = BLAS.provider
        XCTAssertTrue(p.library.contains("openblas"), "cblas_dgemm binds to \(p.library)")
        XCTAssertTrue(p.config.contains("OpenBLAS"), "openblas_get_config says \(p.config)")
    }

    /// Generic kernels are mended only when OpenBLAS fell back to them on a CPU with better ones,
    /// and never over a choice made in the environment.
    func testKernelOverrideOnlyMendsTheGenericFallback() {
        XCTAssertEqual(BLAS.kernelOverride(core: "Prescott", environment: [:], avx512: true, avx2: true), "SkylakeX")
        XCTAssertEqual(BLAS.kernelOverride(core: "Prescott", environment: [:], avx512: false, avx2: true), "Haswell")
        XCTAssertNil(BLAS.kernelOverride(core: "Prescott", environment: [:], avx512: false, avx2: false))
        XCTAssertNil(BLAS.kernelOverride(core: "Prescott", environment: ["OPENBLAS_CORETYPE": "Prescott"], avx512: true, avx2: true))
        for core in ["SkylakeX", "Cooperlake", "Haswell", "Zen", "SapphireRapids"] {
            XCTAssertNil(BLAS.kernelOverride(core: core, environment: [:], avx512: true, avx2: true), core)
        }
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

final class SpectralToolsTests: XCTestCase {
    func symmetric(_ n: Int, seed: UInt64) -> Matrix {
        let x = RandomStream(seed: seed).gaussianMatrix(rows: n + 3, cols: n)
        return BLAS.gram(x)
    }

    /// Vᵀ·X from one reduction equals the product with the full eigenvectors (up to each eigenvector's sign).
    func testProjectionsMatchFullEigenvectors() throws {
        let a = symmetric(40, seed: 1)
        let x = RandomStream(seed: 2).gaussianMatrix(rows: 40, cols: 3)
        let p = try Eigen.projections(a, onto: x)
        let e = try Eigen.symmetric(a)
        let reference = BLAS.multiply(e.vectors!, transposeA: true, x)
        for i in 0..<40 {
            XCTAssertEqual(p.values[i], e.values[i], accuracy: 1e-12 * e.values[0])
            let sign = (p.projections[i, 0] * reference[i, 0]) >= 0 ? 1.0 : -1.0
            for j in 0..<3 { XCTAssertEqual(p.projections[i, j], sign * reference[i, j], accuracy: 1e-10) }
        }
    }

    /// The trailing block's top eigenvalues by inertia counting equal a direct decomposition of the block.
    func testTrailingBlockEigenvaluesByInertia() throws {
        let (n, c) = (60, 4)
        let a = symmetric(n, seed: 3)
        var probes = Matrix(rows: n, cols: c)
        for j in 0..<c { probes[j, j] = 1 }
        let p = try Eigen.projections(a, onto: probes)
        let fromInertia = try Eigen.trailingBlockLargest(values: p.values, leading: p.projections, count: 6)
        let block = Matrix(rows: n - c, cols: n - c) { i, j in a[c + i, c + j] }
        let direct = try Eigen.symmetric(block, vectors: false).values
        for j in 0..<6 { XCTAssertEqual(fromInertia[j], direct[j], accuracy: 1e-12 * direct[0]) }
    }

    /// Bartlett Wishart_n(dof, I): E W = dof·I, Var W_ii = 2·dof, Var W_ij = dof; 4 standard errors.
    func testBartlettWishartMoments() throws {
        let (n, dof, samples) = (4, 12.0, 3000)
        let rng = RandomStream(seed: 5)
        var diag = 0.0, off = 0.0
        for _ in 0..<samples {
            let w = try Wishart.bartlett(order: n, degreesOfFreedom: dof, stream: rng)
            XCTAssertEqual(w, w.transposed)
            diag += w[2, 2] / Double(samples)
            off += w[0, 3] / Double(samples)
        }
        XCTAssertEqual(diag, dof, accuracy: 4 * (2 * dof / Double(samples)).squareRoot())
        XCTAssertEqual(off, 0, accuracy: 4 * (dof / Double(samples)).squareRoot())
    }

    /// U·Uᵀ·X in one pass over column panels equals two `dtrmm` to round-off, for an order that
    /// ends inside a panel and for one column; the Bartlett factor stores its zeros below the
    /// diagonal (what the panels read), and order 0 is empty.
    func testGramTimesInOnePassEqualsTwoTriangularMultiplies() throws {
        let n = 700
        let u = Wishart.bartlettFactor(order: n, degreesOfFreedom: 1e6, stream: RandomStream(seed: 41))
        for j in 0..<n { for i in (j + 1)..<n { XCTAssertEqual(u[i, j], 0) } }
        XCTAssertEqual(Wishart.bartlettFactor(order: 0, degreesOfFreedom: 3, stream: RandomStream(seed: 1)).storage, [])
        for (index, width) in [9, 1].enumerated() {
            let x = RandomStream(seed: 50 + UInt64(index)).gaussianMatrix(rows: n, cols: width)
            var reference = x
            Triangular.multiplyUpper(u, transpose: true, &reference)
            Triangular.multiplyUpper(u, &reference)
            XCTAssertLessThan(Triangular.gramTimes(upper: u, x).maxAbsDifference(reference), 1e-13 * reference.maxAbs)
        }
    }

    func testCholeskyAndTriangularSolve() throws {
        let a = symmetric(6, seed: 7)
        let r = try Triangular.cholesky(a)
        XCTAssertLessThan(BLAS.multiply(r, transposeA: true, r).maxAbsDifference(a), 1e-12 * a.maxAbs)
        let g = RandomStream(seed: 8).gaussianMatrix(rows: 9, cols: 6)
        let q = Triangular.solveRight(g, upper: try Triangular.cholesky(BLAS.gram(g)))
        XCTAssertLessThan(BLAS.gram(q).maxAbsDifference(.identity(6)), 1e-12)
    }
}

/// GSL's quantiles against tabulated values.
final class DistributionTests: XCTestCase {
    func testQuantilesMatchTables() {
        XCTAssertEqual(Distributions.studentTQuantile(0.995, degrees: 4), 4.604094871, accuracy: 1e-8)
        XCTAssertEqual(Distributions.studentTQuantile(0.975, degrees: 10), 2.228138852, accuracy: 1e-8)
        XCTAssertEqual(Distributions.normalQuantile(0.975), 1.959963985, accuracy: 1e-8)
    }
}
