import Linalg
import XCTest

/// dgesdd's singular values against a matrix built from known ones, and the numerical rank.
final class SingularValuesTests: XCTestCase {
    func testKnownSingularValuesAndRank() throws {
        // A = U·diag(σ)·Vᵀ with orthonormal U (7×4) and V (4×4), σ = 5, 2, 1e-3, 0.
        let u = try Orthonormal.columns(RandomStream(seed: 1, stream: 1).gaussianMatrix(rows: 7, cols: 4))
        let v = try Orthonormal.columns(RandomStream(seed: 1, stream: 2).gaussianMatrix(rows: 4, cols: 4))
        let sigma = [5.0, 2, 1e-3, 0]
        var us = u
        for j in 0..<4 { for i in 0..<7 { us[i, j] *= sigma[j] } }
        for a in [BLAS.multiply(us, v, transposeB: true), BLAS.multiply(v, us, transposeB: true)] {   // 7×4 and 4×7
            let s = try SingularValues.of(a)
            XCTAssertEqual(s.count, 4)
            for k in 0..<3 { XCTAssertEqual(s[k], sigma[k], accuracy: 1e-13) }
            XCTAssertLessThan(s[3], 1e-14)
            XCTAssertEqual(SingularValues.rank(s, rows: a.rows, cols: a.cols), 3)
        }
        XCTAssertEqual(try SingularValues.of(Matrix(rows: 0, cols: 3)), [])
        var bad = Matrix(rows: 2, cols: 2)
        bad[0, 0] = .nan
        XCTAssertThrowsError(try SingularValues.of(bad))
    }
}
