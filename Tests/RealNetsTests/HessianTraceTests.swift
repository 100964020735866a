import Foundation
import Landscape
import Linalg
import RealNets
import XCTest

/// Exact Hessian diagonals and traces of small networks against the dense D×D Hessian and Gauss–Newton
/// matrices built column by column from Hessian- and Gauss–Newton-vector products (forward-over-reverse,
/// an independent code path from the second-order backpropagation under test).
final class HessianTraceTests: XCTestCase {
    struct Case {
        var name: String
        var network: Network
        var x: Matrix
        var labels: [Int]
    }

    func makeCase(_ name: String, _ arch: Architecture, examples n: Int, seed: UInt64) -> Case {
        let x = RandomStream(seed: seed, stream: 1).gaussianMatrix(rows: arch.inputs, cols: n)
        let labels = (0..<n).map { ($0 * 7 + 3) % arch.classes }
        return Case(name: name, network: Network(architecture: arch, seed: seed, scale: 1.5), x: x, labels: labels)
    }

    func tanhMLPs() throws -> [Case] {
        [makeCase("mlp-tanh-2-hidden", try .mlp(widths: [7, 6, 5, 3], activation: .tanh), examples: 9, seed: 4),
         makeCase("mlp-tanh-3-hidden", try .mlp(widths: [6, 5, 4, 5, 3], activation: .tanh), examples: 8, seed: 5)]
    }

    func cnn(_ act: Activation) throws -> Case {
        makeCase("cnn-\(act)", try .cnn(inputChannels: 1, side: 6, channels: [2, 3], hidden: 4, classes: 3, activation: act),
                 examples: 6, seed: 6)
    }

    /// The dense matrix of a linear operator on parameter vectors, from its columns A·e_j, symmetrised.
    func dense(_ d: Int, _ apply: ([Double]) -> [Double]) -> Matrix {
        var m = Matrix(rows: d, cols: d)
        var e = [Double](repeating: 0, count: d)
        for j in 0..<d {
            e[j] = 1
            m.storage.replaceSubrange((j * d)..<((j + 1) * d), with: apply(e))
            e[j] = 0
        }
        return Matrix(rows: d, cols: d) { i, j in 0.5 * (m[i, j] + m[j, i]) }
    }

    func hessian(_ c: Case) -> Matrix {
        dense(c.network.parameters.count) { c.network.hessianVectorProduct(c.x, labels: c.labels, $0) }
    }

    func gaussNewton(_ c: Case) -> Matrix {
        dense(c.network.parameters.count) { c.network.gaussNewtonVectorProduct(c.x, $0) }
    }

    func diagonal(_ m: Matrix) -> [Double] { (0..<m.rows).map { m[$0, $0] } }

    /// max |a − b| / max |b|.
    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let scale = b.map(abs).max() ?? 0
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        return scale > 0 ? diff / scale : diff
    }

    func testPiecewiseLinearFlag() throws {
        XCTAssertTrue(Network(architecture: try .mlp(widths: [4, 3, 2], activation: .relu), seed: 0).isPiecewiseLinear)
        XCTAssertFalse(Network(architecture: try .mlp(widths: [4, 3, 2], activation: .tanh), seed: 0).isPiecewiseLinear)
        XCTAssertTrue(Network(architecture: try .mlp(widths: [4, 2], activation: .tanh), seed: 0).isPiecewiseLinear,
                      "a single dense layer has no activation at all")
        XCTAssertTrue(try cnn(.relu).network.isPiecewiseLinear)
        XCTAssertFalse(try cnn(.tanh).network.isPiecewiseLinear)
    }

    /// The exact diagonal and trace (elementwise and in sum to 1e-10 relative) of a ReLU MLP, a ReLU CNN
    /// and tanh MLPs with two and three hidden layers (the latter runs the stacked J_{L←l} dgemm), with
    /// and without a Gram from the caller; Tr(G) against the dense Gauss–Newton matrix, and the H-term part
    /// (0 for ReLU, where H = G to rounding) against the dense H − G.
    func testExactDiagonalAndTraceMatchDenseHessian() throws {
        let reluMLP = makeCase("mlp-relu", try .mlp(widths: [7, 6, 5, 3], activation: .relu), examples: 9, seed: 3)
        for c in [reluMLP, try cnn(.relu)] + (try tanhMLPs()) {
            let h = hessian(c), g = gaussNewton(c)
            let net = c.network
            let diag = try XCTUnwrap(net.hessianDiagonal(c.x, labels: c.labels), c.name)
            let eDiag = relativeError(diag, diagonal(h))
            XCTAssertLessThan(eDiag, 1e-10, "\(c.name): diagonal")
            let gram = LogitGradients(network: net, inputs: c.x).gram
            let withGram = try net.hessianTrace(c.x, labels: c.labels, gram: gram)
            let withoutGram = try net.hessianTrace(c.x, labels: c.labels)
            for t in [withGram, withoutGram] {
                XCTAssertEqual(t.method, net.isPiecewiseLinear ? .exact : .exactDiagonal, c.name)
                XCTAssertEqual(t.standardError, 0)
                XCTAssertEqual(t.probes, 0)
                XCTAssertEqual(t.estimatedParameters, 0)
                XCTAssertEqual(t.hTermEstimate, 0)
                XCTAssertEqual(t.value, h.trace, accuracy: 1e-10 * abs(h.trace), "\(c.name): Tr(H)")
                XCTAssertEqual(t.gaussNewton, g.trace, accuracy: 1e-10 * abs(g.trace), "\(c.name): Tr(G)")
                XCTAssertEqual(t.hTerm, h.trace - g.trace, accuracy: 1e-10 * abs(h.trace), "\(c.name): Tr(H − G)")
                XCTAssertEqual(t.value, t.gaussNewton + t.hTerm)
            }
            if net.isPiecewiseLinear { XCTAssertEqual(withGram.hTerm, 0) } else {
                XCTAssertGreaterThan(abs(withGram.hTerm), 1e-3 * abs(withGram.gaussNewton), "\(c.name): the H-term is not negligible")
            }
            print("HessianTrace \(c.name) (D = \(net.parameters.count)): Tr H exact \(withGram.value), dense \(h.trace), "
                  + "difference \(withGram.value - h.trace); Tr G \(withGram.gaussNewton); Tr(H − G) \(withGram.hTerm); "
                  + "diagonal max relative error \(eDiag)")
        }
    }

    /// Nets whose stacked per-example J_{L←l} would exceed the chunk size (a 1024- and a 2048-wide tanh
    /// layer, 5 examples: chunks of 2, 2, 1): diagonal entries e_iᵀHe_i from single Hessian-vector
    /// products on coordinates of every layer.
    func testChunkedRecursionOnWideLayers() throws {
        let c = makeCase("mlp-tanh-wide", try .mlp(widths: [2, 1024, 4, 2048, 2], activation: .tanh), examples: 5, seed: 8)
        let net = c.network
        let d = net.parameters.count
        let diag = try XCTUnwrap(net.hessianDiagonal(c.x, labels: c.labels))
        let layout = net.architecture.parameterLayout
        var coordinates: [Int] = []
        for tensor in layout {
            let size = tensor.shape.reduce(1, *)
            coordinates += [tensor.offset, tensor.offset + size / 2, tensor.offset + size - 1]
        }
        var reference: [Double] = [], exact: [Double] = []
        var e = [Double](repeating: 0, count: d)
        for i in coordinates {
            e[i] = 1
            reference.append(net.hessianVectorProduct(c.x, labels: c.labels, e)[i])
            e[i] = 0
            exact.append(diag[i])
        }
        let error = relativeError(exact, reference)
        XCTAssertLessThan(error, 1e-10, "\(exact) vs \(reference)")
        print("HessianTrace wide tanh MLP (D = \(d)): \(coordinates.count) diagonal entries, max relative error \(error)")
    }

    /// vᵀ(H − G)v by one second-order forward pass against the dense H − G, for random directions on
    /// every kind of net (the form the Hutchinson path averages).
    func testHTermQuadraticFormMatchesDense() throws {
        for c in [try cnn(.tanh), try cnn(.relu)] + (try tanhMLPs()) {
            let net = c.network
            let d = net.parameters.count
            let h = hessian(c)
            let hMinusG = h + (-1) * gaussNewton(c)
            for seed in UInt64(1)...3 {
                var v = [Double](repeating: 0, count: d)
                RandomStream(seed: seed, stream: 5).fillGaussian(&v)
                let reference = BLAS.dot(v, BLAS.multiply(hMinusG, v))
                let form = net.hTermQuadraticForm(c.x, labels: c.labels, v)
                let scale = abs(BLAS.dot(v, BLAS.multiply(h, v))) + abs(reference)
                XCTAssertEqual(form, reference, accuracy: 1e-12 * scale, "\(c.name), seed \(seed)")
            }
        }
    }

    /// Σ_u ρ_u(∇a_u·v)² on unit vectors is the dense H − G diagonal at every coordinate of a tanh CNN (the
    /// property that makes its Hutchinson average Tr(H − G)), and on a random direction it differs from
    /// vᵀ(H − G)v by the dense/conv cross terms only (so the two forms are not the same number).
    func testActivationCurvatureFormHasTheHTermDiagonal() throws {
        let c = try cnn(.tanh)
        let net = c.network
        let d = net.parameters.count
        let hMinusG = hessian(c) + (-1) * gaussNewton(c)
        var e = [Double](repeating: 0, count: d)
        var forms: [Double] = []
        for i in 0..<d {
            e[i] = 1
            forms.append(net.activationCurvatureQuadraticForm(c.x, labels: c.labels, e))
            e[i] = 0
        }
        let error = relativeError(forms, diagonal(hMinusG))
        XCTAssertLessThan(error, 1e-10)
        var v = [Double](repeating: 0, count: d)
        RandomStream(seed: 4, stream: 5).fillGaussian(&v)
        XCTAssertGreaterThan(abs(net.activationCurvatureQuadraticForm(c.x, labels: c.labels, v) - net.hTermQuadraticForm(c.x, labels: c.labels, v)),
                             1e-6 * abs(net.hTermQuadraticForm(c.x, labels: c.labels, v)))
        print("HessianTrace cnn-tanh: activation-curvature form on unit vectors vs dense diag(H − G), max relative error \(error)")
    }

    /// A tanh CNN: no exact diagonal; Tr(G) exact; the H-term exact on the dense head and estimated on the
    /// convolutions, the total within 4 standard errors of the dense trace.
    func testTanhCNNUsesGramPlusHutchinson() throws {
        let c = try cnn(.tanh)
        let net = c.network
        XCTAssertNil(net.hessianDiagonal(c.x, labels: c.labels))
        let h = hessian(c), g = gaussNewton(c)
        let t = try net.hessianTrace(c.x, labels: c.labels, probes: 400, seed: 3)
        XCTAssertEqual(t.method, .hutchinsonHTerm)
        XCTAssertEqual(t.probes, 400)
        let convParameters = net.architecture.parameterLayout.first { $0.name == "fc1.weight" }!.offset
        XCTAssertEqual(t.estimatedParameters, convParameters)
        XCTAssertEqual(t.gaussNewton, g.trace, accuracy: 1e-10 * abs(g.trace), "Tr(G) is exact")
        XCTAssertTrue(t.standardError > 0 && t.standardError.isFinite)
        XCTAssertEqual(t.value, h.trace, accuracy: 4 * t.standardError)
        XCTAssertEqual(t.value, t.gaussNewton + t.hTerm)
        // Hutchinson over the conv parameters alone: its spread is that of the H-term's conv block.
        let hMinusG = h + (-1) * g
        let convDiagonal = (0..<convParameters).reduce(0.0) { $0 + hMinusG[$1, $1] }
        let headDiagonal = (convParameters..<hMinusG.rows).reduce(0.0) { $0 + hMinusG[$1, $1] }
        XCTAssertEqual(t.hTerm - t.hTermEstimate, headDiagonal, accuracy: 1e-10 * abs(h.trace), "the head's H-term is exact")
        XCTAssertEqual(t.hTermEstimate, convDiagonal, accuracy: 4 * t.standardError)
        print("HessianTrace cnn-tanh (D = \(net.parameters.count)): Tr H = \(t.value) ± \(t.standardError) "
              + "(400 probes on \(convParameters) conv parameters), dense \(h.trace); Tr G \(t.gaussNewton) vs dense \(g.trace); "
              + "Tr(H − G) dense: head \(headDiagonal), conv \(convDiagonal)")
    }
}
