import Foundation
import Linalg

/// How `NeuronCondensation` groups the neurons of a hidden layer.
public struct CondensationSettings: Sendable, Equatable {
    /// Two neurons belong together when the cosine between their normalised input-weight vectors
    /// (incoming weights with the bias) is at least this (for tanh, the absolute cosine: see `NeuronCondensation`).
    public var cosineThreshold = 0.99
    /// A neuron is negligible, and ignored, when its amplitude ‖a‖·‖v‖ (outgoing weights a, input
    /// vector v: it bounds what the neuron adds to the next layer per unit input norm) is below this
    /// fraction of the largest amplitude in the layer.
    public var negligibleFraction = 0.01
    public init() {}
    public init(cosineThreshold: Double, negligibleFraction: Double) {
        (self.cosineThreshold, self.negligibleFraction) = (cosineThreshold, negligibleFraction)
    }

    /// Why the settings cannot be used, or nil.
    public var problem: String? {
        if !(cosineThreshold.isFinite && cosineThreshold > 0 && cosineThreshold <= 1) {
            return "the cosine threshold is \(cosineThreshold); give a number in (0, 1]"
        }
        if !(negligibleFraction.isFinite && negligibleFraction >= 0 && negligibleFraction < 1) {
            return "the negligible fraction is \(negligibleFraction); give a number in [0, 1)"
        }
        return nil
    }
}

/// Effective neurons of a wide network caught near an embedded critical point (Zhang et al. 2021,
/// Fig. 5), and the narrow network they reduce to.
///
/// Grouping. Each neuron i of the hidden layer has an input vector v_i (incoming weights and bias)
/// and outgoing weights a_i. Neurons whose amplitude ‖a_i‖·‖v_i‖ is below the negligible fraction of
/// the largest are set aside. The others are taken in order of decreasing amplitude (ties by index);
/// each joins the group whose leader (its first, largest member) has the highest cosine with it, if
/// that cosine reaches the threshold, and otherwise leads a new group. For tanh, an odd activation,
/// a·tanh(v·x) = (−a)·tanh(−v·x), so a neuron anti-parallel to a leader is the same feature with
/// the opposite sign: the absolute cosine is compared and the member is recorded with sign −1.
/// The effective width is the number of groups.
///
/// Reduction. Each group G becomes one neuron of the narrow network with the summed outgoing weights
/// A_G = Σ s_i a_i and the input vector v_G = Σ ‖a_i‖ s_i v_i / Σ ‖a_i‖ (members that carry more of the
/// output count more; every member's v_i when they are equal, as after an exact embedding).
/// Negligible neurons are dropped.
///
/// Embedding back. Member i becomes a copy of its group's neuron with sign s_i and share
/// p_i = s_i a_i·A_G/‖A_G‖² (the shares of a group sum to 1), and a negligible neuron a null neuron:
/// `CriticalEmbedding.expand`, output-preserving and critical wherever the narrow network is. The
/// distance from this re-embedded network to the wide one is exactly the within-group spread
/// (√Σ‖s_i v_i − v_G‖² + ‖s_i a_i − p_i A_G‖², the second term 0 for one output) combined with the
/// norm of the negligible neurons: ‖θ_re − θ‖² = spread² + negligible².
public struct NeuronCondensation: Sendable {
    /// The hidden layer examined (1 = the first).
    public let layer: Int
    /// Wide-neuron indices of each group, leader first; groups ordered by their leaders' amplitude.
    public let groups: [[Int]]
    /// Negligible neurons, in index order.
    public let negligible: [Int]
    /// For each wide neuron, its source in the reduced network (`.null` when negligible).
    public let sources: [NeuronSource]
    /// The narrow network, one neuron per group; nil when every neuron is negligible (all weights 0).
    public let reduced: Network?
    /// The reduced network embedded back to the wide width (nil with `reduced`).
    public let reembedded: Network?
    /// √Σ_i∈groups (‖s_i v_i − v_G‖² + ‖s_i a_i − p_i A_G‖²).
    public let withinGroupSpread: Double
    /// √Σ_i negligible (‖v_i‖² + ‖a_i‖²).
    public let negligibleNorm: Double
    /// The smallest (absolute, for tanh) cosine between a member and its group's leader.
    public let smallestCosine: Double

    /// The effective width: the number of groups.
    public var effectiveWidth: Int { groups.count }

    public init(network: Network, layer l: Int = 1, settings: CondensationSettings = CondensationSettings()) throws {
        if let problem = settings.problem { throw NetworkError.invalid(problem) }
        let w = try CriticalEmbedding.widths(network.architecture)
        guard w.count >= 3, (1...(w.count - 2)).contains(l) else {
            throw NetworkError.invalid("layer \(l) is not a hidden layer of this network (hidden layers 1 to \(max(0, w.count - 2)))")
        }
        let m = w[l]
        let odd = network.architecture.activation == .tanh
        var v: [[Double]] = [], a: [[Double]] = [], amplitude: [Double] = []
        for s in 0..<m {
            let (vi, ai) = try CriticalEmbedding.weights(network, neuron: HiddenNeuron(layer: l, index: s))
            v.append(vi)
            a.append(ai)
            amplitude.append(norm(vi) * norm(ai))
        }
        let largest = amplitude.max() ?? 0
        let order = (0..<m).sorted { amplitude[$0] != amplitude[$1] ? amplitude[$0] > amplitude[$1] : $0 < $1 }
        var groups: [[Int]] = [], negligible: [Int] = []
        var sign = [Double](repeating: 1, count: m)
        var smallest = 1.0
        for i in order {
            guard largest > 0, amplitude[i] > 0, amplitude[i] >= settings.negligibleFraction * largest else { negligible.append(i); continue }
            var best = (group: -1, cosine: -Double.infinity, sign: 1.0)
            for (g, members) in groups.enumerated() {
                let c = cosine(v[i], v[members[0]])
                let (value, s) = odd ? (abs(c), c < 0 ? -1.0 : 1.0) : (c, 1.0)
                if value > best.cosine { best = (g, value, s) }
            }
            if best.group >= 0 && best.cosine >= settings.cosineThreshold {
                groups[best.group].append(i)
                sign[i] = best.sign
                smallest = min(smallest, best.cosine)
            } else {
                groups.append([i])
            }
        }
        negligible.sort()

        // One neuron per group; shares and the spread of each member about it.
        var neurons: [(incoming: [Double], outgoing: [Double])] = []
        var sources = [NeuronSource](repeating: .null, count: m)
        var spread2 = 0.0
        for (g, members) in groups.enumerated() {
            var outgoing = [Double](repeating: 0, count: w[l + 1]), incoming = [Double](repeating: 0, count: w[l - 1] + 1)
            var weight = 0.0
            for i in members {
                let s = sign[i], wi = norm(a[i])
                for j in outgoing.indices { outgoing[j] += s * a[i][j] }
                for j in incoming.indices { incoming[j] += wi * s * v[i][j] }
                weight += wi
            }
            for j in incoming.indices { incoming[j] /= weight }
            let total = BLAS.dot(outgoing, outgoing)
            for i in members {
                let s = sign[i]
                let share = total > 0 ? s * BLAS.dot(a[i], outgoing) / total : 1 / Double(members.count)
                sources[i] = .copy(of: g, share: share, sign: s)
                for j in incoming.indices { spread2 += pow(s * v[i][j] - incoming[j], 2) }
                for j in outgoing.indices { spread2 += pow(s * a[i][j] - share * outgoing[j], 2) }
            }
            neurons.append((incoming, outgoing))
        }
        var negligible2 = 0.0
        for i in negligible { negligible2 += BLAS.dot(v[i], v[i]) + BLAS.dot(a[i], a[i]) }

        layer = l
        self.groups = groups
        self.negligible = negligible
        self.sources = sources
        withinGroupSpread = spread2.squareRoot()
        negligibleNorm = negligible2.squareRoot()
        smallestCosine = smallest
        if neurons.isEmpty {
            (reduced, reembedded) = (nil, nil)
        } else {
            let narrow = try CriticalEmbedding.replacingLayer(network, layer: l, neurons: neurons)
            reduced = narrow
            reembedded = try CriticalEmbedding.expand(narrow, layer: l, sources: sources)
        }
    }

    /// ‖θ_re-embedded − θ_wide‖ for the wide network the condensation was computed from.
    public func reembeddingDistance(to network: Network) -> Double {
        guard let r = reembedded, r.parameters.count == network.parameters.count else { return .nan }
        var s = 0.0
        for i in r.parameters.indices { s += pow(r.parameters[i] - network.parameters[i], 2) }
        return s.squareRoot()
    }
}

private func norm(_ x: [Double]) -> Double { BLAS.dot(x, x).squareRoot() }

private func cosine(_ x: [Double], _ y: [Double]) -> Double {
    let d = norm(x) * norm(y)
    return d > 0 ? BLAS.dot(x, y) / d : 0
}

