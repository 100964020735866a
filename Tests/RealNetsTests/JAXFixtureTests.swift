import Foundation
import Linalg
import RealNets
import XCTest

/// The networks against an independent autodiff: fixtures/jax/reference.json, written in float64
/// by fixtures/jax/make_fixture.py (JAX) for the same MLP and CNN, parameters and inputs. Logits, the
/// logit-gradient Gram (empirical NTK), loss and gradient, the top Hessian and Gauss–Newton eigenvalues,
/// the Hessian's bottom eigenvalues (matrix-free by `Lanczos.smallest` and dense), its trace (exact:
/// `hessianTrace` takes the exact-diagonal path on the tanh MLP and the exact Tr H = Tr G path on the ReLU
/// CNN) and its diagonal (`hessianDiagonal`) must agree to 1e-8 relative to the largest magnitude of each
/// quantity.
final class JAXFixtureTests: XCTestCase {
    static let tolerance = 1e-8

    struct Reference: Decodable {
        let jax_version: String
        let nets: [String: Net]
    }

    struct Net: Decodable {
        let parameter_count: Int
        let input_size: Int
        let classes: Int
        let examples: Int
        let labels: [Int]
        let logits: [[Double]]
        let ntk_gram: [[Double]]
        let loss: Double
        let gradient: [Double]
        let hessian_top_eigenvalues: [Double]
        let gauss_newton_top_eigenvalues: [Double]
        let hessian_trace: Double
        let hessian_bottom_eigenvalues: [Double]
        let hessian_diagonal: [Double]
    }

    /// The repository root: the nearest ancestor of this file holding Package.swift.
    static func referenceURL() throws -> URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                return dir.appendingPathComponent("fixtures/jax/reference.json")
            }
            dir = dir.deletingLastPathComponent()
        }
        throw NetworkError.invalid("no Package.swift above \(#filePath)")
    }

    static func loadReference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: referenceURL()))
    }

    /// The fixture's networks: the same architectures as make_fixture.py.
    static func architecture(_ name: String) throws -> Architecture {
        switch name {
        case "mlp": return try .mlp(widths: [12, 8, 6, 4], activation: .tanh)
        case "cnn": return try .cnn(inputChannels: 1, side: 8, channels: [2, 3], hidden: 5, classes: 4, activation: .relu)
        default: throw NetworkError.invalid("unknown fixture net \(name)")
        }
    }

    /// θ_i = 0.3·sin(1.7·i + 0.5).
    static func parameters(_ d: Int) -> [Double] { (0..<d).map { 0.3 * sin(1.7 * Double($0) + 0.5) } }

    /// x = cos(0.9·(e·F + j) + 0.1): column e of the F×N input matrix, whose column-major storage index is e·F + j.
    static func inputs(features f: Int, examples n: Int) -> Matrix {
        Matrix(rows: f, cols: n, storage: (0..<(f * n)).map { cos(0.9 * Double($0) + 0.1) })
    }

    /// max |a − b| / max |b|.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        let scale = b.map(abs).max() ?? 0
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        return scale > 0 ? diff / scale : diff
    }

    /// The dense D×D matrix of a linear operator on parameter vectors, symmetrised.
    static func denseSymmetric(_ d: Int, _ apply: ([Double]) -> [Double]) -> Matrix {
        var m = Matrix(rows: d, cols: d)
        var e = [Double](repeating: 0, count: d)
        for j in 0..<d {
            e[j] = 1
            let column = apply(e)
            e[j] = 0
            m.storage.replaceSubrange((j * d)..<((j + 1) * d), with: column)
        }
        return Matrix(rows: d, cols: d) { i, j in 0.5 * (m[i, j] + m[j, i]) }
    }

    func check(_ name: String) throws {
        let reference = try Self.loadReference()
        let ref = try XCTUnwrap(reference.nets[name], "reference.json has no net \(name)")
        let arch = try Self.architecture(name)
        let d = arch.parameterCount, c = arch.classes, n = ref.examples
        XCTAssertEqual(d, ref.parameter_count, "\(name): parameter count")
        XCTAssertEqual(arch.inputs, ref.input_size, "\(name): input size")
        XCTAssertEqual(c, ref.classes, "\(name): classes")
        guard d == ref.parameter_count, arch.inputs == ref.input_size, c == ref.classes else { return }

        let net = Network(architecture: arch, parameters: Self.parameters(d))
        let x = Self.inputs(features: arch.inputs, examples: n)
        let tol = Self.tolerance
        var report: [String] = []

        // Logits: Swift's are classes × N, the reference's N × classes.
        let z = net.logits(x)
        let logits = (0..<n).flatMap { e in (0..<c).map { k in z[k, e] } }
        let eLogits = Self.relativeError(logits, ref.logits.flatMap { $0 })
        XCTAssertLessThan(eLogits, tol, "\(name): logits")
        report.append("logits \(eLogits)")

        // Every entry of the (N·C)×(N·C) Gram, index μ·C + k.
        let gram = LogitGradients(network: net, inputs: x).gram
        XCTAssertEqual(gram.rows, n * c)
        XCTAssertEqual(ref.ntk_gram.count, n * c)
        let swiftGram = (0..<(n * c)).flatMap { i in (0..<(n * c)).map { j in gram[i, j] } }
        let eGram = Self.relativeError(swiftGram, ref.ntk_gram.flatMap { $0 })
        XCTAssertLessThan(eGram, tol, "\(name): NTK Gram")
        report.append("gram \(eGram)")

        // Loss and gradient.
        let (loss, gradient, _) = net.lossAndGradient(x, labels: ref.labels)
        let eLoss = abs(loss - ref.loss) / abs(ref.loss)
        let eGradient = Self.relativeError(gradient, ref.gradient)
        XCTAssertLessThan(eLoss, tol, "\(name): loss")
        XCTAssertLessThan(eGradient, tol, "\(name): gradient")
        report.append("loss \(eLoss)")
        report.append("gradient \(eGradient)")

        // Top Hessian eigenvalues, from the dense Hessian built column by column from H·e_j.
        let top = ref.hessian_top_eigenvalues.count
        let hessian = Self.denseSymmetric(d) { net.hessianVectorProduct(x, labels: ref.labels, $0) }
        let hEigs = Array(try Eigen.symmetric(hessian, vectors: false).values.prefix(top))
        let eHessian = Self.relativeError(hEigs, ref.hessian_top_eigenvalues)
        XCTAssertLessThan(eHessian, tol, "\(name): top Hessian eigenvalues \(hEigs) vs \(ref.hessian_top_eigenvalues)")
        report.append("hessian top-\(top) \(eHessian)")

        // Top Gauss–Newton eigenvalues, the same way.
        let gTop = ref.gauss_newton_top_eigenvalues.count
        let gaussNewton = Self.denseSymmetric(d) { net.gaussNewtonVectorProduct(x, $0) }
        let gEigs = Array(try Eigen.symmetric(gaussNewton, vectors: false).values.prefix(gTop))
        let eGN = Self.relativeError(gEigs, ref.gauss_newton_top_eigenvalues)
        XCTAssertLessThan(eGN, tol, "\(name): top Gauss–Newton eigenvalues \(gEigs) vs \(ref.gauss_newton_top_eigenvalues)")
        report.append("gauss-newton top-\(gTop) \(eGN)")

        // Exact trace: the dense-layer (tanh) MLP by second-order backpropagation, the ReLU CNN as Tr G.
        let trace = try net.hessianTrace(x, labels: ref.labels, gram: gram)
        XCTAssertEqual(trace.method, name == "mlp" ? .exactDiagonal : .exact, "\(name): trace method")
        XCTAssertEqual(trace.standardError, 0)
        let eTrace = abs(trace.value - ref.hessian_trace) / abs(ref.hessian_trace)
        XCTAssertLessThan(eTrace, tol, "\(name): Hessian trace \(trace.value) vs \(ref.hessian_trace)")
        report.append("trace (\(trace.method.rawValue)) \(eTrace)")

        // The whole diagonal.
        let diagonal = try XCTUnwrap(net.hessianDiagonal(x, labels: ref.labels), "\(name): no exact diagonal")
        let eDiagonal = Self.relativeError(diagonal, ref.hessian_diagonal)
        XCTAssertLessThan(eDiagonal, tol, "\(name): Hessian diagonal")
        report.append("diagonal \(eDiagonal)")

        // Bottom eigenvalues, matrix-free from Hessian-vector products, and from the dense Hessian.
        let bottom = ref.hessian_bottom_eigenvalues.count
        let op = ClosureOperator(dimension: d) { net.hessianVectorProduct(x, labels: ref.labels, $0) }
        let low = try Lanczos.smallest(op, count: bottom, tolerance: 1e-10, maxIterations: 2000)
        let eLow = Self.relativeError(low.values, ref.hessian_bottom_eigenvalues)
        XCTAssertLessThan(eLow, tol, "\(name): bottom Hessian eigenvalues \(low.values) vs \(ref.hessian_bottom_eigenvalues)")
        let denseLow = Array(try Eigen.symmetric(hessian, vectors: false).values.reversed().prefix(bottom))
        XCTAssertLessThan(Self.relativeError(denseLow, ref.hessian_bottom_eigenvalues), tol, "\(name): dense bottom eigenvalues")
        report.append("hessian bottom-\(bottom) (Lanczos, \(low.applications) HVPs) \(eLow)")

        print("JAXFixture \(name) (jax \(reference.jax_version), D = \(d)) max relative errors: "
              + report.joined(separator: ", "))
    }

    func testMLPMatchesJAX() throws { try check("mlp") }

    func testCNNMatchesJAX() throws { try check("cnn") }
}
