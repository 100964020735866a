import Linalg
import RealNets
import XCTest

/// Curvature products on blocks of directions (`CurvatureProducts.apply` on a D × b matrix) for every
/// architecture (MLP and CNN, ReLU and tanh) and every loss: against the same products one direction
/// at a time, against central differences of the gradient (H), against the explicit sandwich
/// Jᵀ(∂²ℓ/∂z²)J from Jacobian rows (G), and H − G against both.
final class BlockProductTests: XCTestCase {
    let losses: [Loss] = [.crossEntropy, .quadraticHinge(margin: 0.5), .logistic, .meanSquared]

    /// Small networks of every kind with the outputs each loss needs, on 5 examples. The labels leave
    /// some hinge patterns satisfied and some not, so both branches of its output Hessian are exercised.
    func problems() throws -> [(name: String, net: Network, x: Matrix, labels: [Int], loss: Loss)] {
        var out: [(String, Network, Matrix, [Int], Loss)] = []
        for loss in losses {
            let outputs = loss.outputs(classes: 3)
            let labels = loss.isBinary ? [0, 1, 1, 0, 1] : [0, 2, 1, 2, 0]
            for act in Activation.allCases {
                let mlp = try Architecture.mlp(widths: [6, 5, 4, outputs], activation: act)
                let cnn = try Architecture.cnn(inputChannels: 2, side: 6, channels: [2, 3], hidden: 4, classes: outputs, activation: act)
                for (kind, arch) in [("mlp", mlp), ("cnn", cnn)] {
                    let x = RandomStream(seed: 3, stream: 1).gaussianMatrix(rows: arch.inputs, cols: 5)
                    out.append(("\(kind)-\(act)-\(loss.name)", Network(architecture: arch, seed: 1, scale: 1.5), x, labels, loss))
                }
            }
        }
        return out
    }

    /// Largest |a − b| over largest |b|, column j of a block against a vector.
    func relativeDifference(_ a: Matrix, column j: Int, _ b: [Double]) -> Double {
        let col = a.column(j)
        let scale = b.map(abs).max() ?? 0
        return zip(col, b).map { abs($0 - $1) }.max()! / max(scale, .leastNormalMagnitude)
    }

    /// Each column of H·V, G·V and (H − G)·V for b = 4 equals the product with that column alone, to
    /// 1e-12 relative: the stacking of the b directions (side-by-side weights, stacked R-values, pooling
    /// routes, the output Hessian per direction) changes only the order of floating-point sums. The
    /// single products of `Network` are the b = 1 case, and H = G + (H − G) to round-off. A block split
    /// into passes of fewer columns (`passMemory`) gives the same products.
    func testBlockEqualsSingleProducts() throws {
        var hingeBranches = Set<Bool>()
        for (name, net, x, y, loss) in try problems() {
            if case let .quadraticHinge(margin) = loss {
                for (f, label) in zip(net.logits(x).storage, y) { hingeBranches.insert(margin - Loss.sign(ofLabel: label) * f > 0) }
            }
            let d = net.parameters.count
            let v = RandomStream(seed: 9, stream: 3).gaussianMatrix(rows: d, cols: 4)
            let products = CurvatureProducts(network: net, inputs: x, labels: y, loss: loss)
            var blocks: [CurvatureProducts.Term: Matrix] = [:]
            for term in CurvatureProducts.Term.allCases {
                let block = products.apply(term, to: v)
                blocks[term] = block
                XCTAssertEqual(block.rows, d)
                XCTAssertEqual(block.cols, 4)
                for j in 0..<4 {
                    let single = products.apply(term, to: Matrix(rows: d, cols: 1, storage: v.column(j))).storage
                    XCTAssertGreaterThan(single.map(abs).max()!, 0, "\(name) \(term) product is zero")
                    XCTAssertLessThan(relativeDifference(block, column: j, single), 1e-12, "\(name) \(term) column \(j)")
                }
            }
            // Applied in passes of 1 and of 3 columns (a wide block split by the pass memory).
            for width in [1, 3] {
                let bytes = Int(CurvatureProducts.bytesPerDirection(net.architecture, examples: x.cols) * (Double(width) + 0.5))
                let narrow = CurvatureProducts(network: net, inputs: x, labels: y, loss: loss, passMemory: bytes)
                XCTAssertEqual(narrow.columnsPerPass, width)
                for term in CurvatureProducts.Term.allCases {
                    let split = narrow.apply(term, to: v), whole = blocks[term]!
                    XCTAssertLessThan(split.maxAbsDifference(whole), 1e-12 * whole.maxAbs, "\(name) \(term) in passes of \(width)")
                }
            }
            let h = blocks[.hessian]!, g = blocks[.gaussNewton]!, r = blocks[.hTerm]!
            XCTAssertLessThan(h.maxAbsDifference(g + r), 1e-12 * h.maxAbs, "\(name) H = G + (H − G)")
            let hv = net.hessianVectorProduct(x, labels: y, v.column(1), loss: loss)
            XCTAssertLessThan(relativeDifference(h, column: 1, hv), 1e-12, "\(name) Network.hessianVectorProduct")
            let gv = net.gaussNewtonVectorProduct(x, v.column(2), loss: loss, labels: y)
            XCTAssertLessThan(relativeDifference(g, column: 2, gv), 1e-12, "\(name) Network.gaussNewtonVectorProduct")
        }
        XCTAssertEqual(hingeBranches, [true, false], "the hinge problems must have active and satisfied patterns")
    }

    /// H·V against central differences of the gradient along each column (h = 1e-5: truncation
    /// ~h²·‖∇³L‖ and rounding ~1e-16/h, both below 1e-6 of the products' scale); G·V against the
    /// explicit sandwich Σ_μ J^μᵀ(∂²ℓ/∂z²)J^μ·v from the Jacobian rows of `LogitGradients` (an
    /// independent reverse-mode construction) to 1e-12; and (H − G)·V against the difference of the two
    /// references, to the finite differences' tolerance.
    func testBlockMatchesFiniteDifferencesAndJacobianSandwich() throws {
        for (name, net, x, y, loss) in try problems() {
            let d = net.parameters.count, c = net.architecture.classes, n = x.cols
            var v = Matrix(rows: d, cols: 3)
            for j in 0..<3 { v.storage.replaceSubrange((j * d)..<((j + 1) * d), with: FiniteDifferences.direction(d, seed: UInt64(20 + j))) }
            let products = CurvatureProducts(network: net, inputs: x, labels: y, loss: loss)
            let hBlock = products.apply(.hessian, to: v), gBlock = products.apply(.gaussNewton, to: v)
            let rBlock = products.apply(.hTerm, to: v)
            let rows = LogitGradients(network: net, inputs: x).explicitJacobian(parameterCount: d)
            let z = net.logits(x)
            let step = 1e-5
            for j in 0..<3 {
                let dir = v.column(j)
                let plus = FiniteDifferences.shifted(net, dir, step).lossAndGradient(x, labels: y, loss: loss).gradient
                let minus = FiniteDifferences.shifted(net, dir, -step).lossAndGradient(x, labels: y, loss: loss).gradient
                let fd = zip(plus, minus).map { ($0 - $1) / (2 * step) }
                let scale = max(fd.map(abs).max()!, 1)
                // G·v = Jᵀ·Λ·(J·v) with J·v from the explicit rows.
                let jv = BLAS.multiply(rows, transpose: true, dir)   // index μ·C + k
                let middle = loss.outputHessianTimes(z, labels: y, Matrix(rows: c, cols: n, storage: jv))
                let sandwich = BLAS.multiply(rows, middle.storage)
                let gScale = sandwich.map(abs).max()!
                for i in 0..<d {
                    XCTAssertEqual(hBlock[i, j], fd[i], accuracy: 1e-6 * scale, "\(name) H·v[\(i)] column \(j)")
                    XCTAssertEqual(gBlock[i, j], sandwich[i], accuracy: 1e-12 * max(gScale, 1e-300), "\(name) G·v[\(i)] column \(j)")
                    XCTAssertEqual(rBlock[i, j], fd[i] - sandwich[i], accuracy: 1e-6 * scale, "\(name) (H − G)·v[\(i)] column \(j)")
                }
            }
        }
    }

    /// The dense matrix of each term (`matrix`, the identity a pass at a time, here in passes of 3)
    /// equals its products with the unit vectors one at a time, and H's is symmetric to round-off.
    func testDenseMatrixEqualsUnitVectorProducts() throws {
        for (name, net, x, y, loss) in try problems() where name.hasPrefix("mlp-tanh") || name.hasPrefix("cnn-relu") {
            let d = net.parameters.count
            let bytes = Int(CurvatureProducts.bytesPerDirection(net.architecture, examples: x.cols) * 3.5)
            let products = CurvatureProducts(network: net, inputs: x, labels: y, loss: loss, passMemory: bytes)
            for term in CurvatureProducts.Term.allCases {
                let m = products.matrix(term)
                for j in stride(from: 0, to: d, by: 5) {
                    var e = Matrix(rows: d, cols: 1)
                    e[j, 0] = 1
                    let column = products.apply(term, to: e).storage
                    XCTAssertLessThan(relativeDifference(m, column: j, column), 1e-12, "\(name) \(term) column \(j)")
                }
                XCTAssertLessThan(m.maxAbsDifference(m.transposed), 1e-12 * m.maxAbs, "\(name) \(term) symmetric")
            }
        }
    }
}
