import XCTest
@testable import Linalg

/// Block Lanczos against LAPACK on matrices whose spectra are set by construction, wrapped as block
/// closures so the Krylov path (not the dense shortcut) runs.
final class BlockLanczosTests: XCTestCase {
    /// Q·diag(λ)·Qᵀ with Q Haar-random (QR of a Gaussian).
    func planted(_ values: [Double], seed: UInt64) throws -> Matrix {
        let n = values.count
        let q = try Orthonormal.columns(RandomStream(seed: seed).gaussianMatrix(rows: n, cols: n))
        var qd = q
        for j in 0..<n { for i in 0..<n { qd[i, j] *= values[j] } }
        var a = BLAS.multiply(qd, q, transposeB: true)
        a.symmetrizeFromLower()
        return a
    }

    func operatorOf(_ a: Matrix, counting calls: Counter? = nil) -> ClosureOperator {
        ClosureOperator(dimension: a.rows, block: { x in calls?.count += x.cols; return BLAS.multiply(a, x) })
    }

    final class Counter: @unchecked Sendable { var count = 0 }

    /// Outliers above a Marchenko–Pastur-like bulk: the top 10 (outliers and the bulk's edge) agree with
    /// `dsyevr` to 1e-10 relative, residuals meet the tolerance, and Ritz vectors are orthonormal.
    func testTopOfBulkWithOutliersMatchesLAPACK() throws {
        let n = 600
        let stream = RandomStream(seed: 3)
        var values = (0..<n).map { _ in 1 + 0.5 * stream.gaussian() }
        for (i, s) in [40.0, 25, 18, 12, 9].enumerated() { values[i] = s }
        let a = try planted(values, seed: 11)
        let calls = Counter()
        let result = try BlockLanczos.largest(operatorOf(a, counting: calls), count: 10, tolerance: 1e-10, maxApplications: 5000, seed: 1)
        let exact = try Eigen.symmetric(a, vectors: false).values
        for i in 0..<10 { XCTAssertEqual(result.values[i], exact[i], accuracy: 1e-10 * exact[0], "λ\(i + 1)") }
        XCTAssertEqual(result.applications, calls.count)
        for r in result.residuals { XCTAssertLessThanOrEqual(r, 1e-10 * exact[0] * 1.0001) }
        let gram = BLAS.gram(result.vectors)
        XCTAssertLessThan(gram.maxAbsDifference(Matrix.identity(10)), 1e-12)
    }

    /// A triple eigenvalue at the top is returned three times when the block holds at least three vectors.
    func testRepeatedEigenvalueFoundWithItsMultiplicity() throws {
        let n = 300
        var values = (0..<n).map { 1 + Double($0) / Double(n) }
        values[0] = 10; values[1] = 10; values[2] = 10; values[3] = 7
        let a = try planted(values, seed: 5)
        let result = try BlockLanczos.largest(operatorOf(a), count: 4, blockSize: 4, tolerance: 1e-10, maxApplications: 3000, seed: 2)
        XCTAssertEqual(result.values[0], 10, accuracy: 1e-9)
        XCTAssertEqual(result.values[1], 10, accuracy: 1e-9)
        XCTAssertEqual(result.values[2], 10, accuracy: 1e-9)
        XCTAssertEqual(result.values[3], 7, accuracy: 1e-9)
    }

    /// A rank-3 operator asked for 6 pairs: the Krylov space becomes invariant after one block, fresh
    /// random directions fill the rest, and the zeros come back as zeros.
    func testLowRankOperatorReturnsZerosBeyondItsRank() throws {
        let n = 200
        let g = RandomStream(seed: 9).gaussianMatrix(rows: n, cols: 3)
        let a = BLAS.gram(g, transpose: false)
        let result = try BlockLanczos.largest(operatorOf(a), count: 6, blockSize: 3, tolerance: 1e-10, maxApplications: 2000, seed: 3)
        let exact = try Eigen.symmetric(a, vectors: false).values
        for i in 0..<3 { XCTAssertEqual(result.values[i], exact[i], accuracy: 1e-10 * exact[0]) }
        for i in 3..<6 { XCTAssertEqual(result.values[i], 0, accuracy: 1e-10 * exact[0]) }
    }

    /// A basis nearly as large as the space (n = 123, capacity 120): blocks narrow near n, and after the
    /// restart random directions bring them back to b. It used to index past the narrowed block.
    func testBasisNearlyAsLargeAsTheSpace() throws {
        let n = 123
        let stream = RandomStream(seed: 29)
        let a = try planted((0..<n).map { _ in 1 + 0.05 * stream.gaussian() }, seed: 31)
        let result = try BlockLanczos.largest(operatorOf(a), count: 8, blockSize: 8, basisSize: 120, tolerance: 1e-9,
                                              maxApplications: 20_000, seed: 6)
        let exact = try Eigen.symmetric(a, vectors: false).values
        for i in 0..<8 { XCTAssertEqual(result.values[i], exact[i], accuracy: 1e-9 * exact[0], "λ\(i + 1)") }
    }

    /// The bottom of an indefinite spectrum, ascending.
    func testSmallestOfIndefiniteSpectrum() throws {
        let n = 400
        let values = (0..<n).map { i -> Double in
            let ramp: Double = -3 + 6 * Double(i) / Double(n - 1)
            return i < 2 ? ramp - 5 : ramp
        }
        let a = try planted(values, seed: 7)
        let result = try BlockLanczos.smallest(operatorOf(a), count: 3, tolerance: 1e-10, maxApplications: 5000, seed: 4)
        let exact = try Eigen.symmetric(a, vectors: false).values.reversed().map { $0 }
        for i in 0..<3 { XCTAssertEqual(result.values[i], exact[i], accuracy: 1e-9 * 8) }
    }

    /// Started on the exact top eigenvectors, one block application suffices.
    func testWarmStartOnEigenvectorsConvergesAtOnce() throws {
        let n = 300
        let values = (0..<n).map { Double(n - $0) }
        let a = try planted(values, seed: 13)
        let exact = try Eigen.symmetric(a, vectors: true, largest: 4)
        let result = try BlockLanczos.largest(operatorOf(a), count: 4, blockSize: 4, tolerance: 1e-9, maxApplications: 1000, seed: 5,
                                              start: exact.vectors!)
        XCTAssertEqual(result.blockApplications, 1)
        for i in 0..<4 { XCTAssertEqual(result.values[i], exact.values[i], accuracy: 1e-9 * Double(n)) }
    }

    /// An exhausted budget throws, carrying the values reached; bad arguments throw one-line errors.
    func testBudgetAndArguments() throws {
        let n = 500
        let a = try planted((0..<n).map { 1 + 1e-3 * Double($0) }, seed: 17)
        XCTAssertThrowsError(try BlockLanczos.largest(operatorOf(a), count: 5, tolerance: 1e-12, maxApplications: 20, seed: 1)) { error in
            guard case let LanczosError.notConverged(applications, values, _) = error else { return XCTFail("\(error)") }
            XCTAssertLessThanOrEqual(applications, 20)
            XCTAssertEqual(values.count, 5)
        }
        XCTAssertThrowsError(try BlockLanczos.largest(operatorOf(a), count: 0, maxApplications: 10, seed: 1))
        XCTAssertThrowsError(try BlockLanczos.largest(operatorOf(a), count: n + 1, maxApplications: 10, seed: 1))
        XCTAssertThrowsError(try BlockLanczos.largest(operatorOf(a), count: 2, blockSize: 0, maxApplications: 10, seed: 1))
    }

    /// Small operators go to the dense path (n applications in blocks) and are exact; the same seed
    /// gives the same bits.
    func testDenseShortcutAndReproducibility() throws {
        let a = try planted((0..<10).map { Double($0) }, seed: 19)
        let small = try BlockLanczos.largest(operatorOf(a), count: 3, maxApplications: 100, seed: 1)
        XCTAssertEqual(small.applications, 10)
        XCTAssertEqual(small.values[0], 9, accuracy: 1e-12)
        let big = try planted((0..<400).map { Double($0) }, seed: 23)
        let r1 = try BlockLanczos.largest(operatorOf(big), count: 5, maxApplications: 4000, seed: 7)
        let r2 = try BlockLanczos.largest(operatorOf(big), count: 5, maxApplications: 4000, seed: 7)
        XCTAssertEqual(r1.values, r2.values)
        XCTAssertEqual(r1.vectors, r2.vectors)
    }

    /// Runs in lockstep give each run exactly what it gives alone (values, vectors and counts), on
    /// the Krylov path and on the dense path (n ≤ basis), with runs finishing at different steps.
    func testRunsTogetherEqualRunsAlone() throws {
        let a = try planted((0..<300).map { 1 / Double($0 + 1) }, seed: 29)
        let b = try planted((0..<200).map { Double($0 % 17) + 0.01 * Double($0) }, seed: 31)
        let small = try planted((0..<12).map { Double($0) }, seed: 37)
        let problems: [(Matrix, Int, Int, UInt64)] = [(a, 6, 4, 3), (b, 3, 8, 5), (small, 2, 4, 7)]
        let alone = try problems.map { m, k, block, seed in
            try BlockLanczos.largest(operatorOf(m), count: k, blockSize: block, tolerance: 1e-10, maxApplications: 5000, seed: seed)
        }
        let runs = try problems.map { m, k, block, seed in
            try BlockLanczos.Iteration(dimension: m.rows, count: k, blockSize: block, tolerance: 1e-10, maxApplications: 5000, seed: seed)
        }
        var calls = 0
        let together = try BlockLanczos.largestTogether(runs) { blocks in
            calls += 1
            return zip(problems, blocks).map { p, x in x.map { BLAS.multiply(p.0, $0) } }
        }
        XCTAssertEqual(calls, alone.map(\.blockApplications).max())
        XCTAssertNotEqual(alone[0].blockApplications, alone[1].blockApplications, "the runs should end at different steps")
        for (x, y) in zip(alone, together) {
            XCTAssertEqual(x.values, y.values)
            XCTAssertEqual(x.vectors, y.vectors)
            XCTAssertEqual(x.applications, y.applications)
            XCTAssertEqual(x.blockApplications, y.blockApplications)
        }
        XCTAssertEqual(together[2].applications, 12, "n ≤ basis: the operator is assembled and solved densely")
        XCTAssertEqual(together[2].values[0], 11, accuracy: 1e-12)
    }
}
