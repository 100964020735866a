import Foundation
import Landscape
import Linalg
@testable import RealNets
import XCTest

/// Geiger et al.'s jamming harness: data, orthogonal initialisation, the hinge's derivatives on
/// ReLU networks, N and N_eff, H₀ from the Gram against its dense form and its zero modes, the
/// symmetry of H_p, training, and the estimators (r_c bracket, power-law exponents).
final class JammingTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/fashion-mnist-small")

    func relu(_ widths: [Int]) throws -> Architecture { try Architecture.mlp(widths: widths, activation: .relu) }

    // MARK: data

    func testRandomDataLiesOnTheSphereWithBalancedSeededLabels() throws {
        let d = 7, p = 41
        let set = try JammingData.random(examples: p, dimension: d, seed: 3)
        XCTAssertEqual(set.classes, 2)
        for j in 0..<p {
            let norm = set.inputs.column(j).reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(norm, Double(d).squareRoot(), accuracy: 1e-12)
        }
        XCTAssertEqual(set.labels.filter { $0 == 0 }.count, p / 2, "⌊P/2⌋ patterns of class 0 (y = −1)")
        XCTAssertEqual(set.labels.filter { $0 == 1 }.count, p - p / 2)
        XCTAssertEqual(try JammingData.random(examples: p, dimension: d, seed: 3), set, "the same seed gives the same set")
        let other = try JammingData.random(examples: p, dimension: d, seed: 4)
        XCTAssertNotEqual(other.inputs, set.inputs)
        XCTAssertNotEqual(other.labels, set.labels)
        XCTAssertThrowsError(try JammingData.random(examples: 0, dimension: d, seed: 0))
        // Centred before the projection: the mean of the raw Gaussian draws is removed, so the mean
        // of the projected points is far below that of independent points (≈ √(d/P) = 0.41).
        var mean = [Double](repeating: 0, count: d)
        for j in 0..<p { for i in 0..<d { mean[i] += set.inputs[i, j] / Double(p) } }
        XCTAssertLessThan(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 0.15)
    }

    func testPrincipalComponentsWhitenAndTheFashionPoolIsOnTheSphere() throws {
        // Gaussian points with very different variances along the axes, then rotated.
        let (f, m) = (6, 400)
        var x = RandomStream(seed: 1, stream: 1).gaussianMatrix(rows: f, cols: m)
        for j in 0..<m { for i in 0..<f { x[i, j] *= Double(i + 1) } }
        let q = try RandomOrthogonal.matrix(rows: f, cols: f, stream: RandomStream(seed: 2, stream: 2))
        x = BLAS.multiply(q, x)
        let pca = try PrincipalComponents(x, dimension: 3)
        let gram = BLAS.multiply(pca.components, transposeA: true, pca.components)
        XCTAssertLessThan(gram.maxAbsDifference(.identity(3)), 1e-12, "orthonormal components")
        XCTAssertEqual(pca.variances, pca.variances.sorted(by: >))
        let z = pca.whiten(x)
        let covariance = BLAS.gram(z, transpose: false, alpha: 1 / Double(m))
        XCTAssertLessThan(covariance.maxAbsDifference(.identity(3)), 1e-10, "whitened: unit covariance on the sample")

        let source = try JammingDataSource(kind: .fashionMNISTPCA, dimension: 5, folder: JammingTests.fixture)
        let pool = try XCTUnwrap(source.pool)
        let images = try IDX.load(folder: JammingTests.fixture, split: .train)
        XCTAssertEqual(pool.count, images.count)
        XCTAssertEqual(pool.labels, images.labels.map { $0 % 2 }, "parity labels")
        for j in 0..<pool.count {
            XCTAssertEqual(pool.inputs.column(j).reduce(0) { $0 + $1 * $1 }, 5, accuracy: 1e-10)
        }
        let a = try source.dataset(examples: 50, seed: 7), b = try source.dataset(examples: 50, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(try source.dataset(examples: 50, seed: 8).inputs, a.inputs)
        XCTAssertThrowsError(try source.dataset(examples: pool.count + 1, seed: 0))
    }

    func testDataRecipeRoundTripsThroughMetadata() throws {
        let spec = JammingDataSpec(kind: .fashionMNISTPCA, dimension: 10, examples: 123, seed: UInt64.max, source: "/data/f")
        XCTAssertEqual(try JammingDataSpec(metadata: spec.metadata, path: "x"), spec)
        XCTAssertNil(try JammingDataSpec(metadata: ["loss": "hinge:0.5"], path: "x"))
        var broken = spec.metadata
        broken["jamming_examples"] = "0"
        XCTAssertThrowsError(try JammingDataSpec(metadata: broken, path: "x"))
    }

    // MARK: initialisation and counting

    func testOrthogonalInitialisationIsOrthogonal() throws {
        // Q of a sign-corrected QR: QᵀQ = I and QᵀA upper triangular with a positive diagonal.
        for (rows, cols) in [(9, 4), (4, 9), (6, 6)] {
            let q = try RandomOrthogonal.matrix(rows: rows, cols: cols, stream: RandomStream(seed: 5, stream: 3))
            let tall = rows >= cols ? q : q.transposed
            XCTAssertLessThan(BLAS.multiply(tall, transposeA: true, tall).maxAbsDifference(.identity(min(rows, cols))), 1e-12)
            let a = RandomStream(seed: 5, stream: 3).gaussianMatrix(rows: max(rows, cols), cols: min(rows, cols))
            let r = BLAS.multiply(tall, transposeA: true, a)
            for j in 0..<r.cols {
                XCTAssertGreaterThan(r[j, j], 0, "sign-corrected: R has a positive diagonal")
                for i in (j + 1)..<r.rows { XCTAssertEqual(r[i, j], 0, accuracy: 1e-12) }
            }
        }
        let arch = try relu([10, 16, 16, 6, 1])
        let net = try Network.orthogonal(architecture: arch, seed: 9)
        for (name, shape, offset) in arch.parameterLayout {
            let count = shape.reduce(1, *)
            let values = Array(net.parameters[offset..<(offset + count)])
            if name.hasSuffix("bias") {
                let bound = 1 / Double(arch.parameterLayout.first { $0.offset == offset - count * ($0.shape.last ?? 1) }?.shape.last ?? 1).squareRoot()
                XCTAssertTrue(values.allSatisfy { abs($0) <= bound } && values.contains { $0 != 0 }, "\(name): PyTorch's default ±1/√fan_in")
                continue
            }
            // Row-major [out, in] is the column-major in×out matrix Wᵀ.
            let (out, inputs) = (shape[0], shape[1])
            let wt = Matrix(rows: inputs, cols: out, storage: values)
            let g = out <= inputs ? BLAS.multiply(wt, transposeA: true, wt) : BLAS.multiply(wt, wt, transposeB: true)
            XCTAssertLessThan(g.maxAbsDifference(.identity(min(out, inputs))), 1e-12, "\(name) has orthonormal rows or columns")
        }
        let last = arch.parameterLayout.last { $0.name.hasSuffix("weight") }!
        let row = net.parameters[last.offset..<(last.offset + 6)]
        XCTAssertEqual(row.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-12, "the output row has unit norm")
        XCTAssertEqual(try Network.orthogonal(architecture: arch, seed: 9).parameters, net.parameters, "seeded")
    }

    func testParameterCountRemovesOneDirectionPerReLUNeuron() throws {
        let arch = try relu([10, 10, 10, 1])
        XCTAssertEqual(arch.parameterCount, 231)
        XCTAssertEqual(arch.rescalableNeurons, 20)
        XCTAssertEqual(arch.jammingParameters, 211)
        let smooth = try Architecture.mlp(widths: [10, 10, 10, 1], activation: .tanh)
        XCTAssertEqual(smooth.jammingParameters, 231, "tanh has no rescaling symmetry")
    }

    /// N_eff, the rank of ∇_W f(x_μ) and ∇_W(∇_x f(x_μ)·u), is N = D − hidden neurons for a ReLU
    /// network and D for tanh; with ∇_W f alone (P < N vectors) it would stop at P.
    func testEffectiveParametersEqualN() throws {
        let x = try JammingData.random(examples: 150, dimension: 10, seed: 1).inputs
        for activation in Activation.allCases {
            let arch = try Architecture.mlp(widths: [10, 10, 10, 1], activation: activation)
            let net = try Network.orthogonal(architecture: arch, seed: 2)
            let k = EffectiveParameters.directions(parameters: arch.parameterCount, examples: 150, inputs: 10)
            XCTAssertEqual(k, 2, "P(1 + k) ≥ 1.5·D = 346.5")
            let effective = try EffectiveParameters(network: net, inputs: x, directionsPerPattern: k, seed: 0)
            XCTAssertEqual(effective.vectors, 450)
            XCTAssertEqual(effective.rank, arch.jammingParameters, "\(activation): N_eff = N = \(arch.jammingParameters) of D = \(arch.parameterCount)")
            // A clear gap at the threshold: the rank does not hang on the tolerance.
            let s = effective.singularValues
            XCTAssertGreaterThan(s[effective.rank - 1], 1e4 * effective.threshold)
            if effective.rank < s.count { XCTAssertLessThan(s[effective.rank], 1e-2 * effective.threshold) }
        }
    }

    /// ∇_W(∇_x f·u) by forward-over-reverse with an input direction against central differences of
    /// ∇_W f along x + h·u (a tanh network, and a ReLU network away from its kinks).
    func testMixedDerivativeMatchesFiniteDifferences() throws {
        let x = RandomStream(seed: 6, stream: 1).gaussianMatrix(rows: 5, cols: 1)
        let u = RandomStream(seed: 6, stream: 2).gaussianMatrix(rows: 5, cols: 1)
        for activation in Activation.allCases {
            let net = try Network.orthogonal(architecture: Architecture.mlp(widths: [5, 7, 6, 1], activation: activation), seed: 4)
            let one = Matrix(rows: 1, cols: 1, storage: [1])
            if activation == .relu {
                let t = net.forward(x)
                let closest = t.inputs.indices.filter { $0 % 2 == 1 }.flatMap { t.inputs[$0].storage }.map(abs).min()!
                XCTAssertGreaterThan(closest, 1e-3, "a pre-activation sits near a ReLU kink; pick another point")
            }
            let exact = net.backward(net.forward(x, inputDirection: u), outputGradient: one, rOutputGradient: Matrix(rows: 1, cols: 1)).rGradient!
            let h = 1e-6
            var plus = x, minus = x
            for i in 0..<5 { plus.storage[i] += h * u.storage[i]; minus.storage[i] -= h * u.storage[i] }
            let gp = net.backward(net.forward(plus), outputGradient: one).gradient
            let gm = net.backward(net.forward(minus), outputGradient: one).gradient
            let scale = exact.map(abs).max()!
            XCTAssertGreaterThan(scale, 0.1)
            for i in exact.indices { XCTAssertEqual(exact[i], (gp[i] - gm[i]) / (2 * h), accuracy: 1e-7 * scale, "\(activation) [\(i)]") }
            // ∇_x f·u itself: the R-forward's output.
            let fp = net.logits(plus).storage[0], fm = net.logits(minus).storage[0]
            XCTAssertEqual(net.forward(x, inputDirection: u).rOutput.storage[0], (fp - fm) / (2 * h), accuracy: 1e-7)
        }
    }

    // MARK: the hinge on ReLU networks

    /// A ReLU network, patterns and labels where no pre-activation and no Δ lies within `gap` of
    /// zero, so central differences of step h·|v| ≪ gap cross neither a ReLU kink nor the hinge's.
    func reluProblem(gap: Double) throws -> (Network, Dataset) {
        let arch = try relu([6, 8, 7, 1])
        let set = try JammingData.random(examples: 24, dimension: 6, seed: 11)
        var net = try Network.orthogonal(architecture: arch, seed: 5)
        // A larger output row, so that both Δ > 0 and Δ < 0 occur.
        for i in (arch.parameterCount - 8)..<(arch.parameterCount - 1) { net.parameters[i] *= 4 }
        let t = net.forward(set.inputs)
        let preactivations = t.inputs.indices.filter { $0 > 0 && $0 % 2 == 1 }.flatMap { t.inputs[$0].storage }
        XCTAssertGreaterThan(preactivations.map(abs).min()!, gap, "a pre-activation sits near a ReLU kink")
        let fit = JammingFit(network: net, data: set, margin: 0.5)
        XCTAssertGreaterThan(fit.deltas.map(abs).min()!, gap, "a pattern sits at the hinge's kink")
        XCTAssertTrue(fit.unsatisfied > 3 && fit.unsatisfied < 21, "both satisfied and unsatisfied patterns (N_Δ = \(fit.unsatisfied))")
        return (net, set)
    }

    func testHingeGradientAndHessianOnAReLUNetworkMatchFiniteDifferences() throws {
        let (net, set) = try reluProblem(gap: 1e-4)
        let loss = Loss.quadraticHinge(margin: 0.5)
        var v = [Double](repeating: 0, count: net.parameters.count)
        RandomStream(seed: 3, stream: 7).fillGaussian(&v)
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        v = v.map { $0 / norm }
        let h = 1e-6
        func shifted(_ s: Double) -> Network { var n = net; for i in v.indices { n.parameters[i] += s * v[i] }; return n }
        let (value, g, _) = net.lossAndGradient(set.inputs, labels: set.labels, loss: loss)
        XCTAssertEqual(value, JammingFit(network: net, data: set, margin: 0.5).loss, accuracy: 1e-15)
        let lp = shifted(h).lossAndGradient(set.inputs, labels: set.labels, loss: loss)
        let lm = shifted(-h).lossAndGradient(set.inputs, labels: set.labels, loss: loss)
        XCTAssertEqual(BLAS.dot(g, v), (lp.loss - lm.loss) / (2 * h), accuracy: 1e-8)
        let hv = net.hessianVectorProduct(set.inputs, labels: set.labels, v, loss: loss)
        let scale = hv.map(abs).max()!
        XCTAssertGreaterThan(scale, 1e-2)
        for i in hv.indices {
            // Within one linear region the gradient is a polynomial of degree ≤ 2L in θ: the central
            // difference is exact up to O(h²) and round-off.
            XCTAssertEqual(hv[i], (lp.gradient[i] - lm.gradient[i]) / (2 * h), accuracy: 1e-7 * max(1, scale), "H·v[\(i)]")
        }
        // H = H₀ + H_p: H₀·v is the Gauss–Newton product, and the dense split agrees with H·v.
        let unsatisfied = set.batch(JammingFit(network: net, data: set, margin: 0.5).unsatisfiedIndices)
        let dense = JammingSpectrum.denseHessian(network: net, unsatisfied: unsatisfied.0, labels: unsatisfied.1, examples: set.count, margin: 0.5)
        let dv = BLAS.multiply(dense, v)
        for i in hv.indices { XCTAssertEqual(dv[i], hv[i], accuracy: 1e-12 * max(1, scale)) }
        let h0v = BLAS.multiply(JammingSpectrum.denseH0(network: net, unsatisfied: unsatisfied.0, examples: set.count), v)
        let gv = net.gaussNewtonVectorProduct(set.inputs, v, loss: loss, labels: set.labels)
        for i in gv.indices { XCTAssertEqual(h0v[i], gv[i], accuracy: 1e-12 * max(1, scale)) }
    }

    // MARK: H₀, H_p and H

    /// H₀'s spectrum from the N_Δ×N_Δ Gram equals the dense (1/P)·JJᵀ's, and its zero modes are
    /// D − N_Δ in the parameter space (N − N_Δ in the space without the rescaling directions)
    /// while N_Δ ≤ N; past N the rank stops at N, never D.
    func testH0FromTheGramEqualsTheDenseH0AndCountsItsZeroModes() throws {
        let arch = try relu([10, 10, 10, 1])
        let (d, n) = (arch.parameterCount, arch.jammingParameters)
        XCTAssertEqual([d, n], [231, 211])
        let net = try Network.orthogonal(architecture: arch, seed: 2)
        // N_Δ ≈ 38 and 142 (≤ N, Gram path), 561 (> D, the D×D path).
        for p in [40, 150, 600] {
            let set = try JammingData.random(examples: p, dimension: 10, seed: 1)
            let fit = JammingFit(network: net, data: set, margin: 0.5)
            let x = set.batch(fit.unsatisfiedIndices).0
            let nDelta = fit.unsatisfied
            XCTAssertGreaterThan(nDelta, p / 2, "most patterns unsatisfied at initialisation")
            let gram = try JammingSpectrum.h0Eigenvalues(network: net, unsatisfied: x, examples: p)
            let dense = try Eigen.symmetric(JammingSpectrum.denseH0(network: net, unsatisfied: x, examples: p), vectors: false).values
            XCTAssertEqual(gram.count, d)
            let top = gram[0]
            for i in 0..<d { XCTAssertEqual(gram[i], dense[i], accuracy: 1e-12 * top, "eigenvalue \(i) at P = \(p)") }
            let threshold = JammingSpectrum.zeroThreshold(gram)
            let expectedRank = min(nDelta, n)
            XCTAssertEqual(gram.filter { $0 > threshold }.count, expectedRank, "Gram rank at P = \(p)")
            XCTAssertEqual(dense.filter { $0 > threshold }.count, expectedRank, "dense rank at P = \(p)")
            XCTAssertEqual(d - expectedRank, dense.filter { abs($0) <= threshold }.count, "zero modes D − rank")
            // The count does not hang on the threshold: a wide gap on both sides of it.
            XCTAssertGreaterThan(gram[expectedRank - 1], 1e3 * threshold)
            XCTAssertLessThan(dense.filter { abs($0) <= threshold }.map(abs).max() ?? 0, 1e-3 * threshold)
            let spectrum = try JammingSpectrum(network: net, data: set, margin: 0.5)
            XCTAssertEqual(spectrum.h0Rank, expectedRank)
            XCTAssertEqual(spectrum.h0ZeroModes, d - expectedRank)
            XCTAssertEqual(spectrum.h0ZeroModesEffective, n - expectedRank, "N − N_Δ while N_Δ ≤ N")
            // H = H₀ + H_p: traces add, and a ReLU network's H_p is traceless.
            XCTAssertEqual(spectrum.h.reduce(0, +), spectrum.h0.reduce(0, +) + spectrum.hp.reduce(0, +), accuracy: 1e-10 * top * Double(d))
            XCTAssertEqual(spectrum.hp.reduce(0, +), 0, accuracy: 1e-11 * spectrum.hp.map(abs).max()! * Double(d))
        }
    }

    /// On random data the spectrum of H_p is symmetric (Geiger et al., Appendix B): its first
    /// normalised moment is exactly 0 (Tr H_p = 0 for ReLU), the third is within three of its
    /// standard errors of 0, the fractions of negative and positive eigenvalues agree within three
    /// binomial standard errors, and the positive eigenvalues and the negative ones' magnitudes are
    /// closer than the 1% Kolmogorov–Smirnov critical value for samples of their sizes. The total
    /// Hessian H = H₀ + H_p (H₀ PSD, Tr H₀ > 0) fails the first test and leans positive.
    func testHpSpectrumIsSymmetricOnRandomData() throws {
        let arch = try relu([10, 10, 10, 1])
        func tolerance(_ s: SpectrumSymmetry, _ n: Int) -> Double {
            3 * 2 * ((s.negativeFraction + s.positiveFraction) * 0.25 / Double(n)).squareRoot()
        }
        for seed in UInt64(0)..<2 {
            let set = try JammingData.random(examples: 300, dimension: 10, seed: seed)
            let net = try Network.orthogonal(architecture: arch, seed: seed)
            let spectrum = try JammingSpectrum(network: net, data: set, margin: 0.5)
            XCTAssertGreaterThan(spectrum.fit.unsatisfied, 150)
            let s = SpectrumSymmetry(spectrum.hp, zero: 1e-10 * spectrum.hp.map(abs).max()!)
            XCTAssertEqual(s.first, 0, accuracy: 1e-10)
            XCTAssertLessThan(abs(s.third), 3 * s.thirdStandardError, "seed \(seed): s₃ = \(s.third) ± \(s.thirdStandardError)")
            XCTAssertGreaterThan(s.negativeFraction, 0.3)
            XCTAssertEqual(s.negativeFraction, s.positiveFraction, accuracy: tolerance(s, spectrum.hp.count), "seed \(seed)")
            XCTAssertLessThan(s.mirrorDistance, s.mirrorCriticalValue, "seed \(seed)")

            let total = SpectrumSymmetry(spectrum.h, zero: 1e-10 * spectrum.h.map(abs).max()!)
            XCTAssertGreaterThan(abs(total.first), 0.05, "H = H₀ + H_p has a positive trace")
            XCTAssertGreaterThan(total.positiveFraction, total.negativeFraction, "H leans positive")
        }
    }

    // MARK: training

    func testLearningRateScheduleAndHistorySteps() {
        var s = JammingSettings()
        (s.learningRate, s.steps, s.decays) = (1e-2, 90, 2)
        XCTAssertEqual(s.learningRate(atStep: 0), 1e-2)
        XCTAssertEqual(s.learningRate(atStep: 29), 1e-2)
        XCTAssertEqual(s.learningRate(atStep: 30), 1e-3, accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(atStep: 60), 1e-4, accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(atStep: 89), 1e-4, accuracy: 1e-18)
        s.decays = 0
        XCTAssertEqual(s.learningRate(atStep: 89), 1e-2)
        let steps = s.historySteps
        XCTAssertTrue(steps.contains(0) && steps.contains(90) && steps.allSatisfy { $0 >= 0 && $0 <= 90 })
        var bad = JammingSettings()
        bad.margin = 0
        XCTAssertThrowsError(try bad.validate())
        bad = JammingSettings()
        bad.steps = 0
        XCTAssertThrowsError(try bad.validate())
    }

    /// Few patterns are fitted (N_Δ = 0, loss exactly 0) well within the budget and the run stops
    /// there; many are not (the budget is used up, N_Δ > 0). Runs repeat bit for bit.
    func testTrainingStopsWhenFittedAndIsReproducible() throws {
        let arch = try relu([10, 10, 10, 1])
        var s = JammingSettings()
        s.steps = 2000
        let easy = try JammingData.random(examples: 40, dimension: 10, seed: 1)
        let net = try Network.orthogonal(architecture: arch, seed: 1)
        let fitted = JammingTrainer.train(net, data: easy, settings: s)
        XCTAssertTrue(fitted.fitted)
        XCTAssertFalse(fitted.diverged)
        XCTAssertLessThan(fitted.steps, 2000)
        XCTAssertEqual(fitted.fit.loss, 0)
        XCTAssertTrue(fitted.fit.deltas.allSatisfy { $0 <= 0 })
        XCTAssertEqual(fitted.history.last?.step, fitted.steps)
        XCTAssertEqual(fitted.history.last?.unsatisfied, 0)
        XCTAssertEqual(JammingFit(network: fitted.network, data: easy, margin: 0.5), fitted.fit)

        s.steps = 300
        let hard = try JammingData.random(examples: 800, dimension: 10, seed: 1)
        let a = JammingTrainer.train(net, data: hard, settings: s), b = JammingTrainer.train(net, data: hard, settings: s)
        XCTAssertFalse(a.fitted)
        XCTAssertEqual(a.steps, 300)
        XCTAssertGreaterThan(a.fit.unsatisfied, 0)
        XCTAssertLessThan(a.fit.loss, a.history[0].loss, "training lowers the loss")
        XCTAssertEqual(a.network.parameters, b.network.parameters, "bit for bit")
        XCTAssertEqual(a.fit, b.fit)
        XCTAssertEqual(a.history.map(\.step), b.history.map(\.step))
        XCTAssertEqual(a.history.first?.step, 0)
        XCTAssertEqual(a.history.last?.step, 300)
    }

    // MARK: estimators

    func testTransitionBracketAndJump() {
        func runs(_ r: Double, _ fitted: [Bool], _ fraction: Double) -> [JammingRunResult] {
            fitted.enumerated().map { JammingRunResult(r: r, seed: UInt64($0.offset), unsatisfiedFraction: $0.element ? 0 : fraction + 0.01 * Double($0.offset), loss: 0, fitted: $0.element) }
        }
        let t = JammingTransition(runs(1, [true, true, true], 0) + runs(1.5, [true, true, true], 0) + runs(2, [true, false, true], 0.3)
                                  + runs(2.5, [false, false, false], 0.7) + runs(3, [false, false, false], 0.9))
        XCTAssertEqual(t.lastAllFitted, 1.5)
        XCTAssertEqual(t.firstNoneFitted, 2.5)
        XCTAssertEqual(t.estimate, 2)
        XCTAssertEqual(t.resolution, 0.5)
        XCTAssertEqual(t.jump!.mean, 0.71, accuracy: 1e-12)
        XCTAssertEqual(t.jump!.standardError, 0.01 / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(t.fittedFraction.map(\.fraction), [1, 1, 2.0 / 3, 0, 0])
        // Not monotone: an all-fitted point above a none-fitted one.
        let odd = JammingTransition(runs(1, [false, false], 0.5) + runs(2, [true, true], 0))
        XCTAssertFalse(odd.monotone)
        XCTAssertNil(odd.estimate)
        // Only one end: r_c is bounded, not estimated.
        XCTAssertNil(JammingTransition(runs(1, [true], 0)).estimate)
        // The runs θ and γ pool: the unfitted ones at r = 2.5; the nearest to jamming has least loss.
        var all = runs(2, [true, false], 0.3) + runs(2.5, [false, false, false], 0.7) + runs(3, [false], 0.9)
        (all[2].loss, all[3].loss, all[4].loss) = (3e-3, 1e-4, 2e-3)
        let picked = JammingTransition(all).runsJustAbove(all)
        XCTAssertEqual(picked.indices, [2, 3, 4])
        XCTAssertEqual(picked.nearest, 3)
    }

    /// The maximum-likelihood exponent of p(x) ∝ x^α on [a, b] recovers α within its standard
    /// error, and the standard error matches the spread of the estimate over repeated samples.
    func testPowerLawFitRecoversTheExponentWithACalibratedError() throws {
        for alpha in [0.3, -0.2, -1.0] {
            let (a, b, n, repeats) = (1e-3, 1.0, 2000, 40)
            let rng = RandomStream(seed: 17, stream: UInt64(alpha * 100 + 500))
            var estimates: [Double] = [], errors: [Double] = []
            for _ in 0..<repeats {
                // Inverse CDF of x^α on [a, b] (log-uniform when α = −1).
                let sample = (0..<n).map { _ -> Double in
                    let u = rng.uniform()
                    if alpha == -1 { return a * pow(b / a, u) }
                    let (pa, pb) = (pow(a, alpha + 1), pow(b, alpha + 1))
                    return pow(pa + u * (pb - pa), 1 / (alpha + 1))
                }
                let fit = try XCTUnwrap(PowerLawFit(sample, low: a, high: b))
                XCTAssertEqual(fit.count, n)
                estimates.append(fit.exponent)
                errors.append(fit.standardError)
            }
            let mean = estimates.reduce(0, +) / Double(repeats)
            let spread = (estimates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(repeats - 1)).squareRoot()
            let se = errors.reduce(0, +) / Double(repeats)
            XCTAssertEqual(mean, alpha, accuracy: 4 * se / Double(repeats).squareRoot(), "α = \(alpha)")
            XCTAssertEqual(spread / se, 1, accuracy: 0.35, "α = \(alpha): the standard error matches the spread")
        }
        XCTAssertNil(PowerLawFit([1, 2, 3], low: 1, high: 3), "too few values")
    }

    func testGapExponentsPoolRescaledOverlapsAndGaps() throws {
        let runs = [(deltas: [0.2, -0.1, 0.4, -0.3], loss: 0.04), (deltas: [0.1, -0.2], loss: 0.01)]
        let gaps = GapExponents(runs: runs)
        XCTAssertEqual(gaps.rescaledOverlaps, [1, 2, 1])
        XCTAssertEqual(gaps.gaps, [0.1, 0.3, 0.2])
        XCTAssertNil(gaps.theta, "too few values to fit")
        let histogram = LogHistogram([1e-10, 1e-8, 0.5, 0.5, 2, 1e5])
        XCTAssertEqual(histogram.edges.count, 131)
        XCTAssertEqual(histogram.counts.reduce(0, +), 4)
        XCTAssertEqual(histogram.outside, 2)
        let mass = histogram.density.indices.reduce(0) { $0 + histogram.density[$1] * (histogram.edges[$1 + 1] - histogram.edges[$1]) }
        XCTAssertEqual(mass, 1, accuracy: 1e-12)
    }
}
