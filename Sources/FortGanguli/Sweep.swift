import Foundation

/// How σ_c (and σ_E, σ_d, σ_s with it, at fixed ratios) changes along a σ_z sweep.
public enum SigmaCGrowth: Equatable, Sendable, CustomStringConvertible {
    /// σ_c, σ_E, σ_d and σ_s stay as given.
    case fixed
    /// σ_c ∝ σ_z^γ, equal to the given σ_c at σ_z = anchor (the paper's Fig. 7 protocol: logit
    /// gradients grow over training while σ_c/σ_E stays constant); σ_E, σ_d and σ_s scale alike.
    case power(exponent: Double, anchor: Double)

    /// Parses `fixed` or `power:γ` (anchor given separately).
    public init?(_ text: String, anchor: Double) {
        if text == "fixed" { self = .fixed; return }
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0] == "power", let g = Double(parts[1]), g.isFinite else { return nil }
        self = .power(exponent: g, anchor: anchor)
    }

    /// The factor by which σ_c, σ_E, σ_d and σ_s are multiplied at `sigmaZ`.
    public func factor(at sigmaZ: Double) -> Double {
        switch self {
        case .fixed: return 1
        case let .power(g, anchor): return sigmaZ > 0 ? pow(sigmaZ / anchor, g) : (g > 0 ? 0 : 1)
        }
    }

    public var description: String {
        switch self {
        case .fixed: return "fixed"
        case let .power(g, anchor): return "power:\(g)@\(anchor)"
        }
    }
}

/// A log-spaced σ_z grid with several seeds a point, expanded into model configurations.
public struct SigmaZSweep: Sendable {
    public var base: ModelConfiguration
    public var sigmaZMin: Double
    public var sigmaZMax: Double
    public var points: Int
    public var seeds: Int
    public var growth: SigmaCGrowth

    public init(base: ModelConfiguration, sigmaZMin: Double, sigmaZMax: Double, points: Int, seeds: Int, growth: SigmaCGrowth) {
        self.base = base
        self.sigmaZMin = sigmaZMin
        self.sigmaZMax = sigmaZMax
        self.points = points
        self.seeds = seeds
        self.growth = growth
    }

    /// The σ_z values, log-spaced from min to max inclusive.
    public var grid: [Double] {
        if points == 1 { return [sigmaZMin] }
        let a = log10(sigmaZMin), b = log10(sigmaZMax)
        var g = (0..<points).map { pow(10, a + (b - a) * Double($0) / Double(points - 1)) }
        g[0] = sigmaZMin
        g[points - 1] = sigmaZMax
        return g
    }

    /// Rejects empty or impossible grids in one line.
    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ModelError.invalid(m) } }
        try check(sigmaZMin.isFinite && sigmaZMax.isFinite, "--sigma-z-min and --sigma-z-max must be finite numbers")
        try check(sigmaZMin > 0, "--sigma-z-min is \(sigmaZMin); a log grid needs σ_z > 0")
        try check(sigmaZMax >= sigmaZMin, "--sigma-z-max (\(sigmaZMax)) is below --sigma-z-min (\(sigmaZMin)); the grid would be empty")
        try check(points >= 1, "--points is \(points); the grid needs at least one point")
        try check(seeds >= 1, "--seeds is \(seeds); give at least one seed")
        if case let .power(g, anchor) = growth {
            try check(g.isFinite && anchor.isFinite && anchor > 0, "--growth-anchor must be a positive number")
        }
        var first = configuration(point: 0, seed: 0)
        try first.validate()
        first = configuration(point: points - 1, seed: 0)
        try first.validate()
    }

    /// The configuration of grid point `point` (0-based) and seed index `seed`: the base's
    /// parameters (σ_d and σ_s included), σ_z from the grid, and all four σ's of the logit gradients
    /// scaled by the growth factor.
    public func configuration(point: Int, seed: Int) -> ModelConfiguration {
        var c = base
        let z = grid[point]
        let f = growth.factor(at: z)
        c.sigmaZ = z
        c.sigmaC = base.sigmaC * f
        c.sigmaE = base.sigmaE * f
        c.sigmaD = base.sigmaD * f
        c.sigmaS = base.sigmaS * f
        c.seed = base.seed + UInt64(seed)
        return c
    }
}

/// A log grid of σ_z against SNR = σ_c²/σ_E² (σ_E fixed, σ_c = σ_E·√SNR), several seeds a cell:
/// where in the (σ_z, SNR) plane the model has outliers.
public struct PhaseGrid: Sendable {
    public var base: ModelConfiguration
    public var sigmaZ: SigmaZSweep
    public var snrMin: Double
    public var snrMax: Double
    public var snrPoints: Int

    public init(base: ModelConfiguration, sigmaZMin: Double, sigmaZMax: Double, sigmaZPoints: Int,
                snrMin: Double, snrMax: Double, snrPoints: Int, seeds: Int) {
        self.base = base
        sigmaZ = SigmaZSweep(base: base, sigmaZMin: sigmaZMin, sigmaZMax: sigmaZMax, points: sigmaZPoints, seeds: seeds, growth: .fixed)
        self.snrMin = snrMin
        self.snrMax = snrMax
        self.snrPoints = snrPoints
    }

    public var seeds: Int { sigmaZ.seeds }

    /// The SNR values, log-spaced, endpoints exact.
    public var snrGrid: [Double] {
        SigmaZSweep(base: base, sigmaZMin: snrMin, sigmaZMax: snrMax, points: snrPoints, seeds: 1, growth: .fixed).grid
    }

    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ModelError.invalid(m) } }
        try check(snrMin.isFinite && snrMax.isFinite, "--snr-min and --snr-max must be finite numbers")
        try check(snrMin > 0, "--snr-min is \(snrMin); a log grid needs SNR > 0")
        try check(snrMax >= snrMin, "--snr-max (\(snrMax)) is below --snr-min (\(snrMin)); the grid would be empty")
        try check(snrPoints >= 1, "--snr-points is \(snrPoints); the grid needs at least one point")
        try check(base.sigmaE > 0, "--sigma-e must be positive for an SNR grid")
        try sigmaZ.validate()
    }

    /// The configuration of cell (σ_z point i, SNR point j) and seed index k.
    public func configuration(sigmaZPoint i: Int, snrPoint j: Int, seed k: Int) -> ModelConfiguration {
        var c = sigmaZ.configuration(point: i, seed: k)
        c.sigmaC = base.sigmaE * snrGrid[j].squareRoot()
        return c
    }
}
