import Foundation
import Linalg

/// A hidden neuron of an MLP: `layer` counts hidden layers from 1 (the outputs of `fc1`), `index`
/// counts neurons from 0, as `--neuron LAYER:INDEX` writes it.
public struct HiddenNeuron: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let layer: Int
    public let index: Int
    public init(layer: Int, index: Int) { (self.layer, self.index) = (layer, index) }
    public var description: String { "\(layer):\(index)" }
}

/// One step of a multi-step splitting embedding: the neuron split and the share α of its outgoing
/// weights that the copy takes.
public struct SplitStep: Equatable, Sendable, CustomStringConvertible {
    public let neuron: HiddenNeuron
    public let alpha: Double
    public init(neuron: HiddenNeuron, alpha: Double) { (self.neuron, self.alpha) = (neuron, alpha) }
    /// "LAYER:INDEX@α" (α in shortest round-trip form), the form checkpoints record.
    public var description: String { "\(neuron)@\(alpha)" }

    /// Reads `description` back; nil if `text` is not of that form.
    public init?(_ text: Substring) {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let alpha = Double(parts[1]) else { return nil }
        let place = parts[0].split(separator: ":")
        guard place.count == 2, let l = Int(place[0]), let i = Int(place[1]) else { return nil }
        self.init(neuron: HiddenNeuron(layer: l, index: i), alpha: alpha)
    }

    /// A list of steps as one metadata string, "1:0@0.3;1:1@0.3".
    public static func encode(_ steps: [SplitStep]) -> String { steps.map(\.description).joined(separator: ";") }
    /// Reads `encode` back; nil if any step is malformed.
    public static func decode(_ text: String) -> [SplitStep]? {
        guard !text.isEmpty else { return [] }
        var out: [SplitStep] = []
        for part in text.split(separator: ";") {
            guard let step = SplitStep(part) else { return nil }
            out.append(step)
        }
        return out
    }
}

/// Where one neuron of a widened hidden layer comes from (`CriticalEmbedding.expand`).
public enum NeuronSource: Equatable, Sendable {
    /// A copy of narrow neuron `of`: the same incoming weights and bias times `sign`, and `share`·`sign`
    /// times its outgoing weights. `sign` = −1 is allowed for odd activations (tanh), where
    /// a·σ(v·x) = (−a)·σ(−v·x).
    case copy(of: Int, share: Double, sign: Double)
    /// A neuron with all incoming and outgoing weights 0; it adds σ(0)·0 = 0 to the next layer.
    case null
}

/// The critical embeddings of Zhang et al. (2021, "Embedding principle of loss landscape of deep
/// neural networks"), for MLPs.
///
/// The one-step splitting embedding of hidden neuron s in layer l with parameter α adds a copy of s
/// with the same incoming weights and bias, and gives the original (1 − α) and the copy α of the
/// outgoing weights w. For every α (any real number) the wider network computes the same function
/// (both neurons have the same activation h, and (1 − α)w·h + αw·h = w·h), so it has the same loss
/// on any data; and it is critical wherever the narrow network is (Theorem 1): every gradient
/// component of the wide network is one of the narrow network's, times 1, (1 − α) or α.
///
/// Degeneracy. In the coordinates θ_narrow, ζ (the difference of the pair's incoming weights, the
/// pair at r + αζ and r − (1 − α)ζ) and ξ (the pair's outgoing weights at (1 − α)a + ξ and αa − ξ),
/// which are a linear invertible change of the wide network's parameters, the output changes by
/// ξσ'(ζ·x) + ½α(1 − α)aσ''(ζ·x)² at second order and not at first. So at ANY embedded point the wide
/// Hessian is congruent to H_narrow ⊕ K with
///
///     K = [[α(1 − α)M, B], [Bᵀ, 0]],  M = mean_μ (g^μ·a) σ''(z^μ_s) x̂^μ x̂^μᵀ,  B = mean_μ σ'(z^μ_s) x̂^μ g^μᵀ,
///
/// g^μ = ∂ℓ/∂output, x̂^μ = (the layer's input, 1), and by Sylvester's law of inertia the counts of
/// negative, zero and positive eigenvalues of the wide Hessian are those of H_narrow plus those of K:
/// none of the three counts can fall (`splitBlock` computes K). At a critical point B·a is the
/// narrow gradient of s's incoming weights, 0, so ξ = a — the direction (+a, −a) on the pair's
/// outgoing weights — is a null vector: each step adds at least one zero eigenvalue; with one
/// output and M nonsingular exactly one, the other new eigenvalues having the signs of α(1 − α)M.
/// Off a critical point the zero need not appear (B·a ≠ 0).
///
/// The paper's one-step embedding (its Definition 5) is this splitting, for any α; its multi-step
/// embeddings are compositions (`split(_:steps:)`), and the critical affine subspaces of its Theorem 2
/// are the sets of α's. `expand` builds any widened layer whose neurons are copies of narrow neurons
/// (shares of each summing to 1, signs for odd activations) or null neurons: every such network is a
/// composition of splits, sign flips and null additions, all output- and criticality-preserving.
public enum CriticalEmbedding {
    /// The widths [input, hidden…, output] of an MLP; a CNN cannot be embedded (its width is in
    /// channels, which this splitting does not handle).
    public static func widths(_ a: Architecture) throws -> [Int] {
        guard a.kind == .mlp else {
            throw NetworkError.invalid("the network is a \(a.kind.rawValue), which cannot be embedded: the splitting embedding is implemented for MLPs (fully connected layers) only")
        }
        var w = [a.inputs]
        for layer in a.layers { if case let .dense(_, _, o) = layer { w.append(o) } }
        return w
    }

    /// Checks that `neuron` is a hidden neuron of an MLP of these widths.
    public static func check(_ neuron: HiddenNeuron, widths w: [Int]) throws {
        let hidden = w.count - 2
        if neuron.layer == w.count - 1 {
            throw NetworkError.invalid("neuron \(neuron) is in the output layer (layer \(neuron.layer)); only hidden neurons can be split (layers 1 to \(hidden))")
        }
        guard hidden >= 1 else { throw NetworkError.invalid("the network has no hidden layer, so no neuron can be split") }
        guard (1...hidden).contains(neuron.layer) else {
            throw NetworkError.invalid("neuron \(neuron) names layer \(neuron.layer), but the hidden layers are 1 to \(hidden)")
        }
        guard (0..<w[neuron.layer]).contains(neuron.index) else {
            throw NetworkError.invalid("neuron \(neuron) is out of range: hidden layer \(neuron.layer) has neurons 0 to \(w[neuron.layer] - 1)")
        }
    }

    /// The one-step splitting embedding of `neuron` with share α (any finite number): the copy is
    /// appended as the last neuron of its layer.
    ///
    ///     let wide = try CriticalEmbedding.split(narrow, neuron: HiddenNeuron(layer: 1, index: 0), alpha: 0.3)
    public static func split(_ net: Network, neuron: HiddenNeuron, alpha: Double) throws -> Network {
        let w = try widths(net.architecture)
        try check(neuron, widths: w)
        guard alpha.isFinite && abs(alpha) <= maximumAlpha else {
            throw NetworkError.invalid("α is \(alpha); give a finite number of magnitude at most 1e6 (the copy's share of the outgoing weights; beyond, the two shares cancel in floating point)")
        }
        var sources = (0..<w[neuron.layer]).map { NeuronSource.copy(of: $0, share: 1, sign: 1) }
        sources[neuron.index] = .copy(of: neuron.index, share: 1 - alpha, sign: 1)
        sources.append(.copy(of: neuron.index, share: alpha, sign: 1))
        return try expand(net, layer: neuron.layer, sources: sources)
    }

    /// The largest |α| accepted: the shares (1 − α) and α of a larger α cancel in floating point.
    public static let maximumAlpha = 1e6

    /// The multi-step embedding: the steps applied in order (a step may name a copy made by an earlier one).
    public static func split(_ net: Network, steps: [SplitStep]) throws -> Network {
        var out = net
        for step in steps { out = try split(out, neuron: step.neuron, alpha: step.alpha) }
        return out
    }

    /// The steps that widen an MLP of widths `from` to widths `to` (same depth, input and output,
    /// no hidden layer narrower): in each hidden layer, neurons 0, 1, 2, … of the narrow layer are
    /// split in turn (round robin, so the k-th extra neuron copies narrow neuron k mod width), each
    /// with share α.
    public static func steps(from: [Int], to: [Int], alpha: Double) throws -> [SplitStep] {
        guard from.count == to.count, from.first == to.first, from.last == to.last else {
            throw NetworkError.invalid("the target widths \(to.map(String.init).joined(separator: ",")) must keep the depth, input and output of the network's \(from.map(String.init).joined(separator: ","))")
        }
        var steps: [SplitStep] = []
        for l in 1..<(from.count - 1) {
            guard to[l] >= from[l] else {
                throw NetworkError.invalid("the target widths make hidden layer \(l) narrower (\(to[l]) < \(from[l])); an embedding only adds neurons")
            }
            for k in 0..<(to[l] - from[l]) { steps.append(SplitStep(neuron: HiddenNeuron(layer: l, index: k % from[l]), alpha: alpha)) }
        }
        return steps
    }

    /// The network whose hidden layer `layer` has one neuron per entry of `sources` (see `NeuronSource`);
    /// every other tensor is the narrow network's. Output-preserving when every narrow neuron has
    /// copies whose shares sum to 1 (checked to 1e-9) and signs are ±1 (−1 only for tanh).
    public static func expand(_ net: Network, layer l: Int, sources: [NeuronSource]) throws -> Network {
        let w = try widths(net.architecture)
        guard (1...max(1, w.count - 2)).contains(l), w.count >= 3 else {
            throw NetworkError.invalid("layer \(l) is not a hidden layer of this network (hidden layers 1 to \(w.count - 2))")
        }
        let m = w[l]
        var total = [Double](repeating: 0, count: m)
        for source in sources {
            guard case let .copy(s, share, sign) = source else { continue }
            guard (0..<m).contains(s) else { throw NetworkError.invalid("a copy of neuron \(l):\(s), which layer \(l) does not have (neurons 0 to \(m - 1))") }
            guard share.isFinite, sign == 1 || (sign == -1 && net.architecture.activation == .tanh) else {
                throw NetworkError.invalid("a copy of neuron \(l):\(s) has share \(share) and sign \(sign); shares must be finite and signs +1 (or −1 for tanh, an odd activation)")
            }
            total[s] += share
        }
        if let s = total.indices.first(where: { abs(total[$0] - 1) > 1e-9 }) {
            throw NetworkError.invalid("the copies of neuron \(l):\(s) share \(total[s]) of its outgoing weights, not 1; the embedding would change the network's output")
        }
        let neurons: [(incoming: [Double], outgoing: [Double])] = try sources.map { source in
            guard case let .copy(s, share, sign) = source else {
                return ([Double](repeating: 0, count: w[l - 1] + 1), [Double](repeating: 0, count: w[l + 1]))
            }
            let (v, a) = try weights(net, neuron: HiddenNeuron(layer: l, index: s))
            return (v.map { sign * $0 }, a.map { share * sign * $0 })
        }
        return try replacingLayer(net, layer: l, neurons: neurons)
    }

    /// The network with hidden layer `layer` replaced by `neurons` (incoming weights with the bias
    /// last, length in + 1; outgoing weights, length out); every other tensor is kept.
    public static func replacingLayer(_ net: Network, layer l: Int, neurons: [(incoming: [Double], outgoing: [Double])]) throws -> Network {
        let w = try widths(net.architecture)
        guard w.count >= 3, (1...(w.count - 2)).contains(l) else {
            throw NetworkError.invalid("layer \(l) is not a hidden layer of this network (hidden layers 1 to \(w.count - 2))")
        }
        guard !neurons.isEmpty else { throw NetworkError.invalid("hidden layer \(l) would have no neuron left") }
        precondition(neurons.allSatisfy { $0.incoming.count == w[l - 1] + 1 && $0.outgoing.count == w[l + 1] }, "neuron weights of the wrong length")
        var wide = w
        wide[l] = neurons.count
        let arch = try Architecture.mlp(widths: wide, activation: net.architecture.activation)
        var theta = [Double](repeating: 0, count: arch.parameterCount)
        let old = net.architecture.parameterLayout, new = arch.parameterLayout
        for (k, (name, _, offset)) in new.enumerated() {
            precondition(old[k].name == name, "layouts of the same depth list the same tensors")
            let count = k + 1 < new.count ? new[k + 1].offset - offset : theta.count - offset
            let isIncoming = k == 2 * (l - 1) || k == 2 * (l - 1) + 1, isOutgoing = k == 2 * l
            if !isIncoming && !isOutgoing {
                theta.replaceSubrange(offset..<(offset + count), with: net.parameters[old[k].offset..<(old[k].offset + count)])
            }
        }
        let (inSize, outSize, m) = (w[l - 1], w[l + 1], neurons.count)
        let (wIn, bIn, wOut) = (new[2 * (l - 1)].offset, new[2 * (l - 1) + 1].offset, new[2 * l].offset)
        for (s, neuron) in neurons.enumerated() {
            for i in 0..<inSize { theta[wIn + s * inSize + i] = neuron.incoming[i] }   // row s of fc_l [m, in]
            theta[bIn + s] = neuron.incoming[inSize]
            for j in 0..<outSize { theta[wOut + j * m + s] = neuron.outgoing[j] }     // column s of fc_{l+1} [out, m]
        }
        return Network(architecture: arch, parameters: theta)
    }

    /// The incoming weights and bias (v, length in + 1) and outgoing weights (a, length out) of a
    /// hidden neuron.
    public static func weights(_ net: Network, neuron: HiddenNeuron) throws -> (incoming: [Double], outgoing: [Double]) {
        let w = try widths(net.architecture)
        try check(neuron, widths: w)
        let layout = net.architecture.parameterLayout
        let (l, s) = (neuron.layer, neuron.index)
        let (inSize, outSize, m) = (w[l - 1], w[l + 1], w[l])
        let wIn = layout[2 * (l - 1)].offset, bIn = layout[2 * (l - 1) + 1].offset, wOut = layout[2 * l].offset
        let incoming = Array(net.parameters[(wIn + s * inSize)..<(wIn + (s + 1) * inSize)]) + [net.parameters[bIn + s]]
        let outgoing = (0..<outSize).map { net.parameters[wOut + $0 * m + s] }
        return (incoming, outgoing)
    }

    /// The block K = [[α(1 − α)M, B], [Bᵀ, 0]] ((in + 1 + out) square) that splitting `neuron` with
    /// share α adds to the Hessian, up to congruence, at the network's current point on the data
    /// (see the type's documentation): its inertia is what the step adds to the counts of negative,
    /// zero and positive Hessian eigenvalues.
    public static func splitBlock(_ net: Network, neuron: HiddenNeuron, alpha: Double, inputs x: Matrix, labels: [Int],
                                  loss: Loss, targets: Matrix? = nil) throws -> Matrix {
        let w = try widths(net.architecture)
        try check(neuron, widths: w)
        let (l, s) = (neuron.layer, neuron.index)
        let (inSize, outSize) = (w[l - 1], w[l + 1])
        let trace = net.forward(x)
        let (_, gz, _) = loss.evaluate(trace.output, labels: labels, targets: targets)   // ∂(mean loss)/∂output, already /B
        // Gradient with respect to layer l + 1's pre-activations is what multiplies a; capture the
        // layer input (the pre-activation of layer l is fc_l's output, the input of the activation).
        let denseIndex = denseLayerIndices(net.architecture)
        var upstream = Matrix(rows: 0, cols: 0)
        _ = net.backward(trace, outputGradient: gz) { index, gy in
            if index == denseIndex[l] { upstream = gy }   // ∂L/∂(fc_{l+1} output), out × B
        }
        let layerInput = trace.inputs[denseIndex[l - 1]]          // in × B, the input of fc_l
        let preActivation = trace.inputs[denseIndex[l - 1] + 1]   // the activation's input: z of layer l
        let (_, a) = try weights(net, neuron: neuron)
        let f = net.architecture.activation
        let n = inSize + 1 + outSize
        var k = Matrix(rows: n, cols: n)
        for e in 0..<x.cols {
            let z = preActivation[s, e]
            var xhat = (0..<inSize).map { layerInput[$0, e] }
            xhat.append(1)
            var ga = 0.0
            for j in 0..<outSize { ga += upstream[j, e] * a[j] }
            let curvature = alpha * (1 - alpha) * ga * f.curvature(z)
            for i in 0..<(inSize + 1) {
                for j in 0..<(inSize + 1) { k[i, j] += curvature * xhat[i] * xhat[j] }
                for j in 0..<outSize {
                    let b = f.slope(z) * xhat[i] * upstream[j, e]
                    k[i, inSize + 1 + j] += b
                    k[inSize + 1 + j, i] += b
                }
            }
        }
        return k
    }

    /// Positions in `architecture.layers` of the dense layers (fc1, fc2, …), with a sentinel for
    /// the output: `[i]` is the index of fc_{i+1}.
    static func denseLayerIndices(_ a: Architecture) -> [Int] {
        a.layers.indices.filter { if case .dense = a.layers[$0] { return true } else { return false } }
    }
}
