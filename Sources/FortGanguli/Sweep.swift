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

    /// Rejects a law that takes σ_c, σ_E, σ_d or σ_s out of [0, 1e50] somewhere on the grid
    /// [sigmaZMin, sigmaZMax] (the factor is monotone in σ_z, so its ends decide), naming `--growth`
    /// and the range of γ that keeps them finite, or an anchor (`--sigma-z`) that is not positive.
    public func validate(sigmaZMin: Double, sigmaZMax: Double, base: ModelConfiguration) throws {
        guard case let .power(g, anchor) = self else { return }
        guard anchor.isFinite && anchor > 0 else {
            throw ModelError.invalid("--growth power:\(g) grows σ_c as (σ_z/σ_z₀)^γ from σ_z₀ = --sigma-z, which is \(anchor); give --sigma-z > 0")
        }
        let largest = max(base.sigmaC, base.sigmaE, base.sigmaD, base.sigmaS)
        // log10 of the room each σ has: f·σ ≤ 1e50, and f itself finite (below 1e300) when every σ is 0.
        let room = largest > 0 ? log10(ModelConfiguration.maximumScale / largest) : 300
        var low = -Double.infinity, high = Double.infinity
        for z in [sigmaZMin, sigmaZMax] where z > 0 {
            let l = log10(z / anchor)
            if l > 0 { high = min(high, room / l) } else if l < 0 { low = max(low, room / l) }
        }
        guard g >= low && g <= high else {
            throw ModelError.invalid(String(format: "--growth power:%g takes σ_c·(σ_z/%g)^γ (and σ_E, σ_d, σ_s alike) beyond 1e50 on the σ_z grid [%g, %g]; give power:γ with γ from %.4g to %.4g",
                                            g, anchor, sigmaZMin, sigmaZMax, low.isFinite ? low : -1e300, high.isFinite ? high : 1e300))
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
///
/// Common random numbers (the default): seed index k has the same seed at every grid point, so
/// every point of a seed reuses one draw — the standard-normal logits ξ (z = σ_z·ξ), the labels
/// (one uniform per example decides; argmax z does not depend on σ_z), the generators (σ_c, σ_E,
/// σ_d, σ_s only rescale their blocks of the Gram W). Each row is still an exact sample of the model
/// at its parameters; rows of one seed are correlated, so curves are smooth and differences between
/// points have far less variance than the rows' own spread. With `independentDraws` every (point,
/// seed) gets a seed of its own (the grid's row index added to the first seed).
public struct SigmaZSweep: Sendable {
    public var base: ModelConfiguration
    public var sigmaZMin: Double
    public var sigmaZMax: Double
    public var points: Int
    public var seeds: Int
    public var growth: SigmaCGrowth
    /// A fresh seed for every (point, seed) instead of common random numbers.
    public var independentDraws: Bool

    public init(base: ModelConfiguration, sigmaZMin: Double, sigmaZMax: Double, points: Int, seeds: Int, growth: SigmaCGrowth,
                independentDraws: Bool = false) {
        self.base = base
        self.sigmaZMin = sigmaZMin
        self.sigmaZMax = sigmaZMax
        self.points = points
        self.seeds = seeds
        self.growth = growth
        self.independentDraws = independentDraws
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

    /// The most rows (points × seeds) a grid may have: each row is a whole simulation, so more would
    /// run for weeks, and the table of pending rows is built before the first one runs.
    public static let maximumRows = 100_000

    /// Rejects empty or impossible grids in one line. The grid's sizes are named by symbol, since
    /// `sweep`, `phase` and `reproduce` give them under different flags (and check them first with
    /// their own names); the growth law is `--growth` wherever it is given.
    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ModelError.invalid(m) } }
        try check(sigmaZMin.isFinite && sigmaZMax.isFinite && sigmaZMin > 0 && sigmaZMax <= ModelConfiguration.maximumScale,
                  "the σ_z grid runs from \(sigmaZMin) to \(sigmaZMax); a log grid needs finite ends with 0 < σ_z ≤ 1e50")
        try check(sigmaZMax >= sigmaZMin, "the σ_z grid's largest value \(sigmaZMax) is below its smallest \(sigmaZMin); the grid would be empty")
        try check(points >= 1 && points <= SigmaZSweep.maximumRows, "the σ_z grid has \(points) points; give 1 to \(SigmaZSweep.maximumRows)")
        try check(seeds >= 1 && seeds <= SigmaZSweep.maximumRows, "the grid has \(seeds) seeds a point; give 1 to \(SigmaZSweep.maximumRows)")
        let rows = points.multipliedReportingOverflow(by: seeds)
        try check(!rows.overflow && rows.partialValue <= SigmaZSweep.maximumRows,
                  "the grid has \(points) points × \(seeds) seeds; at most \(SigmaZSweep.maximumRows) rows are allowed")
        try growth.validate(sigmaZMin: sigmaZMin, sigmaZMax: sigmaZMax, base: base)
        try configuration(point: 0, seed: 0).validate()
        try configuration(point: points - 1, seed: 0).validate()
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
        // Seeds are stream labels: they wrap. Common random numbers: seed k at every point.
        c.seed = base.seed &+ UInt64(independentDraws ? point * seeds + seed : seed)
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
    /// A fresh seed for every (cell, seed) instead of common random numbers.
    public var independentDraws: Bool

    /// Common random numbers (seed k in every cell) unless `independentDraws` (see `SigmaZSweep`).
    public init(base: ModelConfiguration, sigmaZMin: Double, sigmaZMax: Double, sigmaZPoints: Int,
                snrMin: Double, snrMax: Double, snrPoints: Int, seeds: Int, independentDraws: Bool = false) {
        self.base = base
        sigmaZ = SigmaZSweep(base: base, sigmaZMin: sigmaZMin, sigmaZMax: sigmaZMax, points: sigmaZPoints, seeds: seeds, growth: .fixed)
        self.independentDraws = independentDraws
        self.snrMin = snrMin
        self.snrMax = snrMax
        self.snrPoints = snrPoints
    }

    public var seeds: Int { sigmaZ.seeds }

    /// The SNR values, log-spaced, endpoints exact.
    public var snrGrid: [Double] {
        SigmaZSweep(base: base, sigmaZMin: snrMin, sigmaZMax: snrMax, points: snrPoints, seeds: 1, growth: .fixed).grid
    }

    /// Rejects empty or impossible grids in one line (sizes by symbol: `phase` and `reproduce` name
    /// them under different flags and check them first).
    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ModelError.invalid(m) } }
        try check(snrMin.isFinite && snrMax.isFinite && snrMin > 0, "the SNR grid runs from \(snrMin) to \(snrMax); a log grid needs finite ends with SNR > 0")
        try check(snrMax >= snrMin, "the SNR grid's largest value \(snrMax) is below its smallest \(snrMin); the grid would be empty")
        try check(snrPoints >= 1 && snrPoints <= SigmaZSweep.maximumRows, "the SNR grid has \(snrPoints) points; give 1 to \(SigmaZSweep.maximumRows)")
        try check(base.sigmaE > 0, "--sigma-e is \(base.sigmaE); an SNR grid (σ_c = σ_E·√SNR) needs σ_E > 0")
        try sigmaZ.validate()
        let cells = sigmaZ.points.multipliedReportingOverflow(by: snrPoints)
        let rows = cells.partialValue.multipliedReportingOverflow(by: seeds)
        try check(!cells.overflow && !rows.overflow && rows.partialValue <= SigmaZSweep.maximumRows,
                  "the phase grid has \(sigmaZ.points) × \(snrPoints) cells × \(seeds) seeds; at most \(SigmaZSweep.maximumRows) rows are allowed")
        for i in [0, sigmaZ.points - 1] { for j in [0, snrPoints - 1] { try configuration(sigmaZPoint: i, snrPoint: j, seed: 0).validate() } }
    }

    /// The configuration of cell (σ_z point i, SNR point j) and seed index k.
    public func configuration(sigmaZPoint i: Int, snrPoint j: Int, seed k: Int) -> ModelConfiguration {
        var c = sigmaZ.configuration(point: i, seed: k)
        c.sigmaC = base.sigmaE * snrGrid[j].squareRoot()
        if independentDraws { c.seed = base.seed &+ UInt64((i * snrPoints + j) * seeds + k) }
        return c
    }
}
