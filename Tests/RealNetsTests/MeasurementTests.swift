import Foundation
import Landscape
import Linalg
import RealNets
import XCTest

/// Network measurements against dense references, and the paper's clustering on real data.
final class MeasurementTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/fashion-mnist-small")

    func fashion(perClass n: Int) throws -> (Matrix, [Int]) {
        let d = try IDX.load(folder: MeasurementTests.fixture, split: .test).balanced(perClass: n)
        return d.batch(Array(0..<d.count))
    }

    /// Lanczos at both ends, the exact trace, the hyperplanes, the H-term and the class-conditional
    /// means against a dense Hessian and explicit Jacobian rows on a small tanh network.
    func testMeasurementMatchesDenseReferences() throws {
        let arch = try Architecture.mlp(widths: [20, 6, 4], activation: .tanh)
        let net = Network(architecture: arch, seed: 2)
        let data = try Synthetic.mixture(examples: 40, dimension: 20, classes: 4, separation: 2, seed: 1).balanced(perClass: 3)
        let (x, y) = data.batch(Array(0..<data.count))
        var settings = MeasurementSettings()
        (settings.topK, settings.bottomK, settings.densityProbes, settings.hyperplanes, settings.hyperplaneDimension) = (5, 3, 2, 3, 4)
        let m = try NetworkMeasurement(network: net, inputs: x, labels: y, settings: settings)
        let h = try XCTUnwrap(m.hessian)
        let d = arch.parameterCount
        var dense = Matrix(rows: d, cols: d)
        for j in 0..<d {
            var e = [Double](repeating: 0, count: d)
            e[j] = 1
            dense.storage.replaceSubrange((j * d)..<((j + 1) * d), with: net.hessianVectorProduct(x, labels: y, e))
        }
        dense = 0.5 * (dense + dense.transposed)
        let exact = try Eigen.symmetric(dense, vectors: true)
        let scale = exact.values.map(abs).max()!
        for i in 0..<5 { XCTAssertEqual(h.top[i], exact.values[i], accuracy: 1e-6 * scale) }
        for i in 0..<3 { XCTAssertEqual(h.bottom[i], exact.values[d - 1 - i], accuracy: 1e-6 * scale, "λ_min \(i)") }
        XCTAssertLessThan(exact.values[d - 1], 0, "a tanh network's Hessian is indefinite here")
        XCTAssertEqual(h.norm, max(exact.values[0], -exact.values[d - 1]), accuracy: 1e-6 * scale)
        XCTAssertEqual(h.trace.method, "exact-diagonal")
        XCTAssertEqual(h.trace.standardError, 0)
        XCTAssertEqual(h.trace.value, dense.trace, accuracy: 1e-10 * abs(dense.trace))
        XCTAssertEqual(h.traceOverNorm, dense.trace / h.norm, accuracy: 1e-6 * abs(h.traceOverNorm))
        let g = net.lossAndGradient(x, labels: y).gradient
        let top = (0..<5).reduce(0.0) { let p = BLAS.dot(exact.vectors!.column($1), g); return $0 + p * p } / BLAS.dot(g, g)
        XCTAssertEqual(h.gradientPowerTopK, top, accuracy: 1e-6)
        // Each hyperplane draw against QᵀHQ of the dense Hessian with the same frame.
        XCTAssertEqual(h.hyperplane.draws.count, 3)
        for r in 0..<3 {
            let stream: UInt64 = r == 0 ? 21 : 21 | UInt64(r) << 32
            let q = try Orthonormal.columns(RandomStream(seed: 0, stream: stream).gaussianMatrix(rows: d, cols: 4))
            let projected = BLAS.multiply(q, transposeA: true, BLAS.multiply(dense, q))
            let ratio = TraceOverNorm(eigenvalues: try Eigen.symmetric(projected, vectors: false).values).ratio
            XCTAssertEqual(h.hyperplane.draws[r], ratio, accuracy: 1e-9 * abs(ratio), "hyperplane \(r)")
        }
        XCTAssertTrue(h.hyperplane.standardError.isFinite && h.hyperplane.standardError > 0)
        // Class-conditional means m_{k,a} from explicit rows.
        let j = LogitGradients(network: net, inputs: x).explicitJacobian(parameterCount: d)
        let c = 4
        var means = Matrix(rows: d, cols: c * c)
        for mu in 0..<y.count { for k in 0..<c { for i in 0..<d { means[i, k * c + y[mu]] += j[i, mu * c + k] / 3 } } }
        let meanGram = BLAS.gram(means)
        XCTAssertLessThan(m.gram.moments.meanGram.maxAbsDifference(meanGram), 1e-10 * meanGram.maxAbs)
        // H-term = H − G: its top eigenvalue from the dense difference.
        var gn = Matrix(rows: d, cols: d)
        for col in 0..<d {
            var e = [Double](repeating: 0, count: d)
            e[col] = 1
            gn.storage.replaceSubrange((col * d)..<((col + 1) * d), with: net.gaussNewtonVectorProduct(x, e))
        }
        let hTerm = try Eigen.symmetric(dense + (-1) * gn, vectors: false).values
        XCTAssertEqual(h.hTermTop[0], hTerm[0], accuracy: 1e-6 * max(abs(hTerm[0]), 1e-12))
        // Papyan's decomposition of this network's G-term sums back to the dense Gauss–Newton matrix:
        // its eigenvalues and trace, and Σ_i λ_i·share_X(i) = Tr(G_X) for each level X.
        let s = m.gram.structure
        XCTAssertEqual(s.trace, gn.trace, accuracy: 1e-10 * gn.trace)
        let gnValues = try Eigen.symmetric(gn, vectors: false).values
        for i in 0..<8 { XCTAssertEqual(s.gaussNewton.eigenvalues[i], gnValues[i], accuracy: 1e-10 * gnValues[0], "G λ\(i)") }
        for level in ClassStructure.Level.allCases {
            let weighted = zip(s.gaussNewton.eigenvalues, s.levels).reduce(0.0) { $0 + $1.0 * $1.1.share(level) }
            XCTAssertEqual(weighted, s.traces.share(level), accuracy: 1e-10 * gn.trace, "\(level)")
        }
        for l in s.levels { XCTAssertEqual(l.classLevel + l.cross + l.within, 1, accuracy: 1e-12) }
    }

    /// Fig. 1 on real Fashion-MNIST images at initialisation: q^SLSC > q^SL > |q^DL| for an MLP and a
    /// CNN with ReLU and tanh (the trained case is in the table, made by the CLI).
    func testLogitGradientsClusterAtInitialisation() throws {
        let (x, y) = try fashion(perClass: 5)
        for act in Activation.allCases {
            let archs = [try Architecture.mlp(widths: [784, 64, 64, 10], activation: act),
                         try Architecture.cnn(inputChannels: 1, side: 28, channels: [4, 8], hidden: 32, classes: 10, activation: act)]
            for arch in archs {
                let net = Network(architecture: arch, seed: 0)
                let q = LogitGradientClustering(LogitGradientPairSums(gram: LogitGradients(network: net, inputs: x).gram, labels: y, classes: 10))
                let name = "\(arch.kind)-\(act)"
                XCTAssertGreaterThan(q.qSLSC, q.qSL, name)
                XCTAssertGreaterThan(q.qSL, abs(q.qDL), name)
            }
        }
    }
}
