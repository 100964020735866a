import Foundation
import Landscape
import Linalg

// Exact Hessian traces and diagonals of the mean cross-entropy (DESIGN.md, "Exact traces").
//
// H = G + H-term, G = (1/N) Σ_μ J^μᵀ P^μ J^μ, H-term = (1/N) Σ_μ Σ_k (p^μ_k − y^μ_k) ∇²z^μ_k.
// One mechanism throughout:
//   Tr(H) = Tr(G) + Σ_μ Σ_u ρ^μ_u ‖∇_θ a^μ_u‖²,   diag(H-term)_i = Σ_μ Σ_u ρ^μ_u (∂a^μ_u/∂θ_i)²,
// summed over nonlinear units u (pre-activation a_u, output h_u = φ(a_u)), with ρ^μ_u = φ''(a^μ_u)·λ^μ_u
// and λ^μ_u = ∂L/∂h^μ_u from one ordinary backward pass of the mean loss. Why: θ_i sits in one linear
// (dense or conv) layer, which is linear in its weights and in its input separately and whose input does
// not depend on θ_i, so the second derivative of the logits along θ_i alone picks up curvature only at
// the nonlinear units above it: d²z_k/dθ_i² = Σ_u (∂z_k/∂h_u)·φ''(a_u)·(∂a_u/∂θ_i)² (max pooling is a
// selection and adds nothing). This is the diagonal that second-order backpropagation computes (Dangel
// et al., BackPACK DiagHessian).
// - Piecewise-linear nets (ReLU, max pooling, linear/conv layers): φ'' = 0 a.e., so ρ = 0 and Tr(H) = Tr(G).
// - Dense layers above every conv/pool layer (all of an MLP, the head of a CNN): ∂a_u/∂W_l[o,i] =
//   (J_{L←l})_{u,o}·h_{l−1,i}, so the H-term diagonal of a whole dense layer is one dgemm of the squared
//   inputs with q_{l,o} = Σ_{L≥l} Σ_u ρ_{L,u}(J_{L←l})²_{u,o}.
// - Conv parameters below a smooth activation: ∇_θ a_u for one unit needs its own backward pass, i.e. one
//   per unit per example (thousands to millions), so there Σ_u ρ_u‖∇a_u‖² restricted to those parameters is
//   estimated by Hutchinson instead: E_v Σ_u ρ_u(∇a_u·v)² over Rademacher v, one R-forward pass per probe.

/// How `Network.hessianTrace` obtained Tr(H).
public enum TraceMethod: String, Sendable, Codable {
    /// Piecewise-linear network: the H-term diagonal vanishes, Tr(H) = Tr(G) from the Gram, exactly.
    case exact
    /// Dense layers only (any activation): Tr(G) from the Gram plus the exact H-term trace by
    /// second-order backpropagation of the diagonal.
    case exactDiagonal = "exact-diagonal"
    /// Smooth activation below convolutions: Tr(G) exact from the Gram; the H-term exact on the dense
    /// head's parameters and a Hutchinson estimate (Rademacher probes) on the rest (the convolutions),
    /// where the exact diagonal would need one backward pass per nonlinear unit and example.
    case hutchinsonHTerm = "gram+hutchinson"
}

/// Tr(H) of the mean cross-entropy, split as Tr(G) + Tr(H-term), with how it was obtained.
public struct HessianTrace: Sendable, Equatable {
    /// Tr(H) = gaussNewton + hTerm.
    public var value: Double
    /// Standard error of `value` (that of the Hutchinson part, s/√probes; NaN for one probe); 0 when exact.
    public var standardError: Double
    public var method: TraceMethod
    /// Tr(G), always exact (from the logit-gradient Gram's diagonal blocks).
    public var gaussNewton: Double
    /// Tr(H − G): 0 for piecewise-linear nets, exact for dense nets, partly estimated otherwise.
    public var hTerm: Double
    /// The part of `hTerm` that is a Hutchinson estimate (0 when exact); the rest of `hTerm` is exact.
    public var hTermEstimate: Double
    /// Hutchinson probes used (0 when exact).
    public var probes: Int
    /// How many parameters' H-term diagonal the Hutchinson probes covered (0 when exact).
    public var estimatedParameters: Int

    public init(value: Double, standardError: Double, method: TraceMethod, gaussNewton: Double, hTerm: Double,
                hTermEstimate: Double, probes: Int, estimatedParameters: Int) {
        self.value = value
        self.standardError = standardError
        self.method = method
        self.gaussNewton = gaussNewton
        self.hTerm = hTerm
        self.hTermEstimate = hTermEstimate
        self.probes = probes
        self.estimatedParameters = estimatedParameters
    }
}

extension Activation {
    /// φ'' = 0 almost everywhere (ReLU), so units of this activation carry no H-term curvature.
    public var isPiecewiseLinear: Bool {
        switch self {
        case .relu: return true
        case .tanh: return false
        }
    }
}

extension Network {
    /// True when every activation is piecewise linear (ReLU); max pooling and dense/conv layers are
    /// piecewise linear in each single parameter, so then diag(H-term) = 0 and Tr(H) = Tr(G) exactly.
    public var isPiecewiseLinear: Bool {
        architecture.layers.allSatisfy { layer in
            if case let .activation(f) = layer { return f.isPiecewiseLinear }
            return true
        }
    }

    /// The exact diagonal of the Hessian of the mean cross-entropy over the batch (x: inputs × N, labels),
    /// G-term plus H-term, in flat parameter order, for any piecewise-linear net (where the H-term
    /// diagonal is 0) and for nets of dense layers only with any activation (second-order backpropagation,
    /// see the file header); nil otherwise (a smooth activation below a convolution), where it would cost
    /// one backward pass per nonlinear unit and example. The G-term diagonal is
    /// (1/N) Σ_μ Σ_j (Σ_k ∂z^μ_k/∂θ_i·F^μ_kj)² with F^μF^μᵀ = P^μ, from the per-example logit gradients.
    /// Cost: C backward passes (the logit gradients) plus a few dgemms per layer; memory that of `LogitGradients`.
    public func hessianDiagonal(_ x: Matrix, labels: [Int]) -> [Double]? {
        let plan = CurvaturePlan(self)
        guard isPiecewiseLinear || plan.headStartOffset == 0 else { return nil }
        precondition(labels.count == x.cols, "one label per example")
        let pass = curvaturePass(x, labels: labels, adjoints: !isPiecewiseLinear)
        var diagonal = LogitGradients(network: self, inputs: x)
            .gaussNewtonDiagonal(probabilities: pass.probabilities, parameterCount: parameters.count)
        if !isPiecewiseLinear {
            let h = hTermHead(plan, pass)
            for i in h.diagonal.indices { diagonal[i] += h.diagonal[i] }
        }
        return diagonal
    }

    /// Tr(H) of the mean cross-entropy over the batch, exact whenever possible (see `TraceMethod`):
    /// Tr(G) exactly from the Gram's diagonal blocks, plus Tr(H-term) = Σ_μ Σ_u ρ^μ_u ‖∇_θ a^μ_u‖², which is
    /// 0 for piecewise-linear nets, exact for dense layers (all of an MLP, a CNN's dense head), and for the
    /// parameters below a smooth activation in a CNN estimated by Hutchinson's method with Rademacher v on
    /// those parameters only, since the exact diagonal there would cost one backward pass per unit and
    /// example. Each probe is Σ_u ρ_u(∇a_u·v)² by one R-forward pass (`activationCurvatureQuadraticForm`:
    /// the same diagonal, hence the same expectation, as vᵀ(H − G)v, with less spread).
    ///
    /// - Parameters:
    ///   - gram: the logit-gradient Gram (`LogitGradients(network:inputs:).gram`) if the caller already has
    ///     it; otherwise only its diagonal blocks are formed (C backward passes, no (N·C)² matrix).
    ///   - probes, seed: used only on the Hutchinson path (`probes` ≥ 1; ≥ 2 for a standard error).
    /// Cost: exact paths, one forward and one backward pass plus (dense) a dgemm per pair of hidden layers
    /// and example chunk; Hutchinson, one R-forward pass per probe.
    public func hessianTrace(_ x: Matrix, labels: [Int], gram: Matrix? = nil, probes: Int = 20, seed: UInt64 = 0) throws -> HessianTrace {
        guard labels.count == x.cols else {
            throw NetworkError.invalid("the Hessian trace needs one label per example (\(labels.count) labels for \(x.cols) examples)")
        }
        let c = architecture.classes
        let piecewiseLinear = isPiecewiseLinear
        let pass = curvaturePass(x, labels: labels, adjoints: !piecewiseLinear)
        let trG: Double
        if let gram {
            trG = gaussNewtonTrace(gram: gram, probabilities: pass.probabilities, classes: c)
        } else {
            trG = gaussNewtonTrace(diagonalBlocks: LogitGradients(network: self, inputs: x).diagonalBlocks,
                                   probabilities: pass.probabilities, classes: c)
        }
        if piecewiseLinear {
            return HessianTrace(value: trG, standardError: 0, method: .exact, gaussNewton: trG, hTerm: 0, hTermEstimate: 0, probes: 0,
                                estimatedParameters: 0)
        }
        let plan = CurvaturePlan(self)
        let head = hTermHead(plan, pass)
        let rest = plan.headStartOffset
        if rest == 0 {
            return HessianTrace(value: trG + head.trace, standardError: 0, method: .exactDiagonal, gaussNewton: trG,
                                hTerm: head.trace, hTermEstimate: 0, probes: 0, estimatedParameters: 0)
        }
        guard probes >= 1 else { throw NetworkError.invalid("--trace-probes is \(probes); the Hutchinson estimate of Tr(H − G) needs at least 1") }
        let d = parameters.count
        let estimate = try Lanczos.hutchinsonTrace(dimension: rest, probes: probes, seed: seed) { z in
            var v = [Double](repeating: 0, count: d)
            v.replaceSubrange(0..<rest, with: z)
            return quadraticForm(x, pass, v, crossTerms: false)
        }
        let hTerm = head.trace + estimate.estimate
        return HessianTrace(value: trG + hTerm, standardError: estimate.standardError, method: .hutchinsonHTerm,
                            gaussNewton: trG, hTerm: hTerm, hTermEstimate: estimate.estimate, probes: probes, estimatedParameters: rest)
    }

    /// vᵀ(H − G)v exactly, for any network and direction, by one second-order forward pass: with λ the
    /// adjoint of the mean loss at each layer's output (one backward pass), vᵀ(H-term)v = Σ_μ ∂L/∂z^μ·R²{z^μ}
    /// = Σ over layers of λ·(that layer's second-order term): 2·R{W}·R{x} for a dense or conv layer
    /// (bilinear in weights and input), φ''(a)·R{a}² for an activation, nothing for max pooling.
    /// About a third of the cost of a Hessian- minus a Gauss–Newton-vector product.
    public func hTermQuadraticForm(_ x: Matrix, labels: [Int], _ v: [Double]) -> Double {
        precondition(labels.count == x.cols, "one label per example")
        precondition(v.count == parameters.count, "direction has the wrong length")
        return quadraticForm(x, curvaturePass(x, labels: labels, adjoints: true), v, crossTerms: true)
    }

    /// vᵀAv for A = Σ_μ Σ_u ρ^μ_u ∇_θa^μ_u ∇_θa^μ_uᵀ, i.e. Σ_μ Σ_u ρ^μ_u (∇_θa^μ_u·v)², by one R-forward pass: the
    /// activation terms of `hTermQuadraticForm` without the dense/conv cross terms 2λ·R{W}·R{x}. Those cross
    /// terms have a zero diagonal (R{W} and R{x} never both come from one coordinate), so diag A = diag(H − G)
    /// and Tr A = Tr(H − G): Hutchinson on A estimates the H-term trace as well as on H − G, with less work
    /// and, on the small tanh CNN of the tests, 1.7× smaller spread per probe. For v = e_i it is the exact
    /// H-term diagonal entry i.
    public func activationCurvatureQuadraticForm(_ x: Matrix, labels: [Int], _ v: [Double]) -> Double {
        precondition(labels.count == x.cols, "one label per example")
        precondition(v.count == parameters.count, "direction has the wrong length")
        return quadraticForm(x, curvaturePass(x, labels: labels, adjoints: true), v, crossTerms: false)
    }

    // MARK: internals

    /// The forward trace, softmax probabilities (N×C row-major) and, if asked, the adjoint ∂L/∂(output) of
    /// the mean loss at every layer (one backward pass).
    struct CurvaturePass {
        var trace: Trace
        var probabilities: [Double]
        var adjoints: [Int: Matrix]
    }

    func curvaturePass(_ x: Matrix, labels: [Int], adjoints wanted: Bool) -> CurvaturePass {
        let t = forward(x)
        let p = softmaxRows(t.output.storage, classes: architecture.classes)
        var adjoints: [Int: Matrix] = [:]
        if wanted {
            let (_, g, _) = Network.crossEntropy(t.output, labels: labels)
            _ = backward(t, outputGradient: g) { index, gy in adjoints[index] = gy }
        }
        return CurvaturePass(trace: t, probabilities: p, adjoints: adjoints)
    }

    /// The dense head: the longest suffix of layers of the form dense (activation)? dense (activation)? …,
    /// whose parameters' H-term diagonal the J_{L←l} recursion gives exactly.
    struct CurvaturePlan {
        /// Layer index of each head dense layer and of the activation that follows it, if any.
        var head: [(dense: Int, activation: Int?)] = []
        /// Offset of the head's first parameter: the parameters before it are not covered.
        var headStartOffset: Int

        init(_ network: Network) {
            let layers = network.architecture.layers
            func parse(from s: Int) -> [(Int, Int?)]? {
                var out: [(Int, Int?)] = []
                var i = s
                while i < layers.count {
                    guard case .dense = layers[i] else { return nil }
                    if i + 1 < layers.count, case .activation = layers[i + 1] {
                        out.append((i, i + 1))
                        i += 2
                    } else {
                        out.append((i, nil))
                        i += 1
                    }
                }
                return out
            }
            let start = layers.indices.first { parse(from: $0) != nil }
            head = start.flatMap { parse(from: $0) }?.map { (dense: $0.0, activation: $0.1) } ?? []
            headStartOffset = start.map { network.offsets[$0] } ?? network.parameters.count
        }
    }

    /// Examples per chunk of the stacked per-example Jacobians J_{L←l}, so they stay below 2²² doubles.
    static let jacobianChunkElements = 1 << 22

    /// The exact H-term diagonal on the head's parameters (zeros elsewhere) and its sum, by the recursion
    /// J_{L←L} = I, J_{L←l} = J_{L←l+1}·W_{l+1}·diag(φ'(z_l)) on pre-activations z_l of the head:
    /// q^μ_{l,o} = Σ_{L≥l} Σ_u ρ^μ_{L,u}(J^μ_{L←l})²_{u,o}; diag at W_l[o,i] = Σ_μ q^μ_{l,o}(h^μ_{l−1,i})², at
    /// b_l[o] = Σ_μ q^μ_{l,o}. The step L−1 needs no per-example matrices ((J)² = (W_L)²·diag(φ'²), one
    /// dgemm over all examples); deeper steps stack the examples' J's row-wise so each is one dgemm.
    func hTermHead(_ plan: CurvaturePlan, _ pass: CurvaturePass) -> (diagonal: [Double], trace: Double) {
        let layers = architecture.layers
        let offs = offsets
        let n = pass.trace.output.cols
        var diagonal = [Double](repeating: 0, count: parameters.count)
        let m = plan.head.count
        guard m > 0 else { return (diagonal, 0) }
        var inSize: [Int] = [], outSize: [Int] = [], weights: [Matrix] = []
        for (d, _) in plan.head {
            guard case let .dense(_, i, o) = layers[d] else { preconditionFailure("head layer is not dense") }
            inSize.append(i)
            outSize.append(o)
            weights.append(Matrix(rows: i, cols: o, storage: Array(parameters[offs[d]..<(offs[d] + i * o)])))  // W_lᵀ
        }
        // φ'(z_l) (ones without an activation) and ρ_l = φ''(z_l)·λ_l (nil without a smooth activation).
        var slope: [Matrix] = [], rho: [Matrix?] = []
        for (l, (_, act)) in plan.head.enumerated() {
            guard let a = act, case let .activation(f) = layers[a] else {
                slope.append(Matrix(rows: outSize[l], cols: n, storage: [Double](repeating: 1, count: outSize[l] * n)))
                rho.append(nil)
                continue
            }
            let z = pass.trace.inputs[a]
            var s = z
            for k in s.storage.indices { s.storage[k] = f.slope(z.storage[k]) }
            slope.append(s)
            if f.isPiecewiseLinear { rho.append(nil); continue }
            guard let lambda = pass.adjoints[a] else { preconditionFailure("curvature pass without adjoints") }
            var r = z
            for k in r.storage.indices { r.storage[k] = f.curvature(z.storage[k]) * lambda.storage[k] }
            rho.append(r)
        }
        var q = outSize.map { Matrix(rows: $0, cols: n) }
        for bigL in 0..<m {
            guard let rL = rho[bigL] else { continue }
            let uL = outSize[bigL]
            // L = l: J = I.
            for k in q[bigL].storage.indices { q[bigL].storage[k] += rL.storage[k] }
            guard bigL >= 1 else { continue }
            // l = L−1: q_{L−1} += φ'²_{L−1} ⊙ (W_L²)ᵀρ_L for all examples at once.
            var w2 = weights[bigL]
            for k in w2.storage.indices { w2.storage[k] *= w2.storage[k] }
            let t = BLAS.multiply(w2, rL)  // out_{L−1} × N
            let s = slope[bigL - 1]
            for k in t.storage.indices { q[bigL - 1].storage[k] += s.storage[k] * s.storage[k] * t.storage[k] }
            guard bigL >= 2 else { continue }
            // l ≤ L−2: per-example J's stacked row-wise (row μ·u_L + u), in chunks of examples.
            let widest = outSize[0..<bigL].max()!
            let chunk = max(1, min(n, Network.jacobianChunkElements / max(1, uL * widest)))
            for first in stride(from: 0, to: n, by: chunk) {
                let nb = min(chunk, n - first)
                let w = weights[bigL]  // out_{L−1} × u_L: element [o, u] = W_L[u, o]
                let o1 = outSize[bigL - 1]
                var j = Matrix(rows: nb * uL, cols: o1)
                j.storage.withUnsafeMutableBufferPointer { pj in
                    for o in 0..<o1 { for mu in 0..<nb {
                        let sl = s[o, first + mu]
                        for u in 0..<uL { pj[o * nb * uL + mu * uL + u] = w[o, u] * sl }
                    } }
                }
                for l in stride(from: bigL - 2, through: 0, by: -1) {
                    j = BLAS.multiply(j, weights[l + 1], transposeB: true)  // ·W_{l+1}: (nb·u_L) × out_l
                    let sl = slope[l], ol = outSize[l]
                    j.storage.withUnsafeMutableBufferPointer { pj in
                        for o in 0..<ol { for mu in 0..<nb {
                            let f = sl[o, first + mu]
                            for u in 0..<uL { pj[o * nb * uL + mu * uL + u] *= f }
                        } }
                    }
                    var j2 = j
                    for k in j2.storage.indices { j2.storage[k] *= j2.storage[k] }
                    for mu in 0..<nb {
                        BLAS.accumulateBlock(j2, rows: (mu * uL)..<((mu + 1) * uL), cols: 0..<ol, transposeA: true,
                                             rL, rows: 0..<uL, cols: (first + mu)..<(first + mu + 1),
                                             into: &q[l], at: 0, first + mu)
                    }
                }
            }
        }
        // Diagonal: W_l (stored as the in×out matrix W_lᵀ) += h²_{l−1}·q_lᵀ; b_l += Σ_μ q_l. Trace:
        // Σ_μ Σ_o q^μ_{l,o}(‖h^μ_{l−1}‖² + 1).
        var trace = 0.0
        for (l, (d, _)) in plan.head.enumerated() {
            let h = pass.trace.inputs[d]
            var h2 = h
            for k in h2.storage.indices { h2.storage[k] *= h2.storage[k] }
            let dw = BLAS.multiply(h2, q[l], transposeB: true)
            let (i, o) = (inSize[l], outSize[l])
            diagonal.replaceSubrange(offs[d]..<(offs[d] + i * o), with: dw.storage)
            var norms = [Double](repeating: 1, count: n)
            for mu in 0..<n { for r in 0..<i { norms[mu] += h2[r, mu] } }
            let qn = BLAS.multiply(q[l], norms)  // Σ_μ q^μ_o(‖h^μ‖² + 1), per o
            let bias = BLAS.multiply(q[l], [Double](repeating: 1, count: n))
            diagonal.replaceSubrange((offs[d] + i * o)..<(offs[d] + i * o + o), with: bias)
            trace += qn.reduce(0, +)
        }
        return (diagonal, trace)
    }

    /// vᵀ(H − G)v (with the cross terms) or vᵀAv (without) from a curvature pass with adjoints; see the
    /// public forms.
    func quadraticForm(_ x: Matrix, _ pass: CurvaturePass, _ v: [Double], crossTerms: Bool) -> Double {
        let t = forward(x, direction: v)
        let offs = offsets
        var sum = 0.0
        for (index, layer) in architecture.layers.enumerated() {
            guard let lambda = pass.adjoints[index] else { preconditionFailure("curvature pass without adjoints") }
            // R{x} = 0 (the input, without an input direction) contributes nothing.
            guard let rx = t.rInputs[index] else { continue }
            switch layer {
            case let .dense(_, i, o):
                guard crossTerms else { continue }
                let rw = Array(v[offs[index]..<(offs[index] + i * o)])
                guard rw.contains(where: { $0 != 0 }) else { continue }
                let local = BLAS.multiply(Matrix(rows: i, cols: o, storage: rw), transposeA: true, rx)  // R{W}·R{x}
                sum += 2 * BLAS.dot(local.storage, lambda.storage)
            case let .conv(_, ci, co, h, w):
                guard crossTerms else { continue }
                let rw = Array(v[offs[index]..<(offs[index] + 9 * ci * co)])
                guard rw.contains(where: { $0 != 0 }) else { continue }
                let local = Convolution.forward(rx, weights: Matrix(rows: 9 * ci, cols: co, storage: rw),
                                                bias: nil, channels: ci, height: h, width: w)
                sum += 2 * BLAS.dot(local.storage, lambda.storage)
            case let .activation(f):
                guard !f.isPiecewiseLinear else { continue }
                let a = t.inputs[index]
                var s = 0.0
                for k in a.storage.indices { s += lambda.storage[k] * f.curvature(a.storage[k]) * rx.storage[k] * rx.storage[k] }
                sum += s
            case .maxPool:
                continue
            }
        }
        return sum
    }
}

extension LogitGradients {
    /// The N diagonal C×C blocks K^{μμ} of the logit-gradient Gram, stacked as C×(N·C) (block μ in columns
    /// μ·C..<(μ+1)·C), without the (N·C)² Gram: per example and dense layer (Δ^μᵀΔ^μ)(‖a^μ‖² + 1), per conv
    /// layer G^μᵀG^μ, one small dgemm each. All `gaussNewtonTrace` needs.
    public var diagonalBlocks: Matrix {
        let (n, c) = (examples, classes)
        var blocks = Matrix(rows: c, cols: n * c)
        for layer in dense {
            let (a, delta) = (layer.inputs, layer.deltas)
            for mu in 0..<n {
                var scale = 1.0
                for r in 0..<a.rows { scale += a[r, mu] * a[r, mu] }
                BLAS.accumulateBlock(delta, rows: 0..<delta.rows, cols: (mu * c)..<((mu + 1) * c), transposeA: true,
                                     delta, rows: 0..<delta.rows, cols: (mu * c)..<((mu + 1) * c), alpha: scale,
                                     into: &blocks, at: 0, mu * c)
            }
        }
        for layer in conv {
            let g = layer.gradients
            for mu in 0..<n {
                BLAS.accumulateBlock(g, rows: 0..<g.rows, cols: (mu * c)..<((mu + 1) * c), transposeA: true,
                                     g, rows: 0..<g.rows, cols: (mu * c)..<((mu + 1) * c), into: &blocks, at: 0, mu * c)
            }
        }
        return blocks
    }

    /// diag(G) = (1/N) Σ_μ Σ_j (Σ_k ∂z^μ_k/∂θ_i·F^μ_kj)², F^μ = `softmaxHessianFactor`(p^μ) (F^μF^μᵀ = P^μ),
    /// in flat parameter order. Dense layers stay factored: with Δ̃^μ = Δ^μF^μ and S_{o,μ} = Σ_j (Δ̃^μ_{o,j})²,
    /// the weight diagonal is (1/N)·a²·Sᵀ (one dgemm) and the bias diagonal (1/N)·Σ_μ S_{o,μ}.
    func gaussNewtonDiagonal(probabilities p: [Double], parameterCount d: Int) -> [Double] {
        let (n, c) = (examples, classes)
        precondition(p.count == n * c, "probabilities must be N×C")
        let factors = (0..<n).map { softmaxHessianFactor(p[($0 * c)..<(($0 + 1) * c)]) }
        var diagonal = [Double](repeating: 0, count: d)
        func rotated(_ m: Matrix) -> Matrix {
            var out = Matrix(rows: m.rows, cols: m.cols)
            for mu in 0..<n { BLAS.multiplyBlock(m, columns: (mu * c)..<((mu + 1) * c), by: factors[mu], into: &out) }
            return out
        }
        for layer in dense {
            let (a, tilde) = (layer.inputs, rotated(layer.deltas))
            let out = tilde.rows
            var s = Matrix(rows: out, cols: n)
            for mu in 0..<n { for j in 0..<c { for o in 0..<out {
                let e = tilde[o, mu * c + j]
                s[o, mu] += e * e
            } } }
            var a2 = a
            for k in a2.storage.indices { a2.storage[k] *= a2.storage[k] }
            let dw = BLAS.multiply(a2, s, transposeB: true, alpha: 1 / Double(n))  // in × out: the [out, in] layout
            diagonal.replaceSubrange(layer.offset..<(layer.offset + dw.storage.count), with: dw.storage)
            let db = BLAS.multiply(s, [Double](repeating: 1 / Double(n), count: n))
            diagonal.replaceSubrange((layer.offset + dw.storage.count)..<(layer.offset + dw.storage.count + out), with: db)
        }
        for layer in conv {
            let tilde = rotated(layer.gradients)
            for r in 0..<tilde.rows {
                var s = 0.0
                for col in 0..<tilde.cols { s += tilde[r, col] * tilde[r, col] }
                diagonal[layer.offset + r] = s / Double(n)
            }
        }
        return diagonal
    }
}
