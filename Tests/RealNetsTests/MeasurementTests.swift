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

    /// Lanczos, Hutchinson, the hyperplane statistic and the eq. 14–15 decomposition against a dense
    /// Hessian and explicit Jacobian rows on a small network.
    func testMeasurementMatchesDenseReferences() throws {
        let arch = try Architecture.mlp(widths: [20, 6, 4], activation: .tanh)
        let net = Network(architecture: arch, seed: 2)
        let data = try Synthetic.mixture(examples: 40, dimension: 20, classes: 4, separation: 2, seed: 1).balanced(perClass: 3)
        let (x, y) = data.batch(Array(0..<data.count))
        var settings = MeasurementSettings()
        (settings.topK, settings.traceProbes, settings.densityProbes) = (5, 200, 2)
        let m = try NetworkMeasurement(network: net, inputs: x, labels: y, settings: settings)
        let d = arch.parameterCount
        var h = Matrix(rows: d, cols: d)
        for j in 0..<d {
            var e = [Double](repeating: 0, count: d)
            e[j] = 1
            h.storage.replaceSubrange((j * d)..<((j + 1) * d), with: net.hessianVectorProduct(x, labels: y, e))
        }
        h = 0.5 * (h + h.transposed)
        let exact = try Eigen.symmetric(h, vectors: true)
        for i in 0..<5 { XCTAssertEqual(m.hessianTop[i], exact.values[i], accuracy: 1e-6 * exact.values[0]) }
        XCTAssertEqual(m.trace, h.trace, accuracy: 4 * m.traceStandardError + 1e-12)
        let g = net.lossAndGradient(x, labels: y).gradient
        let top = (0..<5).reduce(0.0) { let p = BLAS.dot(exact.vectors!.column($1), g); return $0 + p * p } / BLAS.dot(g, g)
        XCTAssertEqual(m.gradientPowerTopK, top, accuracy: 1e-6)
        // Decomposition from explicit rows.
        let j = LogitGradients(network: net, inputs: x).explicitJacobian(parameterCount: d)
        let c = 4
        var cc = 0.0, ee = 0.0
        for k in 0..<c {
            let members = (0..<y.count).filter { y[$0] == k }
            var mean = [Double](repeating: 0, count: d)
            for mu in members { let col = j.column(mu * c + k); for i in 0..<d { mean[i] += col[i] / Double(members.count) } }
            cc += BLAS.dot(mean, mean) / Double(c)
            for mu in 0..<y.count {
                let col = j.column(mu * c + k)
                ee += zip(col, mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(y.count * c)
            }
        }
        XCTAssertEqual(m.sigmaCEstimate, cc.squareRoot(), accuracy: 1e-10 * cc.squareRoot())
        XCTAssertEqual(m.sigmaEEstimate, ee.squareRoot(), accuracy: 1e-10 * ee.squareRoot())
        // H-term = H − G: its top eigenvalue from the dense difference.
        var gn = Matrix(rows: d, cols: d)
        for col in 0..<d {
            var e = [Double](repeating: 0, count: d)
            e[col] = 1
            gn.storage.replaceSubrange((col * d)..<((col + 1) * d), with: net.gaussNewtonVectorProduct(x, e))
        }
        let hTerm = try Eigen.symmetric(h + (-1) * gn, vectors: false).values
        XCTAssertEqual(m.hTermTop[0], hTerm[0], accuracy: 1e-6 * max(abs(hTerm[0]), 1e-12))
        XCTAssertTrue(m.hyperplaneTraceOverNorm.isFinite)
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
