import Landscape
import Linalg
import RealNets
import XCTest

/// Exact derivatives of the networks against finite differences and explicit constructions.
final class DerivativeTests: XCTestCase {
    /// Small networks of every kind: MLP and CNN, ReLU and tanh.
    func networks() throws -> [(String, Network, Matrix, [Int])] {
        var out: [(String, Network, Matrix, [Int])] = []
        for act in Activation.allCases {
            let mlp = try Architecture.mlp(widths: [6, 5, 4, 3], activation: act)
            let cnn = try Architecture.cnn(inputChannels: 1, side: 6, channels: [2, 3], hidden: 4, classes: 3, activation: act)
            for (name, arch) in [("mlp-\(act)", mlp), ("cnn-\(act)", cnn)] {
                let x = RandomStream(seed: 3, stream: 1).gaussianMatrix(rows: arch.inputs, cols: 4)
                out.append((name, Network(architecture: arch, seed: 1, scale: 1.5), x, [0, 2, 1, 2]))
            }
        }
        return out
    }

    /// J·v by forward mode, and the explicit Jacobian rows, against central differences of the logits.
    func testLogitJacobianMatchesFiniteDifferences() throws {
        for (name, net, x, _) in try networks() {
            let v = FiniteDifferences.direction(net.parameters.count, seed: 2)
            let h = 1e-6
            let plus = FiniteDifferences.shifted(net, v, h).logits(x), minus = FiniteDifferences.shifted(net, v, -h).logits(x)
            let jv = net.jacobianVectorProduct(x, v)
            let rows = LogitGradients(network: net, inputs: x).explicitJacobian(parameterCount: net.parameters.count)
            let c = net.architecture.classes
            for e in 0..<x.cols { for k in 0..<c {
                let fd = (plus[k, e] - minus[k, e]) / (2 * h)
                XCTAssertEqual(jv[k, e], fd, accuracy: 1e-6 * max(1, abs(fd)), "\(name) J·v")
                XCTAssertEqual(BLAS.dot(rows.column(e * c + k), v), fd, accuracy: 1e-6 * max(1, abs(fd)), "\(name) rows")
            } }
        }
    }

    /// The factorised Gram equals the Gram of the explicit Jacobian rows.
    func testGramMatchesExplicitRows() throws {
        for (name, net, x, _) in try networks() {
            let lg = LogitGradients(network: net, inputs: x)
            let explicit = BLAS.gram(lg.explicitJacobian(parameterCount: net.parameters.count))
            XCTAssertLessThan(lg.gram.maxAbsDifference(explicit), 1e-12 * explicit.maxAbs, name)
        }
    }

    /// Gradient against central differences of the loss; H·v against central differences of the gradient.
    func testGradientAndHessianVectorProduct() throws {
        for (name, net, x, y) in try networks() {
            let v = FiniteDifferences.direction(net.parameters.count, seed: 4)
            let h = 1e-5
            let g = net.lossAndGradient(x, labels: y).gradient
            let lp = FiniteDifferences.shifted(net, v, h).lossAndGradient(x, labels: y), lm = FiniteDifferences.shifted(net, v, -h).lossAndGradient(x, labels: y)
            XCTAssertEqual(BLAS.dot(g, v), (lp.loss - lm.loss) / (2 * h), accuracy: 1e-7, name)
            let hv = net.hessianVectorProduct(x, labels: y, v)
            let scale = hv.map(abs).max()!
            for i in hv.indices {
                XCTAssertEqual(hv[i], (lp.gradient[i] - lm.gradient[i]) / (2 * h), accuracy: 1e-6 * max(scale, 1), "\(name) Hv[\(i)]")
            }
        }
    }

    /// G-term eigenvalues from the Gram, (1/B)·eig(Fᵀ·K·F), equal those of the dense D×D Gauss–Newton matrix.
    func testGaussNewtonSpectrumFromGram() throws {
        for (name, net, x, _) in try networks() {
            let lg = LogitGradients(network: net, inputs: x)
            let c = net.architecture.classes, b = x.cols, d = net.parameters.count
            let z = net.logits(x)
            let p = softmaxRows(z.storage, classes: c)
            let j = lg.explicitJacobian(parameterCount: d)
            var dense = Matrix(rows: d, cols: d)
            for e in 0..<b {
                let je = Matrix(rows: d, cols: c, storage: Array(j.storage[(e * c * d)..<((e + 1) * c * d)]))
                let pe = Matrix(rows: c, cols: c) { i, k in (i == k ? p[e * c + i] : 0) - p[e * c + i] * p[e * c + k] }
                dense = dense + (1 / Double(b)) * BLAS.multiply(je, BLAS.multiply(pe, je, transposeB: true))
            }
            let reference = try Eigen.symmetric(dense, vectors: false).values
            let fromGram = try GaussNewtonSpectrum(gram: lg.gram, logits: z).eigenvalues
            for i in 0..<min(fromGram.count, 5) {
                XCTAssertEqual(fromGram[i], reference[i], accuracy: 1e-10 * reference[0], name)
            }
            // And the operator form agrees with the dense matrix.
            let v = FiniteDifferences.direction(d, seed: 5)
            let gv = net.gaussNewtonVectorProduct(x, v)
            let dv = BLAS.multiply(dense, v)
            for i in 0..<d { XCTAssertEqual(gv[i], dv[i], accuracy: 1e-10 * max(1, dv.map(abs).max()!), name) }
        }
    }
}
