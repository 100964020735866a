import Landscape
import Linalg
import RealNets
import XCTest

/// The embedding principle (Zhang et al. 2021) on small networks: splitting preserves the output and
/// maps gradients, a critical point stays critical, the Hessian's inertia grows by the block the
/// theory predicts (one zero per step at a critical point), and clustering recovers a planted embedding.
final class EmbeddingTests: XCTestCase {
    func gaussian(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        var v = [Double](repeating: 0, count: n)
        RandomStream(seed: seed, stream: 5).fillGaussian(&v)
        return v.map { scale * $0 }
    }

    func randomNetwork(_ widths: [Int], _ activation: Activation, seed: UInt64) throws -> Network {
        let arch = try Architecture.mlp(widths: widths, activation: activation)
        return Network(architecture: arch, parameters: gaussian(arch.parameterCount, seed: seed, scale: 0.8))
    }

    func maxRelativeDifference(_ a: Matrix, _ b: Matrix) -> Double {
        a.maxAbsDifference(b) / max(a.maxAbs, .leastNormalMagnitude)
    }

    func norm(_ g: [Double]) -> Double { BLAS.dot(g, g).squareRoot() }

    // MARK: output and gradients

    func testSplittingPreservesLogitsOfSeveralDepths() throws {
        let cases: [[Int]] = [[3, 4, 2], [3, 5, 4, 3], [2, 3, 4, 5, 2], [6, 2, 2, 2, 2, 4]]
        for (c, widths) in cases.enumerated() {
            for activation in Activation.allCases {
                let narrow = try randomNetwork(widths, activation, seed: UInt64(10 + c))
                let x = RandomStream(seed: UInt64(c), stream: 2).gaussianMatrix(rows: widths[0], cols: 17)
                let z = narrow.logits(x)
                for l in 1..<(widths.count - 1) {
                    for alpha in [0.3, -0.7, 2.5, 0, 1] {
                        let s = HiddenNeuron(layer: l, index: widths[l] - 1)
                        let wide = try CriticalEmbedding.split(narrow, neuron: s, alpha: alpha)
                        XCTAssertEqual(try CriticalEmbedding.widths(wide.architecture)[l], widths[l] + 1)
                        XCTAssertEqual(wide.parameters.count, narrow.parameters.count + widths[l - 1] + 1 + widths[l + 1])
                        let d = maxRelativeDifference(z, wide.logits(x))
                        XCTAssertLessThanOrEqual(d, 1e-13, "\(widths) \(activation) split \(s) α = \(alpha)")
                    }
                }
                // A three-step embedding, one step splitting the copy made by the previous one.
                let last = widths[1]
                let steps = [SplitStep(neuron: HiddenNeuron(layer: 1, index: 0), alpha: 0.4),
                             SplitStep(neuron: HiddenNeuron(layer: 1, index: last), alpha: -1.5),
                             SplitStep(neuron: HiddenNeuron(layer: widths.count - 2, index: 0), alpha: 0.9)]
                let wide = try CriticalEmbedding.split(narrow, steps: steps)
                XCTAssertLessThanOrEqual(maxRelativeDifference(z, wide.logits(x)), 1e-13, "\(widths) \(activation) 3 steps")
                XCTAssertEqual(SplitStep.decode(SplitStep.encode(steps)), steps)
            }
        }
    }

    /// Each gradient component of the wide network is the narrow one's: unchanged away from the
    /// pair; the pair's outgoing weights both get the narrow gradient of s's outgoing weights; their
    /// incoming weights get (1 − α) and α of the narrow gradient of s's incoming weights.
    func testSplittingMapsTheGradient() throws {
        for (widths, loss) in [([4, 3, 3], Loss.crossEntropy), ([2, 4, 3, 2], .meanSquared)] {
            let narrow = try randomNetwork(widths, .tanh, seed: 3)
            let x = RandomStream(seed: 9, stream: 2).gaussianMatrix(rows: widths[0], cols: 11)
            let labels = (0..<11).map { $0 % widths.last! }
            let g = narrow.lossAndGradient(x, labels: labels, loss: loss).gradient
            let (l, s, alpha) = (1, 1, 0.35)
            let wide = try CriticalEmbedding.split(narrow, neuron: HiddenNeuron(layer: l, index: s), alpha: alpha)
            let gw = wide.lossAndGradient(x, labels: labels, loss: loss).gradient
            // The expected gradient, laid out as a network of the wide shape.
            let asNet = Network(architecture: narrow.architecture, parameters: g)
            var neurons: [(incoming: [Double], outgoing: [Double])] = []
            for i in 0..<widths[l] {
                let (v, a) = try CriticalEmbedding.weights(asNet, neuron: HiddenNeuron(layer: l, index: i))
                neurons.append((i == s ? v.map { (1 - alpha) * $0 } : v, a))
            }
            let (vs, as_) = try CriticalEmbedding.weights(asNet, neuron: HiddenNeuron(layer: l, index: s))
            neurons.append((vs.map { alpha * $0 }, as_))
            let expected = try CriticalEmbedding.replacingLayer(asNet, layer: l, neurons: neurons).parameters
            XCTAssertEqual(expected.count, gw.count)
            let scale = expected.map(abs).max()!
            for i in gw.indices { XCTAssertEqual(gw[i], expected[i], accuracy: 1e-13 * scale, "\(widths) component \(i)") }
        }
    }

    // MARK: the Hessian and its inertia

    func testDenseHessianMatchesFiniteDifferencesOfTheGradient() throws {
        let net = try randomNetwork([3, 3, 2], .tanh, seed: 21)
        let x = RandomStream(seed: 1, stream: 2).gaussianMatrix(rows: 3, cols: 6)
        let labels = [0, 1, 1, 0, 1, 0]
        let h = DenseHessian(network: net, inputs: x, labels: labels, loss: .crossEntropy)
        XCTAssertLessThan(h.asymmetry, 1e-13)
        let d = net.parameters.count, step = 1e-5
        var worst = 0.0
        for i in 0..<d {
            var plus = net, minus = net
            plus.parameters[i] += step
            minus.parameters[i] -= step
            let gp = plus.lossAndGradient(x, labels: labels).gradient, gm = minus.lossAndGradient(x, labels: labels).gradient
            for j in 0..<d { worst = max(worst, abs((gp[j] - gm[j]) / (2 * step) - h.matrix[j, i])) }
        }
        XCTAssertLessThan(worst, 1e-8 * h.matrix.maxAbs, "dense Hessian against central differences")
    }

    /// A width-1 tanh network at the global minimum of the 1-D fitting problem (gradient descent, then
    /// Newton to round-off), embedded by 1, 2 and 3 splits.
    func criticalWidthOne() throws -> (Network, FullBatch) {
        let data = try CurveFit.teacher(examples: 12)
        let batch = FullBatch(data: data, loss: .meanSquared)
        let arch = try Architecture.mlp(widths: [1, 1, 1], activation: .tanh)
        var settings = TrainingSettings()
        (settings.learningRate, settings.momentum, settings.steps) = (0.2, 0.9, 3000)
        let trained = FullBatchTraining.train(Network(architecture: arch, gaussianStandardDeviation: 0.5, seed: 1), batch: batch,
                                              settings: settings, tolerance: 1e-8)
        XCTAssertFalse(trained.diverged)
        let (net, norm, _) = try FullBatchTraining.newton(trained.network, batch: batch, iterations: 20, tolerance: 1e-14)
        XCTAssertLessThan(norm, 1e-13, "Newton's method refines the trained point to a critical point")
        return (net, batch)
    }

    func testEachSplitAtACriticalPointAddsExactlyOneZeroEigenvalue() throws {
        let (narrow, batch) = try criticalWidthOne()
        var net = narrow
        var counts = InertiaCounts(eigenvalues: try batch.hessian(net).eigenvalues())
        XCTAssertEqual([counts.negative, counts.zero, counts.positive], [0, 0, 4], "the width-1 minimum is strict")
        let steps = [SplitStep(neuron: HiddenNeuron(layer: 1, index: 0), alpha: 0.3),
                     SplitStep(neuron: HiddenNeuron(layer: 1, index: 1), alpha: 0.6),
                     SplitStep(neuron: HiddenNeuron(layer: 1, index: 0), alpha: -0.5)]
        for (k, step) in steps.enumerated() {
            let block = try CriticalEmbedding.splitBlock(net, neuron: step.neuron, alpha: step.alpha, inputs: batch.inputs,
                                                         labels: batch.labels, loss: batch.loss, targets: batch.targets)
            let (_, a) = try CriticalEmbedding.weights(net, neuron: step.neuron)
            let wide = try CriticalEmbedding.split(net, neuron: step.neuron, alpha: step.alpha)
            XCTAssertLessThan(batch.gradientNorm(wide), 1e-13, "step \(k + 1): the embedded point is critical")
            XCTAssertEqual(batch.value(wide), batch.value(narrow), accuracy: 1e-15)
            let hessian = batch.hessian(wide)
            let values = try hessian.eigenvalues()
            let next = InertiaCounts(eigenvalues: values)
            let scale = values.map(abs).max()!
            let predicted = counts + InertiaCounts(eigenvalues: try Eigen.symmetric(block, vectors: false).values, scale: scale)
            XCTAssertEqual([next.negative, next.zero, next.positive], [predicted.negative, predicted.zero, predicted.positive],
                           "step \(k + 1): counts are the narrow ones plus the block's")
            XCTAssertEqual(next.zero, counts.zero + 1, "step \(k + 1) adds exactly one zero eigenvalue")
            XCTAssertGreaterThanOrEqual(next.negative, counts.negative)
            XCTAssertGreaterThanOrEqual(next.positive, counts.positive)
            XCTAssertLessThan(next.largestZero, 1e-13 * scale)
            XCTAssertGreaterThan(next.smallestNonzero, 1e-6 * scale, "a gap of many decades separates the zeros")
            // The null vector is (+a, −a) on the pair's outgoing weights.
            var v = [Double](repeating: 0, count: wide.parameters.count)
            let m = try CriticalEmbedding.widths(wide.architecture)[1]
            let outgoing = wide.architecture.parameterLayout[2].offset
            v[outgoing + step.neuron.index] = a[0]
            v[outgoing + m - 1] = -a[0]
            let hv = BLAS.multiply(hessian.matrix, v)
            XCTAssertLessThan(norm(hv), 1e-12 * scale * norm(v))
            (net, counts) = (wide, next)
        }
        XCTAssertEqual(counts.zero, 3)
    }

    /// The congruence H_wide ≅ H_narrow ⊕ K holds at any embedded point, critical or not: the counts
    /// still add up and never fall, but off a critical point no zero need appear.
    func testInertiaAddsAtAnyEmbeddedPoint() throws {
        for (widths, loss) in [([1, 2, 1], Loss.meanSquared), ([3, 3, 2], .crossEntropy), ([2, 3, 2, 3], .meanSquared)] {
            let net = try randomNetwork(widths, .tanh, seed: 8)
            let x = RandomStream(seed: 2, stream: 2).gaussianMatrix(rows: widths[0], cols: 9)
            let labels = (0..<9).map { ($0 * 7) % widths.last! }
            let batch = FullBatch(inputs: x, labels: labels, loss: loss)
            XCTAssertGreaterThan(batch.gradientNorm(net), 1e-3, "not a critical point")
            let before = InertiaCounts(eigenvalues: try batch.hessian(net).eigenvalues())
            let neuron = HiddenNeuron(layer: widths.count - 2, index: 0)
            let wide = try CriticalEmbedding.split(net, neuron: neuron, alpha: 0.7)
            let values = try batch.hessian(wide).eigenvalues()
            let after = InertiaCounts(eigenvalues: values)
            let block = try CriticalEmbedding.splitBlock(net, neuron: neuron, alpha: 0.7, inputs: x, labels: labels, loss: loss)
            let predicted = before + InertiaCounts(eigenvalues: try Eigen.symmetric(block, vectors: false).values,
                                                   scale: values.map(abs).max()!)
            XCTAssertEqual([after.negative, after.zero, after.positive], [predicted.negative, predicted.zero, predicted.positive], "\(widths)")
            XCTAssertGreaterThanOrEqual(after.negative, before.negative)
            XCTAssertGreaterThanOrEqual(after.positive, before.positive)
            XCTAssertGreaterThanOrEqual(after.zero, before.zero)
        }
    }

    /// ReLU: scaling neuron s's incoming weights by c and its outgoing ones by 1/c leaves the loss
    /// unchanged, so differentiating T_cᵀ∇L(T_cθ) = ∇L(θ) at c = 1 gives H·v_s = −D_s·g at ANY point,
    /// with v_s = (incoming, −outgoing) and D_s = diag(+1 on the incoming weights, −1 on the outgoing):
    /// where the gradient vanishes each v_s is a null vector (one rescaling zero per neuron).
    func testReLURescalingDirectionsSatisfyTheSymmetryIdentity() throws {
        let net = try randomNetwork([2, 3, 1], .relu, seed: 4)
        let x = RandomStream(seed: 3, stream: 2).gaussianMatrix(rows: 2, cols: 10)
        var t = Matrix(rows: 1, cols: 10)
        for j in 0..<10 { t.storage[j] = sin(2 * x[0, j]) + 0.3 * x[1, j] }
        let batch = FullBatch(inputs: x, labels: [Int](repeating: 0, count: 10), targets: t, loss: .meanSquared)
        XCTAssertEqual(try CriticalEmbedding.reluRescalingZeros(net), 3)
        XCTAssertEqual(try CriticalEmbedding.reluRescalingZeros(try randomNetwork([2, 3, 1], .tanh, seed: 4)), 0)
        let h = batch.hessian(net)
        let g = batch.lossAndGradient(net).gradient
        XCTAssertGreaterThan(norm(g), 1e-2)
        let layout = net.architecture.parameterLayout
        for s in 0..<3 {
            var v = [Double](repeating: 0, count: net.parameters.count), dg = v
            let (incoming, outgoing) = try CriticalEmbedding.weights(net, neuron: HiddenNeuron(layer: 1, index: s))
            for (index, sign, value) in [(layout[0].offset + 2 * s, 1.0, incoming[0]), (layout[0].offset + 2 * s + 1, 1, incoming[1]),
                                         (layout[1].offset + s, 1, incoming[2]), (layout[2].offset + s, -1, outgoing[0])] {
                v[index] = sign * value
                dg[index] = sign * g[index]
            }
            let hv = BLAS.multiply(h.matrix, v)
            for i in hv.indices { XCTAssertEqual(hv[i], -dg[i], accuracy: 1e-12 * h.matrix.maxAbs * norm(v), "neuron \(s), component \(i)") }
        }
    }

    // MARK: condensation

    func testClusteringRecoversAPlantedEmbedding() throws {
        for activation in Activation.allCases {
            let narrow = try randomNetwork([2, 3, 2], activation, seed: 31)
            let sign = activation == .tanh ? -1.0 : 1.0
            // Wide neuron order mixes the groups; for tanh one member is the sign-flipped feature.
            let sources: [NeuronSource] = [.copy(of: 1, share: 0.4, sign: 1), .copy(of: 0, share: 0.5, sign: 1), .null,
                                           .copy(of: 2, share: 1, sign: 1), .copy(of: 0, share: 0.2, sign: sign),
                                           .copy(of: 1, share: 0.6, sign: 1), .copy(of: 0, share: 0.3, sign: 1), .null]
            let planted = try CriticalEmbedding.expand(narrow, layer: 1, sources: sources)
            let x = RandomStream(seed: 5, stream: 2).gaussianMatrix(rows: 2, cols: 13)
            XCTAssertLessThanOrEqual(maxRelativeDifference(narrow.logits(x), planted.logits(x)), 1e-13)
            // Perturb every incoming weight a little (far below the cosine threshold) and give the null
            // neurons tiny weights, as a trained network would have.
            var wide = planted
            let layout = wide.architecture.parameterLayout
            let noise = gaussian(layout[2].offset, seed: 77, scale: 1e-5)
            for i in 0..<layout[2].offset { wide.parameters[i] += noise[i] }
            for s in [2, 7] { wide.parameters[layout[2].offset + s] = 1e-6; wide.parameters[layout[2].offset + 8 + s] = -1e-6 }
            let c = try NeuronCondensation(network: wide, settings: CondensationSettings(cosineThreshold: 0.99, negligibleFraction: 0.01))
            XCTAssertEqual(c.effectiveWidth, 3, "\(activation)")
            XCTAssertEqual(Set(c.groups.map { Set($0) }), [Set([1, 4, 6]), Set([0, 5]), Set([3])], "\(activation)")
            XCTAssertEqual(c.negligible, [2, 7])
            let reduced = try XCTUnwrap(c.reduced)
            XCTAssertEqual(try CriticalEmbedding.widths(reduced.architecture), [2, 3, 2])
            XCTAssertLessThan(reduced.logits(x).maxAbsDifference(wide.logits(x)), 1e-4, "same output up to the perturbation")
            XCTAssertLessThan(reduced.logits(x).maxAbsDifference(narrow.logits(x)), 1e-4)
            let distance = c.reembeddingDistance(to: wide)
            XCTAssertEqual(distance * distance, c.withinGroupSpread * c.withinGroupSpread + c.negligibleNorm * c.negligibleNorm,
                           accuracy: 1e-12 * max(distance * distance, 1e-30))
            XCTAssertLessThan(c.withinGroupSpread, 1e-4)
            XCTAssertGreaterThan(c.smallestCosine, 0.9999)
            // Without perturbation the reduction is exact and re-embeds to the planted network.
            let exact = try NeuronCondensation(network: planted)
            XCTAssertEqual(exact.negligible, [2, 7])
            XCTAssertLessThanOrEqual(maxRelativeDifference(narrow.logits(x), try XCTUnwrap(exact.reduced).logits(x)), 1e-13)
            XCTAssertLessThan(exact.reembeddingDistance(to: planted), 1e-14)
        }
    }

    // MARK: data and bad input

    func testCurveFitCarriesTargetsThroughSubsets() throws {
        let d = try CurveFit.teacher(examples: 5)
        XCTAssertEqual(d.inputs.storage, [-1, -0.5, 0, 0.5, 1])
        XCTAssertEqual(d.targets!.storage[2], tanh(0.4) + 0.5 * tanh(-2.5), accuracy: 1e-15)
        XCTAssertEqual(try d.balanced(perClass: 3).targets!.storage, Array(d.targets!.storage[0..<3]))
        XCTAssertThrowsError(try CurveFit.teacher(examples: 1))
    }

    func testBadEmbeddingsAreRefused() throws {
        let net = try randomNetwork([3, 4, 2], .tanh, seed: 1)
        func message(_ body: () throws -> Network) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { try CriticalEmbedding.split(net, neuron: HiddenNeuron(layer: 1, index: 4), alpha: 0.5) }.contains("out of range"))
        XCTAssertTrue(message { try CriticalEmbedding.split(net, neuron: HiddenNeuron(layer: 2, index: 0), alpha: 0.5) }.contains("output layer"))
        XCTAssertTrue(message { try CriticalEmbedding.split(net, neuron: HiddenNeuron(layer: 0, index: 0), alpha: 0.5) }.contains("hidden layers are 1 to 1"))
        XCTAssertTrue(message { try CriticalEmbedding.split(net, neuron: HiddenNeuron(layer: 1, index: 0), alpha: .nan) }.contains("α"))
        let cnn = Network(architecture: try Architecture.cnn(inputChannels: 1, side: 4, channels: [2], hidden: 3, classes: 2, activation: .relu), seed: 0)
        XCTAssertTrue(message { try CriticalEmbedding.split(cnn, neuron: HiddenNeuron(layer: 1, index: 0), alpha: 0.5) }.contains("cnn"))
        XCTAssertTrue(message { try CriticalEmbedding.expand(net, layer: 1, sources: [.copy(of: 0, share: 0.5, sign: 1)]) }.contains("share"))
    }
}
