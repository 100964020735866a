import Foundation

/// One finished jamming run as the transition estimate needs it.
public struct JammingRunResult: Sendable, Equatable {
    public var r: Double
    public var seed: UInt64
    public var unsatisfiedFraction: Double
    public var loss: Double
    public var fitted: Bool

    public init(r: Double, seed: UInt64, unsatisfiedFraction: Double, loss: Double, fitted: Bool) {
        (self.r, self.seed, self.unsatisfiedFraction, self.loss, self.fitted) = (r, seed, unsatisfiedFraction, loss, fitted)
    }
}

/// The jamming transition located on a grid of r = P/N with several seeds a point: r_c lies
/// between the largest r at which every seed fitted (N_Δ = 0) and the smallest r at which none
/// did; between them (if the grid has mixed points) the outcome depends on the seed. The estimate
/// is the midpoint and its resolution half the bracket — never finer than half the grid spacing.
/// Above r_c, N_Δ/N jumps to a finite value: the jump is the mean (± standard error over seeds)
/// of N_Δ/N at the smallest r where no seed fitted.
public struct JammingTransition: Sendable {
    /// The largest r where every seed fitted (nil: no such grid point).
    public let lastAllFitted: Double?
    /// The smallest r where no seed fitted (nil: no such grid point).
    public let firstNoneFitted: Double?
    /// Whether every all-fitted point lies below every none-fitted point (a monotone outcome).
    public let monotone: Bool
    /// N_Δ/N at `firstNoneFitted`: mean and standard error over its seeds (nil without such a point).
    public let jump: (mean: Double, standardError: Double)?
    /// The fraction of seeds that fitted at each r, ascending in r.
    public let fittedFraction: [(r: Double, fraction: Double)]

    public init(_ runs: [JammingRunResult]) {
        let byR = Dictionary(grouping: runs, by: \.r)
        let grid = byR.keys.sorted()
        fittedFraction = grid.map { r in (r, Double(byR[r]!.filter(\.fitted).count) / Double(byR[r]!.count)) }
        let all = grid.filter { byR[$0]!.allSatisfy(\.fitted) }
        let none = grid.filter { byR[$0]!.allSatisfy { !$0.fitted } }
        lastAllFitted = all.last
        firstNoneFitted = none.first
        monotone = (all.last ?? -.infinity) < (none.first ?? .infinity)
        if let r = none.first {
            let values = byR[r]!.map(\.unsatisfiedFraction)
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : .nan
            jump = (mean, (variance / Double(values.count)).squareRoot())
        } else {
            jump = nil
        }
    }

    /// r_c: the midpoint of the bracket [lastAllFitted, firstNoneFitted]; nil if either end is
    /// missing (r_c is then only bounded: above the grid or below it) or the outcome is not monotone.
    public var estimate: Double? {
        guard monotone, let low = lastAllFitted, let high = firstNoneFitted else { return nil }
        return 0.5 * (low + high)
    }

    /// The runs just above the transition, whose gaps θ and γ pool: the unfitted runs at
    /// `firstNoneFitted` (indices into `runs`, in order), and among them the one of least loss —
    /// the nearest to jamming, whose spectra `jamming-spectrum` takes.
    public func runsJustAbove(_ runs: [JammingRunResult]) -> (indices: [Int], nearest: Int?) {
        let indices = runs.indices.filter { runs[$0].r == firstNoneFitted && !runs[$0].fitted }
        return (indices, indices.min { runs[$0].loss < runs[$1].loss })
    }

    /// Half the bracket: r_c is estimate ± resolution.
    public var resolution: Double? {
        guard monotone, let low = lastAllFitted, let high = firstNoneFitted else { return nil }
        return 0.5 * (high - low)
    }
}

/// A power law p(x) ∝ x^α fitted on [low, high] by maximum likelihood: with u = log x the density
/// is ∝ e^{(α+1)u} on [log low, log high], an exponential family, so the estimate solves
/// E_α[u] = mean(u) and its standard error is 1/√(n·Var_α(u)) (the inverse Fisher information).
/// Unlike a least-squares line through a log-binned histogram it needs no bins and no guard
/// against empty ones; the histogram (`LogHistogram`) is for display.
public struct PowerLawFit: Sendable, Equatable {
    public let exponent: Double
    public let standardError: Double
    public let low: Double
    public let high: Double
    /// Values inside [low, high] (the sample the fit used).
    public let count: Int

    /// Fits the values that lie in [low, high] (0 < low < high); nil if fewer than 10 do.
    public init?(_ values: [Double], low: Double, high: Double) {
        guard low > 0, high > low, low.isFinite, high.isFinite else { return nil }
        let logs = values.filter { $0 >= low && $0 <= high }.map { log($0 / low) }
        guard logs.count >= 10 else { return nil }
        let width = log(high / low), target = logs.reduce(0, +) / Double(logs.count)
        // E_β[u] for density ∝ e^{βu} on [0, width] increases with β = α + 1: bisection.
        var (lo, hi) = (-200.0 / width, 200.0 / width)
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if PowerLawFit.mean(beta: mid, width: width) < target { lo = mid } else { hi = mid }
        }
        let beta = 0.5 * (lo + hi)
        exponent = beta - 1
        standardError = 1 / (Double(logs.count) * PowerLawFit.variance(beta: beta, width: width)).squareRoot()
        (self.low, self.high, count) = (low, high, logs.count)
    }

    /// The fit on the lower part of the sample, between its quantiles `lower` and `upper` (by
    /// default the 2nd percentile and the median): the small-x end where Geiger et al.'s P₊ and P₋
    /// are power laws, leaving out the few smallest values, which carry round-off of Δ.
    public static func lowerTail(_ values: [Double], lower: Double = 0.02, upper: Double = 0.5) -> PowerLawFit? {
        let sorted = values.filter { $0 > 0 && $0.isFinite }.sorted()
        guard sorted.count >= 20 else { return nil }
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(q * Double(sorted.count - 1)))] }
        return PowerLawFit(sorted, low: quantile(lower), high: quantile(upper))
    }

    /// E[u] of the density ∝ e^{βu} on [0, w].
    static func mean(beta: Double, width w: Double) -> Double {
        let x = beta * w
        if abs(x) < 1e-4 { return w / 2 + beta * w * w / 12 }
        return w / -expm1(-x) - 1 / beta
    }

    /// Var[u] of the density ∝ e^{βu} on [0, w].
    static func variance(beta: Double, width w: Double) -> Double {
        let x = beta * w
        if abs(x) < 1e-4 { return w * w / 12 }
        // 1/β² − w²·e^{x}/(e^{x} − 1)², written with e^{−|x|} so that it cannot overflow.
        let e = exp(-abs(x))
        return 1 / (beta * beta) - w * w * e / ((1 - e) * (1 - e))
    }
}

/// Geiger et al.'s two gap exponents from the overlaps Δ of runs near jamming: P₊(z) ~ z^θ for the
/// unsatisfied patterns, z = Δ/√L (each run's Δ > 0 rescaled by its own loss), and P₋(Δ) ~ |Δ|^{−γ}
/// for the satisfied ones (Δ < 0); both fitted on the lower tail of the pooled sample
/// (`PowerLawFit.lowerTail`). The paper finds θ ≈ 0.3 and γ ≈ 0.2.
public struct GapExponents: Sendable {
    public let theta: PowerLawFit?
    public let gamma: PowerLawFit?
    /// The pooled samples: z = Δ/√L of the unsatisfied patterns and |Δ| of the satisfied ones.
    public let rescaledOverlaps: [Double]
    public let gaps: [Double]

    /// γ as a positive number (minus the fitted exponent of P₋), with the fit's standard error.
    public var gammaValue: Double? { gamma.map { -$0.exponent } }

    public init(runs: [(deltas: [Double], loss: Double)]) {
        var overlaps: [Double] = [], gaps: [Double] = []
        for run in runs {
            let scale = run.loss > 0 ? run.loss.squareRoot() : 0
            for delta in run.deltas {
                if delta > 0, scale > 0 { overlaps.append(delta / scale) }
                if delta < 0 { gaps.append(-delta) }
            }
        }
        rescaledOverlaps = overlaps
        self.gaps = gaps
        theta = PowerLawFit.lowerTail(overlaps)
        gamma = PowerLawFit.lowerTail(gaps)
    }
}

/// Counts on log-spaced bins and the density they estimate (count / (n·bin width)), the display
/// of P₊ and P₋; Geiger et al. use 130 bins from 10⁻⁹ to 10⁴.
public struct LogHistogram: Sendable, Equatable {
    public let edges: [Double]
    public let counts: [Int]
    /// Values outside [edges.first, edges.last].
    public let outside: Int

    public init(_ values: [Double], low: Double = 1e-9, high: Double = 1e4, bins: Int = 130) {
        precondition(low > 0 && high > low && bins >= 1, "log bins need 0 < low < high")
        edges = (0...bins).map { low * pow(high / low, Double($0) / Double(bins)) }
        var counts = [Int](repeating: 0, count: bins)
        var outside = 0
        let scale = Double(bins) / log(high / low)
        for v in values {
            guard v >= low && v <= high else { outside += 1; continue }
            counts[min(bins - 1, Int(log(v / low) * scale))] += 1
        }
        self.counts = counts
        self.outside = outside
    }

    /// count / (n·width) per bin, n the number of values binned.
    public var density: [Double] {
        let n = Double(max(counts.reduce(0, +), 1))
        return counts.indices.map { Double(counts[$0]) / (n * (edges[$0 + 1] - edges[$0])) }
    }
}
