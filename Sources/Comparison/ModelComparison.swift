import FortGanguli
import Foundation
import Landscape

/// The statistics set side by side, each one value (with its standard error, 0 when exact) per source.
public enum ComparedStatistics {
    /// (key, label) in table order.
    public static let rows: [(key: String, label: String)] = [
        ("logit_std", "logit scale σ_z (calibrated)"),
        ("mean_max_prob", "mean max probability"),
        ("energy", "mean ‖J^μ_k‖² (calibrated)"),
        ("q_slsc", "q^SLSC"),
        ("q_sl", "q^SL"),
        ("q_dl", "q^DL"),
        ("ggn_top", "G-term λ₁"),
        ("ggn_class_top", "λ₁(G_class)"),
        ("ggn_cross_top", "λ₁(G_cross)"),
        ("ggn_bulk_edge", "bulk edge (λ₁ of the residual G-term)"),
        ("ggn_outliers", "outliers above the bulk"),
        ("ggn_outliers_class", "outliers led by the class level"),
        ("ggn_outliers_cross", "outliers led by the cross-class level"),
        ("largest_gap_index", "largest-gap index (top 3C)"),
        ("gradient_power", "gradient power in the top k of G"),
        ("ggn_trace_over_norm", "Trace(G)/‖G‖"),
        ("trace_over_norm", "Trace(H)/‖H‖ (models: G-term, no H-term)"),
        ("trace_over_norm_hyperplane", "hyperplane Trace(H)/‖H‖ (mean of R planes)"),
    ]

    /// Counts, judged to ±1 (`Agreement.resolution`).
    public static let countKeys: Set<String> = ["ggn_outliers", "ggn_outliers_class", "ggn_outliers_cross", "largest_gap_index"]

    /// The Hessian rows a Gram alone cannot give.
    public static let hessianKeys: Set<String> = ["trace_over_norm", "trace_over_norm_hyperplane"]

    /// A source's values from its Gram statistics and, if it has a Hessian, the Hessian's
    /// (Trace/‖H‖ with its standard error, hyperplane mean with its standard error).
    public static func values(_ g: GramStatistics, topK: Int,
                              hessian: (ratio: Double, ratioSE: Double, hyperplane: Double, hyperplaneSE: Double)?) -> [String: (Double, Double)] {
        let s = g.structure, by = s.outliersByLevel
        var v: [String: (Double, Double)] = [
            "logit_std": (g.logitScale, 0), "mean_max_prob": (g.probabilities.meanMaxProbability, 0),
            "energy": (g.moments.meanSquaredNorm, 0),
            "q_slsc": (g.clustering.qSLSC, 0), "q_sl": (g.clustering.qSL, 0), "q_dl": (g.clustering.qDL, 0),
            "ggn_top": (s.gaussNewton.eigenvalues.first ?? .nan, 0), "ggn_class_top": (s.classSpectrum.first ?? .nan, 0),
            "ggn_cross_top": (s.crossSpectrum.first ?? .nan, 0), "ggn_bulk_edge": (s.outliers.bulkEdge, 0),
            "ggn_outliers": (Double(s.outliers.outliers), 0), "ggn_outliers_class": (Double(by[.classLevel] ?? 0), 0),
            "ggn_outliers_cross": (Double(by[.cross] ?? 0), 0), "largest_gap_index": (Double(s.largestGapIndex), 0),
            "gradient_power": (g.gradientPower(top: topK), 0), "ggn_trace_over_norm": (g.gaussNewtonTraceOverNorm, 0),
        ]
        if let h = hessian {
            v["trace_over_norm"] = (h.ratio, h.ratioSE)
            v["trace_over_norm_hyperplane"] = (h.hyperplane, h.hyperplaneSE)
        }
        return v
    }

    /// A model run's values: its Hessian is the G-term (eq. 10), so Trace/‖H‖ is Tr(G)/‖G‖ of that Hessian.
    public static func values(_ m: ModelMeasurement, topK: Int) -> [String: (Double, Double)] {
        values(m.gram!, topK: topK, hessian: (m.traceOverNorm.ratio, 0, m.hyperplaneTraceOverNorm, 0))
    }
}

/// One statistic of the comparison: the source's value and each model's agreement with it.
public struct ComparedStatistic: Sendable {
    public let key: String
    public let label: String
    public let observed: Double
    public let observedStandardError: Double
    /// Why there is no observed value (e.g. "needs a checkpoint"), if there is none.
    public let note: String?
    public let models: [(kind: ModelKind, agreement: Agreement)]
}

/// A source set beside the random models calibrated on it: each model is run at `seeds` seeds and
/// every statistic of the source is judged against the model's spread over those seeds
/// (`Agreement`). This is what `fortganguli compare` prints; it is library code so that a test can
/// feed it any source — a network, the model's own output, imported files.
public struct ModelComparison: Sendable {
    public let source: GramStatistics
    public let calibrations: [Calibration]
    public let statistics: [ComparedStatistic]
    /// The first seed's run of each model (its spectra are written for the figures).
    public let firstRuns: [ModelKind: ModelMeasurement]
    public let seeds: Int
    /// k of the gradient power.
    public let topK: Int

    /// - Parameters:
    ///   - source: the source's Gram statistics.
    ///   - hessian: the source's Hessian statistics, when it has a network behind it.
    ///   - parameters: D.
    ///   - seeds: model seeds (at least 2 for a verdict), firstSeed, firstSeed + 1, …
    ///   - level: coverage of the prediction intervals.
    ///   - progress: called after each model run with a short description.
    public init(source: GramStatistics, hessian: HessianStatistics?, parameters: Int, seeds: Int, firstSeed: UInt64 = 0, topK: Int,
                hyperplanes: Int = 8, hyperplaneDimension: Int = 10, kinds: [ModelKind] = ModelKind.allCases,
                level: Double = Agreement.defaultLevel, progress: ((String) -> Void)? = nil) throws {
        let observed = ComparedStatistics.values(source, topK: topK, hessian: hessian.map {
            ($0.traceOverNorm, $0.traceOverNormStandardError, $0.hyperplane.mean, $0.hyperplane.standardError) })
        var calibrations: [Calibration] = []
        var perModel: [ModelKind: [[String: (Double, Double)]]] = [:]
        var firstRuns: [ModelKind: ModelMeasurement] = [:]
        for kind in kinds {
            let base = Calibration(kind, on: source, parameters: parameters, seed: firstSeed, topK: topK, hyperplanes: hyperplanes,
                                   hyperplaneDimension: hyperplaneDimension)
            try base.configuration.validate()
            try ModelSimulation.checkResources(base.configuration)
            calibrations.append(base)
            for r in 0..<seeds {
                var config = base.configuration
                config.seed = firstSeed &+ UInt64(r)
                let run = try ModelSimulation.run(config, logits: base.logits, gramStatistics: true)
                perModel[kind, default: []].append(ComparedStatistics.values(run, topK: topK))
                if r == 0 { firstRuns[kind] = run }
                progress?("\(kind.rawValue) seed \(r + 1)/\(seeds)")
            }
        }
        statistics = ComparedStatistics.rows.map { row in
            let value = observed[row.key]
            let models = kinds.map { kind in
                (kind, Agreement(observed: value?.0 ?? .nan, observedStandardError: value?.1 ?? 0,
                                 modelValues: perModel[kind]!.map { $0[row.key]!.0 }, level: level,
                                 resolution: ComparedStatistics.countKeys.contains(row.key) ? 1 : 0))
            }
            return ComparedStatistic(key: row.key, label: row.label, observed: value?.0 ?? .nan, observedStandardError: value?.1 ?? 0,
                                     note: value == nil ? "needs a checkpoint" : nil, models: models)
        }
        self.source = source
        self.calibrations = calibrations
        self.firstRuns = firstRuns
        self.seeds = seeds
        self.topK = topK
    }

    public func statistic(_ key: String) -> ComparedStatistic? { statistics.first { $0.key == key } }
}

/// A comparison that cannot run, with a one-line message.
public enum ComparisonError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { return m } else { return "" } }
}

extension ModelComparison {
    /// The largest configuration the models run at for a source of N examples, C classes and D
    /// parameters (every σ non-zero, so the class-conditional means are counted); the calibrated
    /// σ's change values, not sizes.
    public static func sizing(examples n: Int, classes c: Int, parameters d: Int, topK: Int, hyperplanes: Int,
                              hyperplaneDimension: Int) -> ModelConfiguration {
        var config = ModelConfiguration()
        (config.examples, config.classes, config.dimension) = (n, c, d)
        (config.sigmaC, config.sigmaD, config.sigmaS, config.sigmaE) = (1, 1, 1, 1)
        (config.hessian, config.mode, config.topK) = (.full, .auto, topK)
        (config.hyperplanes, config.hyperplaneDimension) = (hyperplanes, min(hyperplaneDimension, d))
        return config
    }

    /// Checks, before a source is measured, that the models can run at its sizes: one line naming the
    /// compare flags, never the model commands' (--dimension, --mode).
    public static func check(examples n: Int, classes c: Int, parameters d: Int, topK: Int, hyperplanes: Int,
                             hyperplaneDimension: Int) throws {
        let config = sizing(examples: n, classes: c, parameters: d, topK: topK, hyperplanes: hyperplanes,
                            hyperplaneDimension: hyperplaneDimension)
        let sizes = "N = \(n), C = \(c), D = \(d)"
        do {
            try config.validate()
            try ModelSimulation.checkResources(config)
        } catch ModelError.tooLarge {
            throw ComparisonError.invalid("the models calibrated on this source (\(sizes)) need more memory than this machine has; lower --per-class (or --parameters of a --gram source)")
        } catch let error as ModelError {
            throw ComparisonError.invalid("the models calibrated on this source (\(sizes)) cannot run: \(error.description)")
        }
    }

    /// Bytes one model run at these sizes allocates (the engine `.auto` picks).
    public static func bytesNeeded(examples n: Int, classes c: Int, parameters d: Int, topK: Int, hyperplanes: Int,
                                   hyperplaneDimension: Int) -> Double {
        let config = sizing(examples: n, classes: c, parameters: d, topK: topK, hyperplanes: hyperplanes,
                            hyperplaneDimension: hyperplaneDimension)
        return MemoryEstimate.simulation(config, gramStatistics: true).total
    }
}
