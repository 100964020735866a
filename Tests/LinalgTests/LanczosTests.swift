import Foundation
import Linalg
import XCTest

final class LanczosTests: XCTestCase {
    /// A random symmetric PSD matrix GᵀG with G an r×n standard Gaussian matrix.
    func randomPSD(_ n: Int, rows r: Int, seed: UInt64) -> Matrix {
        BLAS.gram(RandomStream(seed: seed, stream: 7).gaussianMatrix(rows: r, cols: n))
    }

    /// Q·diag(λ)·Qᵀ with Q a random orthogonal matrix: a dense matrix of known spectrum.
    func withSpectrum(_ lambda: [Double], seed: UInt64) throws -> Matrix {
        let n = lambda.count
        let q = try Orthonormal.columns(RandomStream(seed: seed, stream: 8).gaussianMatrix(rows: n, cols: n))
        var scaled = q
        for j in 0..<n { for i in 0..<n { scaled[i, j] *= lambda[j] } }
        var a = BLAS.multiply(scaled, q, transposeB: true)
        // Exact symmetry, so the operator and the dense solver see the same matrix.
        for j in 0..<n { for i in (j + 1)..<max(j + 1, n) { a[j, i] = a[i, j] } }
        return a
    }

    func residual(_ a: Matrix, _ v: [Double], _ lambda: Double) -> Double {
        let av = BLAS.multiply(a, v)
        return sqrt(zip(av, v).reduce(0) { $0 + ($1.0 - lambda * $1.1) * ($1.0 - lambda * $1.1) })
    }

    func assertOrthonormal(_ v: Matrix, _ accuracy: Double = 1e-12, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(BLAS.gram(v).maxAbsDifference(.identity(v.cols)), accuracy, file: file, line: line)
    }

    // MARK: top-k eigenpairs

    func testTopTenMatchDenseOnRandomPSD() throws {
        for (seed, rows) in [(UInt64(1), 200), (2, 200), (3, 400)] {
            let a = randomPSD(200, rows: rows, seed: seed)
            let dense = try Eigen.symmetric(a, vectors: true)
            let top = try Lanczos.largest(a, count: 10)
            XCTAssertEqual(top.values.count, 10)
            XCTAssertEqual(top.vectors.rows, 200)
            XCTAssertEqual(top.vectors.cols, 10)
            let lmax = dense.values[0]
            for i in 0..<10 {
                XCTAssertEqual(top.values[i], dense.values[i], accuracy: 1e-8 * abs(dense.values[i]), "seed \(seed) value \(i)")
                let overlap = abs(BLAS.dot(top.vectors.column(i), dense.vectors!.column(i)))
                XCTAssertGreaterThanOrEqual(overlap, 1 - 1e-8, "seed \(seed) vector \(i)")
                XCTAssertLessThanOrEqual(residual(a, top.vectors.column(i), top.values[i]), 1.01e-8 * lmax)
            }
            assertOrthonormal(top.vectors)
            XCTAssertEqual(top.values, top.values.sorted(by: >))
            let gaps = (0..<10).map { dense.values[$0] - dense.values[$0 + 1] }
            print("Lanczos top-10, n = 200, GᵀG with G \(rows)×200 (seed \(seed)): \(top.applications) applications;"
                  + " λ₁ = \(lmax), smallest relative gap among top 11 = \(gaps.min()! / lmax)")
            XCTAssertLessThan(top.applications, 200, "fewer applications than the dimension")
        }
    }

    func testClosureOperatorGivesTheSameAnswerAndCountsApplications() throws {
        let a = randomPSD(120, rows: 120, seed: 4)
        var calls = 0
        let op = ClosureOperator(dimension: 120) { v in calls += 1; return BLAS.multiply(a, v) }
        let viaClosure = try Lanczos.largest(op, count: 5, seed: 9)
        let viaMatrix = try Lanczos.largest(a, count: 5, seed: 9)
        XCTAssertEqual(viaClosure.applications, calls)
        XCTAssertEqual(viaClosure.applications, viaMatrix.applications)
        XCTAssertEqual(viaClosure.values, viaMatrix.values)
    }

    func testTripleTopEigenvalueIsReturnedThreeTimes() throws {
        // Spectrum: 10 (×3), 7, 6, then a bulk in [0, 3].
        let n = 150
        let bulk = (0..<(n - 5)).map { 3 * Double($0) / Double(n - 6) }
        let outliers: [Double] = [10, 10, 10, 7, 6]
        let spectrum = outliers + bulk
        for a in [Matrix.diagonal(spectrum), try withSpectrum(spectrum, seed: 5)] {
            let three = try Lanczos.largest(a, count: 3)
            XCTAssertEqual(three.values.count, 3)
            for v in three.values { XCTAssertEqual(v, 10, accuracy: 1e-8 * 10) }
            assertOrthonormal(three.vectors)
            for i in 0..<3 { XCTAssertLessThanOrEqual(residual(a, three.vectors.column(i), three.values[i]), 1.01e-7) }
            print("Lanczos triple eigenvalue, k = 3: \(three.applications) applications")

            let five = try Lanczos.largest(a, count: 5)
            let expected: [Double] = [10, 10, 10, 7, 6]
            for i in 0..<5 { XCTAssertEqual(five.values[i], expected[i], accuracy: 1e-8 * 10) }
            assertOrthonormal(five.vectors)
            print("Lanczos triple eigenvalue, k = 5: \(five.applications) applications")
        }
    }

    func testRepeatedEigenvalueInsideTheTopK() throws {
        // 12, then 9 (×3), then 8, bulk below 4: top 5 = 12, 9, 9, 9, 8.
        let n = 120
        let outliers: [Double] = [12, 9, 9, 9, 8]
        let spectrum = outliers + (0..<(n - 5)).map { (i: Int) -> Double in 4 * sin(Double(i)) * sin(Double(i)) }
        let a = try withSpectrum(spectrum, seed: 6)
        let top = try Lanczos.largest(a, count: 5, seed: 3)
        let expected: [Double] = [12, 9, 9, 9, 8]
        for i in 0..<5 { XCTAssertEqual(top.values[i], expected[i], accuracy: 1e-8 * 12) }
        assertOrthonormal(top.vectors)
        // The three vectors span the 9-eigenspace: each is an eigenvector to tolerance.
        for i in 1...3 { XCTAssertLessThanOrEqual(residual(a, top.vectors.column(i), 9), 1.01e-8 * 12) }
    }

    func testNearlyDegenerateClusterIsResolved() throws {
        // A top cluster 5, 5 − 1e-4, 5 − 2e-4 over a bulk in [0, 1]: distinct but close.
        let n = 100
        let cluster: [Double] = [5, 5 - 1e-4, 5 - 2e-4]
        let spectrum = cluster + (0..<(n - 3)).map { Double($0) / Double(n - 3) }
        let a = try withSpectrum(spectrum, seed: 7)
        let dense = try Eigen.symmetric(a, vectors: true)
        let top = try Lanczos.largest(a, count: 3, tolerance: 1e-10, maxIterations: 1000)
        for i in 0..<3 {
            XCTAssertEqual(top.values[i], dense.values[i], accuracy: 1e-10 * 5)
            XCTAssertGreaterThanOrEqual(abs(BLAS.dot(top.vectors.column(i), dense.vectors!.column(i))), 1 - 1e-8)
        }
        print("Lanczos cluster of width 2e-4 at 5 over a bulk in [0, 1]: \(top.applications) applications")
    }

    func testInvariantSubspaceRestartsWithAFreshVector() throws {
        // 5 on a 2-dimensional subspace and 1 elsewhere: every Krylov space is at most 2-dimensional.
        let n = 50
        let a = try withSpectrum([5.0, 5.0] + [Double](repeating: 1, count: n - 2), seed: 8)
        let two = try Lanczos.largest(a, count: 2)
        XCTAssertEqual(two.values[0], 5, accuracy: 1e-12 * 5)
        XCTAssertEqual(two.values[1], 5, accuracy: 1e-12 * 5)
        assertOrthonormal(two.vectors)
        let four = try Lanczos.largest(a, count: 4)
        for (v, e) in zip(four.values, [5.0, 5, 1, 1]) { XCTAssertEqual(v, e, accuracy: 1e-12 * 5) }
        assertOrthonormal(four.vectors)
        XCTAssertLessThan(four.applications, 20)
    }

    func testIndefiniteOperatorGivesLargestAlgebraic() throws {
        let n = 80
        let spectrum = (0..<n).map { Double($0) - 60 }  // −60 … 19: largest magnitude is negative
        let a = try withSpectrum(spectrum, seed: 9)
        let top = try Lanczos.largest(a, count: 3, maxIterations: 1000)
        for (v, e) in zip(top.values, [19.0, 18, 17]) { XCTAssertEqual(v, e, accuracy: 1e-8 * 60) }
    }

    func testHessianLikeOutliersAboveABulkAtLargeDimension() throws {
        // A = Q·diag(λ)·Qᵀ with Q = (I − 2hhᵀ)(I − 2ggᵀ), applied in O(n): outliers (one doubled) above
        // a bulk in [−0.5, 2], as in a network Hessian. Eigenvectors Q·e_i.
        let n = 20_000
        let rng = RandomStream(seed: 15, stream: 1)
        var h = [Double](repeating: 0, count: n), g = [Double](repeating: 0, count: n)
        rng.fillGaussian(&h)
        rng.fillGaussian(&g)
        let hn = BLAS.dot(h, h).squareRoot(), gn = BLAS.dot(g, g).squareRoot()
        h = h.map { $0 / hn }
        g = g.map { $0 / gn }
        func reflect(_ v: [Double], _ u: [Double]) -> [Double] {
            let d = 2 * BLAS.dot(u, v)
            return zip(v, u).map { (a: Double, b: Double) -> Double in a - d * b }
        }
        let outliers: [Double] = [50, 40, 40, 30, 25, 20, 18, 16, 14, 12]
        let bulk = (0..<(n - outliers.count)).map { (_: Int) -> Double in -0.5 + 2.5 * rng.uniform() }
        let lambda = outliers + bulk
        let op = ClosureOperator(dimension: n) { v in
            let w = reflect(reflect(v, h), g)  // Qᵀv = (I − 2ggᵀ)(I − 2hhᵀ)v
            let scaled: [Double] = zip(lambda, w).map { $0 * $1 }
            return reflect(reflect(scaled, g), h)
        }
        let top = try Lanczos.largest(op, count: 10)
        for i in 0..<10 { XCTAssertEqual(top.values[i], outliers[i], accuracy: 1e-8 * outliers[i]) }
        XCTAssertLessThan(BLAS.gram(top.vectors).maxAbsDifference(.identity(10)), 1e-12)
        // Vectors: Qᵀx_i is e_i (up to sign) for the simple outliers, and lies in span(e_1, e_2) for the double one.
        for i in 0..<10 {
            let c = reflect(reflect(top.vectors.column(i), h), g)
            let inside: Double = (i == 1 || i == 2) ? c[1] * c[1] + c[2] * c[2] : c[i] * c[i]
            XCTAssertGreaterThanOrEqual(inside, 1 - 1e-8, "vector \(i)")
        }
        print("Lanczos top-10, n = 20000, 10 outliers (one double) above a bulk: \(top.applications) applications")
        XCTAssertLessThan(top.applications, 120)
    }

    func testCountAtLeastDimension() throws {
        let a = randomPSD(6, rows: 8, seed: 10)
        let dense = try Eigen.symmetric(a)
        let all = try Lanczos.largest(a, count: 6)
        XCTAssertEqual(all.applications, 0)
        XCTAssertEqual(all.values, dense.values)
        XCTAssertEqual(try Lanczos.largest(a, count: 9).values.count, 6)
        let op = ClosureOperator(dimension: 6) { BLAS.multiply(a, $0) }
        XCTAssertThrowsError(try Lanczos.largest(op, count: 6)) { error in
            XCTAssertEqual(error as? LanczosError, .countExceedsDimension(count: 6, dimension: 6))
        }
        // k = n − 1 on a closure: the basis fills the space and the answer is exact.
        let five = try Lanczos.largest(op, count: 5)
        for i in 0..<5 { XCTAssertEqual(five.values[i], dense.values[i], accuracy: 1e-10 * dense.values[0]) }
        XCTAssertEqual(try Lanczos.largest(op, count: 0).values, [])
    }

    func testBudgetExhaustionThrows() {
        let a = randomPSD(200, rows: 200, seed: 11)
        XCTAssertThrowsError(try Lanczos.largest(a, count: 10, maxIterations: 15)) { error in
            guard case let .notConverged(applications, values, residuals)? = error as? LanczosError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(applications, 15)
            XCTAssertEqual(values.count, 10)
            XCTAssertEqual(residuals.count, 10)
        }
    }

    // MARK: bottom-k eigenpairs

    /// The bottom eigenpairs of indefinite matrices (a known spectrum whose largest magnitude is
    /// negative, with a double eigenvalue at the bottom, and a GOE matrix) against `Eigen.symmetric`:
    /// values to 1e-8·‖A‖, residuals ‖Av − λv‖ ≤ 1e-8·‖A‖ (the convergence test), ascending order.
    func testSmallestMatchDenseOnIndefiniteMatrices() throws {
        let n = 160
        let bottom: [Double] = [-9, -7, -7, -5.5, -5]
        let rest = (0..<(n - bottom.count)).map { -3 + 11 * Double($0) / Double(n - bottom.count - 1) }  // bulk [−3, 8]
        let g = RandomStream(seed: 21, stream: 9).gaussianMatrix(rows: 200, cols: 200)
        let goe = Matrix(rows: 200, cols: 200) { i, j in (g[i, j] + g[j, i]) / 2 }
        for (name, a, k) in [("known spectrum", try withSpectrum(bottom + rest, seed: 13), 5), ("GOE", goe, 8)] {
            let dense = try Eigen.symmetric(a, vectors: true)
            let norm = max(dense.values.first!, -dense.values.last!)
            let low = try Lanczos.smallest(a, count: k, maxIterations: 2000)
            XCTAssertEqual(low.values.count, k)
            XCTAssertEqual(low.vectors.rows, a.rows)
            XCTAssertEqual(low.vectors.cols, k)
            XCTAssertEqual(low.values, low.values.sorted(), "\(name): ascending")
            let ascending = Array(dense.values.reversed())
            for i in 0..<k {
                XCTAssertEqual(low.values[i], ascending[i], accuracy: 1e-8 * norm, "\(name) value \(i)")
                XCTAssertLessThanOrEqual(residual(a, low.vectors.column(i), low.values[i]), 1.01e-8 * norm, "\(name) vector \(i)")
            }
            assertOrthonormal(low.vectors)
            print("Lanczos bottom-\(k), n = \(a.rows), \(name): \(low.applications) applications, λ_min = \(low.values[0])")
        }
        // The known spectrum's double eigenvalue comes back twice, and λ_min exactly where it was put.
        let a = try withSpectrum(bottom + rest, seed: 13)
        let three = try Lanczos.smallest(a, count: 3, maxIterations: 2000)
        for (v, e) in zip(three.values, [-9.0, -7, -7]) { XCTAssertEqual(v, e, accuracy: 1e-8 * 9) }
    }

    /// GᵀG with G 150×200 has a 50-dimensional null space: the bottom eigenvalues are 0 (to 1e-8·λ_max),
    /// their vectors are annihilated by G, and `largest` of the same matrix is untouched (a closure
    /// operator takes the negated-closure path, a Matrix the negated-matrix path; both agree).
    func testSmallestOfPSDMatrixWithNullSpaceIsZero() throws {
        let a = randomPSD(200, rows: 150, seed: 14)
        let lmax = try Eigen.symmetric(a, vectors: false).values[0]
        let op = ClosureOperator(dimension: 200) { BLAS.multiply(a, $0) }
        for low in [try Lanczos.smallest(a, count: 4, maxIterations: 2000), try Lanczos.smallest(op, count: 4, maxIterations: 2000)] {
            for i in 0..<4 {
                XCTAssertEqual(low.values[i], 0, accuracy: 1e-8 * lmax, "value \(i)")
                XCTAssertLessThanOrEqual(residual(a, low.vectors.column(i), 0), 1.01e-8 * lmax, "vector \(i)")
            }
            assertOrthonormal(low.vectors)
        }
    }

    func testSmallestCountAtLeastDimension() throws {
        let g = RandomStream(seed: 15, stream: 9).gaussianMatrix(rows: 6, cols: 6)
        let a = Matrix(rows: 6, cols: 6) { i, j in g[i, j] + g[j, i] }
        let dense = try Eigen.symmetric(a)
        let all = try Lanczos.smallest(a, count: 6)
        XCTAssertEqual(all.applications, 0)
        // The dense path solves −A, so the values agree with A's to rounding, not bit for bit.
        for (v, e) in zip(all.values, dense.values.reversed()) { XCTAssertEqual(v, e, accuracy: 1e-13 * 10) }
        for i in 0..<6 { XCTAssertLessThan(residual(a, all.vectors.column(i), all.values[i]), 1e-12 * 10) }
        let op = ClosureOperator(dimension: 6) { BLAS.multiply(a, $0) }
        XCTAssertThrowsError(try Lanczos.smallest(op, count: 6)) { error in
            XCTAssertEqual(error as? LanczosError, .countExceedsDimension(count: 6, dimension: 6))
        }
        let five = try Lanczos.smallest(op, count: 5)
        for i in 0..<5 { XCTAssertEqual(five.values[i], dense.values[5 - i], accuracy: 1e-10 * dense.values.map(abs).max()!) }
    }

    /// An exhausted budget reports the Ritz values of A itself (not of −A): all below A's top eigenvalue.
    func testSmallestBudgetExhaustionReportsValuesOfA() throws {
        let a = randomPSD(200, rows: 400, seed: 16)
        let top = try Eigen.symmetric(a, vectors: false).values[0]
        XCTAssertThrowsError(try Lanczos.smallest(a, count: 10, maxIterations: 15)) { error in
            guard case let .notConverged(applications, values, _)? = error as? LanczosError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(applications, 15)
            XCTAssertEqual(values.count, 10)
            XCTAssertTrue(values.allSatisfy { $0 > 0 && $0 < top }, "\(values)")
            XCTAssertEqual(values, values.sorted())
        }
    }

    // MARK: Hutchinson

    func testHutchinsonTrace() throws {
        let a = randomPSD(100, rows: 60, seed: 12)
        let trace = a.trace
        var seByProbes: [(Int, Double)] = []
        for probes in [64, 256, 1024] {
            let (estimate, se) = try Lanczos.hutchinsonTrace(a, probes: probes, seed: 1)
            XCTAssertLessThan(abs(estimate - trace), 4 * se, "\(probes) probes: \(estimate) vs \(trace) ± \(se)")
            seByProbes.append((probes, se))
        }
        // SE ∝ 1/√probes: SE·√probes is the per-probe standard deviation, the same for all counts.
        let perProbe = seByProbes.map { $0.1 * Double($0.0).squareRoot() }
        for s in perProbe { XCTAssertEqual(s / perProbe.last!, 1, accuracy: 0.3) }
        XCTAssertEqual(seByProbes[0].1 / seByProbes[2].1, 4, accuracy: 1.2)
        // Rademacher variance is 2Σ_{i≠j}A_ij²: check the per-probe spread against it.
        var offDiagonal = 0.0
        for j in 0..<100 { for i in 0..<100 where i != j { offDiagonal += a[i, j] * a[i, j] } }
        XCTAssertEqual(perProbe.last!, (2 * offDiagonal).squareRoot(), accuracy: 0.1 * (2 * offDiagonal).squareRoot())
        // On a diagonal matrix zᵀAz = tr A for every Rademacher z.
        let d = Matrix.diagonal((1...30).map(Double.init))
        let exact = try Lanczos.hutchinsonTrace(d, probes: 5, seed: 2)
        XCTAssertEqual(exact.estimate, 465, accuracy: 1e-12)
        XCTAssertEqual(exact.standardError, 0, accuracy: 1e-12)
    }

    // MARK: stochastic Lanczos quadrature

    func testSpectralDensityOnKnownSpectrum() throws {
        // A bulk uniform on [0, 1] and four outliers.
        let n = 300
        let outliers: [Double] = [8, 6.5, 5, 4]
        let spectrum = outliers + (0..<(n - 4)).map { Double($0) / Double(n - 5) }
        let a = try withSpectrum(spectrum, seed: 13)
        let probes = 20, steps = 30
        var calls = 0
        let op = ClosureOperator(dimension: n) { calls += 1; return BLAS.multiply(a, $0) }
        let q = try Lanczos.spectralDensity(op, steps: steps, probes: probes, seed: 3)
        XCTAssertEqual(calls, probes * steps)
        XCTAssertEqual(q.probes, probes)
        XCTAssertEqual(q.nodes.count, probes * steps)
        for p in 0..<probes {
            let w = q.weights[q.offsets[p]..<q.offsets[p + 1]].reduce(0, +) * Double(probes)
            XCTAssertEqual(w, 1, accuracy: 1e-12)
        }
        XCTAssertEqual(q.weights.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertTrue(q.weights.allSatisfy { $0 >= 0 })
        // Nodes lie inside the spectrum.
        XCTAssertGreaterThanOrEqual(q.nodes.min()!, -1e-10)
        XCTAssertLessThanOrEqual(q.nodes.max()!, 8 + 1e-10)
        // First moment: Σ w·node = mean of vᵀAv, unbiased for tr A / n.
        let first = q.moment(1)
        let direct = zip(q.weights, q.nodes).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(first.mean, direct, accuracy: 1e-12)
        XCTAssertLessThan(abs(first.mean - a.trace / Double(n)), 4 * first.standardError,
                          "\(first.mean) vs \(a.trace / Double(n)) ± \(first.standardError)")
        // Second moment against tr(A²)/n.
        let second = q.moment(2)
        let trA2 = spectrum.reduce(0) { $0 + $1 * $1 } / Double(n)
        XCTAssertLessThan(abs(second.mean - trA2), 4 * second.standardError)
        // The top node of each probe converges to λ_max = 8 within 30 steps.
        for p in 0..<probes { XCTAssertEqual(q.nodes[q.offsets[p]], 8, accuracy: 1e-6) }
        // Smoothed density integrates to 1 (trapezoid on a grid covering the spectrum ± 8σ).
        let sigma = 0.05
        let grid = stride(from: -8 * sigma, through: 8 + 8 * sigma, by: sigma / 10).map { $0 }
        let rho = q.density(on: grid, bandwidth: sigma)
        var integral = 0.0
        for i in 1..<grid.count { integral += 0.5 * (rho[i] + rho[i - 1]) * (grid[i] - grid[i - 1]) }
        XCTAssertEqual(integral, 1, accuracy: 1e-6)
        XCTAssertTrue(rho.allSatisfy { $0 >= 0 })
        // Most of the mass is in the bulk: ∫_{−∞}^{1.5} ≈ 296/300.
        var bulk = 0.0
        for i in 1..<grid.count where grid[i] <= 1.5 { bulk += 0.5 * (rho[i] + rho[i - 1]) * (grid[i] - grid[i - 1]) }
        XCTAssertEqual(bulk, 296.0 / 300, accuracy: 0.03)
    }

    func testSpectralQuadratureIsExactWhenStepsReachTheDimension() throws {
        let spectrum: [Double] = [3, 2.5, 2, 1, 0.5, -1, -2, -4]
        let a = try withSpectrum(spectrum, seed: 14)
        let q = try Lanczos.spectralDensity(a, steps: 50, probes: 4, seed: 5)
        for p in 0..<4 {
            let nodes = q.nodes[q.offsets[p]..<q.offsets[p + 1]]
            XCTAssertEqual(nodes.count, 8)
            for (x, e) in zip(nodes, spectrum) { XCTAssertEqual(x, e, accuracy: 1e-10) }
        }
        // Gauss quadrature with all n nodes reproduces every moment of vᵀAʳv; their average is unbiased.
        XCTAssertLessThan(abs(q.moment(1).mean - spectrum.reduce(0, +) / 8), 4 * q.moment(1).standardError)
        XCTAssertEqual(q.moment(0).mean, 1, accuracy: 1e-12)
    }
}
