import Foundation
import Landscape
import Linalg
import XCTest

/// Tr(G) from the Gram's diagonal blocks against the trace of the dense D×D Gauss–Newton matrix.
final class GaussNewtonTraceTests: XCTestCase {
    func testTraceFromGramMatchesDenseGaussNewton() throws {
        let (n, c, d) = (7, 4, 15)
        let rng = RandomStream(seed: 5, stream: 3)
        let j = rng.gaussianMatrix(rows: d, cols: n * c)       // column μ·C + k: ∂z^μ_k/∂θ
        let logits = (0..<(n * c)).map { _ in 3 * rng.gaussian() }
        let p = softmaxRows(logits, classes: c)
        // Dense G = (1/N) Σ_μ J^μ P^μ J^μᵀ with J^μ the D×C block of example μ.
        var g = Matrix(rows: d, cols: d)
        for mu in 0..<n {
            let pm = Matrix(rows: c, cols: c) { a, b in (a == b ? p[mu * c + a] : 0) - p[mu * c + a] * p[mu * c + b] }
            let jm = Matrix(rows: d, cols: c) { i, k in j[i, mu * c + k] }
            g = g + (1 / Double(n)) * (jm * pm * jm.transposed)
        }
        let dense = g.trace
        let gram = BLAS.gram(j)
        let fromGram = gaussNewtonTrace(gram: gram, probabilities: p, classes: c)
        XCTAssertEqual(fromGram, dense, accuracy: 1e-12 * abs(dense))
        // The same from the stacked C×(N·C) diagonal blocks.
        let blocks = Matrix(rows: c, cols: n * c) { a, col in gram[(col / c) * c + a, col] }
        XCTAssertEqual(gaussNewtonTrace(diagonalBlocks: blocks, probabilities: p, classes: c), dense, accuracy: 1e-12 * abs(dense))
        // And the sum of the Gram-space G-term spectrum (a third route through an eigensolver).
        let spectrum = try GaussNewtonSpectrum(gram: gram, logits: Matrix(rows: c, cols: n, storage: logits))
        XCTAssertEqual(spectrum.eigenvalues.reduce(0, +), dense, accuracy: 1e-10 * abs(dense))
        // Off-diagonal blocks do not enter: changing them leaves the trace alone.
        var scrambled = gram
        scrambled[0, c] += 5
        scrambled[c, 0] += 5
        XCTAssertEqual(gaussNewtonTrace(gram: scrambled, probabilities: p, classes: c), fromGram)
        print("GaussNewtonTrace: dense \(dense), from the Gram \(fromGram), difference \(fromGram - dense)")
    }
}
