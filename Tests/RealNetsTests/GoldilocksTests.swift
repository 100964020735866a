import Foundation
import Landscape
import Linalg
import RealNets
import XCTest

/// Restricted Hessians on random hyperplanes and hyperspheres, and training in random subspaces
/// (the Goldilocks zone: Fort & Scherlis 2018; intrinsic dimension: Li et al. 2018).
final class GoldilocksTests: XCTestCase {
    func tiny() throws -> (Network, Matrix, [Int]) {
        let arch = try Architecture.mlp(widths: [20, 6, 4], activation: .tanh)
        let net = Network(architecture: arch, seed: 2)
        let data = try Synthetic.mixture(examples: 40, dimension: 20, classes: 4, separation: 2, seed: 1).balanced(perClass: 3)
        let (x, y) = data.batch(Array(0..<data.count))
        return (net, x, y)
    }

    /// The dense Hessian from D Hessian-vector products with unit vectors, symmetrised.
    func denseHessian(_ net: Network, _ x: Matrix, _ y: [Int]) -> Matrix {
        let d = net.parameters.count
        var dense = Matrix(rows: d, cols: d)
        for j in 0..<d {
            var e = [Double](repeating: 0, count: d)
            e[j] = 1
            dense.storage.replaceSubrange((j * d)..<((j + 1) * d), with: net.hessianVectorProduct(x, labels: y, e))
        }
        return 0.5 * (dense + dense.transposed)
    }

    /// QᵀHQ from d Hessian-vector products against QᵀHQ of the dense Hessian, on both kinds of
    /// subspace, and the statistics of each draw against the dense projection's eigenvalues.
    func testRestrictedHessianMatchesDense() throws {
        let (net, x, y) = try tiny()
        let dense = denseHessian(net, x, y)
        for kind in SubspaceKind.allCases {
            let measured = try RestrictedCurvature(network: net, inputs: x, labels: y, kind: kind, dimension: 7, subspaces: 3, seed: 5)
            XCTAssertEqual(measured.subspaces, 3)
            for draw in 0..<3 {
                let q = try RestrictedCurvature.basis(kind: kind, at: net.parameters, dimension: 7, seed: 5, draw: draw)
                let viaProducts = RestrictedCurvature.projected(basis: q) { CurvatureProducts(network: net, inputs: x, labels: y).apply(.hessian, to: $0) }
                var reference = BLAS.multiply(q, transposeA: true, BLAS.multiply(dense, q))
                reference = 0.5 * (reference + reference.transposed)
                XCTAssertLessThanOrEqual(viaProducts.maxAbsDifference(reference), 1e-10 * reference.maxAbs, "\(kind) draw \(draw)")
                let values = try Eigen.symmetric(reference, vectors: false).values
                let ratio = values.reduce(0, +) / max(values.max()!, -values.min()!)
                XCTAssertEqual(measured.traceOverNorm[draw], ratio, accuracy: 1e-9 * abs(ratio))
                XCTAssertEqual(measured.positiveFraction[draw], Double(values.filter { $0 > 0 }.count) / 7)
            }
            let (mean, se) = measured.traceOverNormMean
            XCTAssertEqual(mean, measured.traceOverNorm.reduce(0, +) / 3, accuracy: 1e-14)
            XCTAssertTrue(se.isFinite && se > 0)
        }
        // The full-space values against the dense Hessian.
        let full = try FullSpaceCurvature(network: net, inputs: x, labels: y, topK: 3)
        let exact = try Eigen.symmetric(dense, vectors: false).values
        let scale = exact.map(abs).max()!
        XCTAssertEqual(full.trace, dense.trace, accuracy: 1e-10 * abs(dense.trace))
        XCTAssertEqual(full.largest, exact.max()!, accuracy: 1e-6 * scale)
        XCTAssertEqual(full.smallest, exact.min()!, accuracy: 1e-6 * scale)
        XCTAssertEqual(full.hessianNorm, max(exact.max()!, -exact.min()!), accuracy: 1e-6 * scale)
        XCTAssertGreaterThan(full.logitStd, 0)
        XCTAssertTrue(full.meanMaxProbability > 0.25 && full.meanMaxProbability < 1)
    }

    /// E[Tr QᵀHQ] = (d/D)·Tr H over Haar hyperplanes, within 4 standard errors of the sample mean.
    func testHyperplaneTraceIsUnbiased() throws {
        let (net, x, y) = try tiny()
        let dense = denseHessian(net, x, y)
        let (n, d, draws) = (net.parameters.count, 5, 400)
        let traces = try (0..<draws).map { draw -> Double in
            let q = try RestrictedCurvature.basis(kind: .hyperplane, at: net.parameters, dimension: d, seed: 9, draw: draw)
            return BLAS.multiply(q, transposeA: true, BLAS.multiply(dense, q)).trace
        }
        let (mean, se) = sampleMean(traces)
        let expected = Double(d) / Double(n) * dense.trace
        XCTAssertTrue(se.isFinite && se > 0)
        XCTAssertLessThan(abs(mean - expected), 4 * se, "mean \(mean) ± \(se), expected \(expected)")
        // A biased estimator would show: the same sample is far from, say, (d + 1)/D · Tr H.
        XCTAssertGreaterThan(abs(mean - Double(d + 1) / Double(n) * dense.trace), 4 * se)
    }

    /// Sphere directions are orthonormal and orthogonal to θ; hyperplane bases are orthonormal.
    func testSphereDirectionsAreTangent() throws {
        let (net, _, _) = try tiny()
        let theta = try net.rescaled(toNorm: 37).parameters
        let r = BLAS.dot(theta, theta).squareRoot()
        XCTAssertEqual(r, 37, accuracy: 1e-12 * 37)
        for kind in SubspaceKind.allCases {
            let q = try RestrictedCurvature.basis(kind: kind, at: theta, dimension: 12, seed: 3, draw: 1)
            XCTAssertLessThan(BLAS.multiply(q, transposeA: true, q).maxAbsDifference(.identity(12)), 1e-12)
            if kind == .sphere {
                let along = BLAS.multiply(q, transpose: true, theta.map { $0 / r })
                XCTAssertLessThan(along.map(abs).max()!, 1e-12)
            }
        }
        XCTAssertThrowsError(try RestrictedCurvature.basis(kind: .sphere, at: theta, dimension: theta.count, seed: 0, draw: 0))
        XCTAssertThrowsError(try net.rescaled(toNorm: 0))
        XCTAssertThrowsError(try net.rescaled(toNorm: .infinity))
    }

    /// d = D with P = I is ordinary training, bit for bit, for both optimisers.
    func testIdentitySubspaceTrainingIsOrdinaryTraining() throws {
        let data = try Synthetic.mixture(examples: 60, dimension: 20, classes: 4, separation: 2, seed: 1)
        let arch = try Architecture.mlp(widths: [20, 6, 4], activation: .tanh)
        for optimizer in Optimizer.allCases {
            var s = TrainingSettings()
            (s.optimizer, s.batchSize, s.steps, s.seed, s.learningRate) = (optimizer, 8, 25, 4, optimizer == .adam ? 0.01 : 0.05)
            let origin = Network(architecture: arch, seed: 3)
            var ordinary = origin
            let done = Trainer.run(&ordinary, data: data, settings: s)
            XCTAssertEqual(done.steps, 25)
            let sub = try SubspaceTrainer.train(origin: origin, projection: .identity(parameters: arch.parameterCount), data: data, settings: s)
            XCTAssertEqual(sub.steps, 25)
            XCTAssertTrue(sub.network.parameters == ordinary.parameters, "\(optimizer): subspace training with P = I differs from training")
            XCTAssertNotEqual(sub.network.parameters, origin.parameters)
            XCTAssertEqual(sub.loss, done.loss)
        }
    }

    /// φ = 0 gives exactly θ₀; P's columns have unit length; a kept P and a regenerated one give the
    /// same products bit for bit; subspace training moves θ only within θ₀ + span(P).
    func testProjection() throws {
        let arch = try Architecture.mlp(widths: [20, 6, 4], activation: .tanh)
        let origin = Network(architecture: arch, seed: 3)
        let n = arch.parameterCount
        let kept = try RandomProjection(parameters: n, dimension: 9, seed: 11, keepBudget: .infinity)
        let regenerated = try RandomProjection(parameters: n, dimension: 9, seed: 11, keepBudget: 0)
        XCTAssertTrue(kept.isKept)
        XCTAssertFalse(regenerated.isKept)
        XCTAssertTrue(kept.point(origin: origin.parameters, [Double](repeating: 0, count: 9)) == origin.parameters)
        for j in 0..<9 { let c = kept.column(j); XCTAssertEqual(BLAS.dot(c, c), 1, accuracy: 1e-14) }
        let phi = RandomStream(seed: 1).gaussianMatrix(rows: 9, cols: 1).storage
        let g = RandomStream(seed: 2).gaussianMatrix(rows: n, cols: 1).storage
        XCTAssertTrue(kept.apply(phi) == regenerated.apply(phi))
        XCTAssertTrue(kept.transposeApply(g) == regenerated.transposeApply(g))
        // Blocks narrower than d (as for a large D) give the same P: kept or regenerated, the same products.
        let narrow = try RandomProjection(parameters: n, dimension: 9, seed: 11, keepBudget: .infinity, blockDoubles: 4 * n)
        let narrowRegenerated = try RandomProjection(parameters: n, dimension: 9, seed: 11, keepBudget: 0, blockDoubles: 4 * n)
        XCTAssertEqual(narrow.blockWidth, 4)
        XCTAssertTrue(narrow.apply(phi) == narrowRegenerated.apply(phi))
        XCTAssertTrue(narrow.transposeApply(g) == kept.transposeApply(g))
        let p = Matrix(rows: n, cols: 9, storage: (0..<9).flatMap { kept.column($0) })
        for product in [kept.apply(phi), narrow.apply(phi)] {
            XCTAssertLessThan(zip(BLAS.multiply(p, phi), product).map { abs($0 - $1) }.max()!, 1e-13)
        }
        XCTAssertTrue(BLAS.multiply(p, transpose: true, g) == kept.transposeApply(g))
        XCTAssertThrowsError(try RandomProjection(parameters: n, dimension: n + 1, seed: 0))
        XCTAssertThrowsError(try RandomProjection(parameters: n, dimension: 0, seed: 0))

        let data = try Synthetic.mixture(examples: 60, dimension: 20, classes: 4, separation: 2, seed: 1)
        var s = TrainingSettings()
        (s.batchSize, s.steps) = (8, 20)
        let trained = try SubspaceTrainer.train(origin: origin, projection: kept, data: data, settings: s)
        XCTAssertEqual(trained.steps, 20)
        let reached = kept.point(origin: origin.parameters, trained.phi)
        let moved = zip(trained.network.parameters, origin.parameters).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(moved, 0)
        XCTAssertLessThan(zip(reached, trained.network.parameters).map { abs($0 - $1) }.max()!, 1e-12 * max(1, moved))
        let before = Trainer.evaluate(origin, inputs: data.inputs, labels: data.labels).loss
        let after = Trainer.evaluate(trained.network, inputs: data.inputs, labels: data.labels).loss
        XCTAssertLessThan(after, before)
    }

    func testIntrinsicDimension() {
        let rows: [(dimension: Int, accuracy: Double)] = [(10, 0.5), (100, 0.81), (1000, 0.9), (30, 0.79)]
        XCTAssertEqual(intrinsicDimension(baseline: 0.9, accuracies: rows), 100)
        XCTAssertEqual(intrinsicDimension(baseline: 0.99, accuracies: rows), 1000)
        XCTAssertNil(intrinsicDimension(baseline: 1.2, accuracies: rows))
        XCTAssertNil(intrinsicDimension(baseline: .nan, accuracies: rows))
    }
}
