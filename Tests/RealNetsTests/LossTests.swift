import Landscape
import Linalg
import RealNets
import XCTest

/// Every training loss through the same exact derivatives: the gradient against central differences
/// of the loss, H·v against central differences of the gradient, and the Gauss–Newton product
/// against its explicit form Jᵀ(∂²ℓ/∂z²)J.
final class LossTests: XCTestCase {
    let losses: [Loss] = [.crossEntropy, .quadraticHinge(margin: 0.5), .logistic, .meanSquared]

    /// A tanh MLP with the outputs the loss needs, inputs and labels where a few hinge patterns are
    /// satisfied and a few are not (so both branches are exercised).
    func problem(_ loss: Loss) throws -> (Network, Matrix, [Int]) {
        let outputs = loss.outputs(classes: 3)
        let arch = try Architecture.mlp(widths: [5, 6, 4, outputs], activation: .tanh)
        let x = RandomStream(seed: 4, stream: 1).gaussianMatrix(rows: 5, cols: 8)
        let labels = loss.isBinary ? [0, 1, 1, 0, 1, 0, 0, 1] : [0, 2, 1, 2, 0, 1, 1, 2]
        return (Network(architecture: arch, seed: 2, scale: 2), x, labels)
    }

    func testGradientAndHessianMatchFiniteDifferences() throws {
        for loss in losses {
            let (net, x, y) = try problem(loss)
            if loss.isBinary {
                let f = net.logits(x).storage
                let active = zip(f, y).filter { 0.5 - Loss.sign(ofLabel: $0.1) * $0.0 > 0 }.count
                XCTAssert(active > 0 && active < y.count, "\(loss): \(active) of \(y.count) hinge patterns active; pick another problem")
            }
            let v = FiniteDifferences.direction(net.parameters.count, seed: 3)
            let h = 1e-6
            let (_, g, _) = net.lossAndGradient(x, labels: y, loss: loss)
            let lp = FiniteDifferences.shifted(net, v, h).lossAndGradient(x, labels: y, loss: loss)
            let lm = FiniteDifferences.shifted(net, v, -h).lossAndGradient(x, labels: y, loss: loss)
            let fd = (lp.loss - lm.loss) / (2 * h)
            XCTAssertEqual(BLAS.dot(g, v), fd, accuracy: 1e-7 * max(1, abs(fd)), "\(loss) gradient")
            let hv = net.hessianVectorProduct(x, labels: y, v, loss: loss)
            for i in stride(from: 0, to: g.count, by: 7) {
                let fdi = (lp.gradient[i] - lm.gradient[i]) / (2 * h)
                XCTAssertEqual(hv[i], fdi, accuracy: 1e-6 * max(1, abs(fdi)), "\(loss) H·v[\(i)]")
            }
        }
    }

    func testGaussNewtonIsJacobianSandwich() throws {
        for loss in losses {
            let (net, x, y) = try problem(loss)
            let d = net.parameters.count, c = net.architecture.classes, b = x.cols
            let v = FiniteDifferences.direction(d, seed: 5)
            let gv = net.gaussNewtonVectorProduct(x, v, loss: loss, labels: y)
            // Explicit: Σ_μ J^μᵀ (∂²ℓ/∂z²) J^μ v, the output Hessian applied through outputHessianTimes.
            let rows = LogitGradients(network: net, inputs: x).explicitJacobian(parameterCount: d)
            let jv = net.jacobianVectorProduct(x, v)
            let middle = loss.outputHessianTimes(net.logits(x), labels: y, jv)
            var expected = [Double](repeating: 0, count: d)
            for e in 0..<b { for k in 0..<c {
                let col = rows.column(e * c + k)
                for i in 0..<d { expected[i] += col[i] * middle[k, e] }
            } }
            let scale = expected.map(abs).max()!
            for i in 0..<d { XCTAssertEqual(gv[i], expected[i], accuracy: 1e-12 * scale, "\(loss) G·v[\(i)]") }
        }
    }

    /// The hinge by hand: loss ½max(0, ε − yf)², accuracy sign(f) = y; the metadata form round-trips.
    func testHingeValuesAndMetadata() {
        let z = Matrix(rows: 1, cols: 4, storage: [0.2, -1.0, 0.7, -0.1])
        let (loss, g, accuracy) = Loss.quadraticHinge(margin: 0.5).evaluate(z, labels: [1, 0, 1, 1])
        // Δ = 0.3, −0.5, −0.2, 0.6 → ℓ = (0.045 + 0.18)/4.
        XCTAssertEqual(loss, (0.5 * 0.09 + 0.5 * 0.36) / 4, accuracy: 1e-15)
        XCTAssertEqual(g.storage, [-0.3 / 4, 0, 0, -0.6 / 4].map { $0 }, "gradient −yΔ/B on Δ > 0")
        XCTAssertEqual(accuracy, 0.75)
        for l in losses { XCTAssertEqual(Loss(metadata: l.description), l) }
        XCTAssertNil(Loss(metadata: "hinge:-1"))
        XCTAssertNil(Loss(metadata: "hinge"))
    }
}
