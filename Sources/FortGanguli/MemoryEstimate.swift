import Foundation
import Linalg

/// The memory one run of the model (or its theory) allocates, as named parts, each sized from the
/// user's inputs in `Double` arithmetic (so no size overflows): every buffer whose size grows with
/// N, C, D, R·d, the theory's example count or its density grid is counted, and the check compares
/// the total with the memory available (`SystemMemory`) before anything is allocated or written.
public struct MemoryEstimate: Sendable {
    /// The inputs a part's size grows with: the parts name them, a command maps them to its flags.
    public enum Quantity: String, Sendable, CaseIterable {
        case examples = "N", classes = "C", dimension = "D", hyperplanes = "R·d", theoryExamples = "the theory's examples",
             densityPoints = "density points"
    }

    public struct Part: Sendable {
        public var name: String
        public var bytes: Double
        /// What to lower to shrink this part, most effective first.
        public var lower: [Quantity]
    }

    public var parts: [Part]

    public var total: Double { parts.reduce(0) { $0 + $1.bytes } }
    public var largest: Part { parts.max { $0.bytes < $1.bytes }! }

    public init(parts: [Part]) { self.parts = parts.filter { $0.bytes > 0 } }

    /// Throws a `ResourceError` when the total exceeds the budget (`SystemMemory.budgetBytes`).
    public func check(budget: Double = SystemMemory.budgetBytes) throws {
        let need = total
        if !(need <= budget) { throw ResourceError(need: need, available: budget / SystemMemory.usableFraction, largest: largest) }
    }

    /// The estimate of `ModelSimulation.run(config, gramStatistics:)` plus, with `theory`, that of
    /// `ModelTheory` on the same configuration (`simulate --theory`, `phase`).
    public static func simulation(_ config: ModelConfiguration, gramStatistics: Bool, theory: Bool = false) -> MemoryEstimate {
        let n = Double(config.examples), c = Double(config.classes), d = Double(config.dimension)
        let nc = n * c, c2 = c * c, c4 = c2 * c2
        let rd = Double(config.hyperplaneDimension) * Double(config.hyperplanes)
        let conditional = config.hasClassConditionalMeans
        let signal = c + (config.sigmaD > 0 ? c2 : 0) + (config.sigmaS > 0 ? c : 0)
        let m = nc + signal, order = m + rd
        var parts: [Part] = []
        let dense = config.mode == .dense || (config.mode == .auto && d < ModelConfiguration.denseCrossover * m)
        // --spectrum top (Bartlett only): U and the block Lanczos bases (V and A·V of both runs, held
        // together since they run in lockstep), never W, K or the logit-gradient Gram.
        let top = config.spectrum == .top && config.hessian == .paper && !dense && d >= order
        let statistics = (gramStatistics || config.hessian == .full) && !top
        if top {
            let lower: [Quantity] = rd >= max(nc, c2) ? [.hyperplanes] : [.examples, .classes]
            parts.append(Part(name: "Bartlett factor of the m + R·d generators", bytes: 8 * order * order, lower: lower))
            // r = max(2C, signal rank + 1, k) pairs (`TopSpectrum`); the signal rank is at most
            // C(C − 1) with offsets, 2C − 1 with own-class parts alone, C − 1 without.
            let signalRank = config.sigmaD > 0 ? c * (c - 1) : (config.sigmaS > 0 ? 2 * c - 1 : c - 1)
            let pairs = max(2 * c, signalRank + 1, Double(config.gradientPowerK))
            let b = Double(TopSpectrum.blockSize), blocks = Double(TopSpectrum.basisBlocks)
            let bases = max(2 * pairs + 2 * b, blocks * b) + max(2 * max(c, 2) + 2 * b, blocks * b)
            parts.append(Part(name: "block Lanczos bases", bytes: 8 * 2 * order * bases, lower: [.examples, .classes]))
            parts.append(Part(name: "coordinate chunks", bytes: 8 * 2 * 64 * (nc + c2), lower: [.examples, .classes]))
        } else if dense {
            parts.append(Part(name: "D×D matrices of the dense engine", bytes: 8 * 5 * d * d, lower: [.dimension]))
            parts.append(Part(name: "D×(N·C) gradient matrices", bytes: 8 * (4 * d * m + d * c2), lower: [.dimension, .examples, .classes]))
            if conditional { parts.append(Part(name: "D×C² class-conditional means", bytes: 8 * 2 * d * c2, lower: [.classes, .dimension])) }
            parts.append(Part(name: "D×(R·d) hyperplane draws", bytes: 8 * 2 * d * rd, lower: [.hyperplanes, .dimension]))
            parts.append(Part(name: "(N·C)×C² class aggregation", bytes: 8 * nc * c2, lower: [.classes, .examples]))
        } else {
            let explicit = d < order ? 4 * d * order : 0
            let lower: [Quantity] = rd >= max(nc, c2) ? [.hyperplanes] : (conditional && c2 > nc ? [.classes] : [.examples, .classes])
            parts.append(Part(name: "Gram matrices of the m + R·d generators", bytes: 8 * (6 * order * order + explicit), lower: lower))
            if statistics { parts.append(Part(name: "(N·C)×(N·C) logit-gradient Gram", bytes: 8 * nc * nc, lower: [.examples, .classes])) }
        }
        parts.append(Part(name: "C²×C² class-block sums", bytes: 8 * (statistics ? 7 : 1) * c4, lower: [.classes]))
        if statistics {
            parts.append(Part(name: "(N·C)×(N·C) class-structure matrices", bytes: 8 * 9 * nc * nc, lower: [.examples, .classes]))
            parts.append(Part(name: "(N·C)×C² class-structure bases", bytes: 8 * 7 * nc * c2, lower: [.classes, .examples]))
        }
        parts.append(signalPart(config))
        parts.append(Part(name: "hyperplane blocks", bytes: 8 * 3 * rd * Double(config.hyperplaneDimension), lower: [.hyperplanes]))
        parts.append(Part(name: "logits and probabilities", bytes: 8 * 8 * nc, lower: [.examples, .classes]))
        var estimate = MemoryEstimate(parts: parts)
        if theory { estimate.parts += MemoryEstimate.theory(config, limitExamples: nil, densityPoints: 0).parts.filter { $0.name != signalPart(config).name } }
        return estimate
    }

    /// The estimate of the bordered phase engine (`BorderedSpectrum`) at `config`: the seed's formed
    /// Ŵ, Ŵ·F_e, the noise term's Gram E with its tridiagonal reduction (n = N(C − 1)), and the
    /// probes' coordinates.
    public static func borderedReduction(_ config: ModelConfiguration) -> MemoryEstimate {
        let n = Double(config.examples), c = Double(config.classes), c2 = c * c
        let rd = Double(config.hyperplaneDimension) * Double(config.hyperplanes)
        let signal = c + (config.sigmaD > 0 ? c2 : 0) + (config.sigmaS > 0 ? c : 0)
        let order = n * c + signal + rd, noise = n * (c - 1)
        return MemoryEstimate(parts: [
            Part(name: "Gram of the m + R·d generators", bytes: 8 * order * order, lower: [.examples, .classes]),
            Part(name: "noise term's coupling to every generator", bytes: 8 * order * noise, lower: [.examples, .classes]),
            Part(name: "noise term's Gram and its reduction", bytes: 8 * 3 * noise * noise, lower: [.examples, .classes]),
            Part(name: "coordinates of the signal and the gradient", bytes: 8 * 4 * noise * (signal + 2), lower: [.examples, .classes]),
            signalPart(config),
            Part(name: "logits and probabilities", bytes: 8 * 8 * n * c, lower: [.examples, .classes]),
        ])
    }

    /// The estimate of `ModelTheory(config, limitExamples:)` and of a density curve of `densityPoints` points.
    public static func theory(_ config: ModelConfiguration, limitExamples: Int?, densityPoints: Int) -> MemoryEstimate {
        let c = Double(config.classes), nt = Double(max(limitExamples ?? config.examples, config.examples))
        let (d, c2) = (Double(config.dimension), c * c)
        let signal = c + (config.sigmaD > 0 ? c2 : 0) + (config.sigmaS > 0 ? c : 0)
        let m = Double(config.examples) * c + signal
        let order = m + Double(config.hyperplaneDimension) * Double(config.hyperplanes)
        let gram = config.mode == .gram || (config.mode == .auto && d >= ModelConfiguration.denseCrossover * m)
        let bartlett = gram && d >= order
        let sample = bartlett ? 2 * signal * order : 2 * Double(config.dimension) * signal
        return MemoryEstimate(parts: [
            Part(name: "per-example probabilities and noise weights", bytes: 8 * 8 * nt * c,
                 lower: limitExamples != nil ? [.theoryExamples, .classes] : [.examples, .classes]),
            Part(name: "sampled class-mean vectors", bytes: 8 * sample, lower: [.classes]),
            signalPart(config),
            Part(name: "density grid", bytes: 8 * 4 * Double(densityPoints), lower: [.densityPoints]),
        ])
    }

    /// The signal term's C×C blocks (one per signal group) and its spike matrix, (groups·(C−1))² and the
    /// mean generators' Gram, C⁴-sized with class-conditional means.
    static func signalPart(_ config: ModelConfiguration) -> Part {
        let c = Double(config.classes), groups = config.hasClassConditionalMeans ? c : 1
        let r = c + (config.sigmaD > 0 ? c * c : 0) + (config.sigmaS > 0 ? c : 0), k = groups * (c - 1)
        return Part(name: "signal-term blocks", bytes: 8 * (groups * c * c + 8 * c * c + 3 * k * k + 2 * r * r), lower: [.classes])
    }
}

/// A run that would not fit in memory: what it needs, what is available, and its largest part.
/// The description names the model's quantities (N, C, D, …), not flags: a command that knows its
/// flags rephrases it (`lower`).
public struct ResourceError: Error, CustomStringConvertible, Sendable {
    public let need: Double
    public let available: Double
    public let largest: MemoryEstimate.Part

    public var description: String { message(naming: { $0.rawValue }) }

    /// The one-line message with each quantity to lower named by `name` (e.g. a flag).
    public func message(naming name: (MemoryEstimate.Quantity) -> String) -> String {
        "this run needs about \(SystemMemory.gib(need)) (\(largest.name): \(SystemMemory.gib(largest.bytes))) but \(SystemMemory.gib(available)) of memory are available; lower "
            + largest.lower.map(name).joined(separator: " or ")
    }
}
