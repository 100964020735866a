import Comparison
import FortGanguli
import Foundation
import Landscape

/// How a comparison is written: `compare.md` (the table a reader reads), `compare.json` (every
/// number: calibrations, each model's values at each seed, intervals, verdicts), the spectra of the
/// source's and each model's G-term and its four terms, and the row `compare --run` streams.
public enum ComparisonReport {
    static func cell(_ v: Double, _ se: Double = 0) -> String {
        guard v.isFinite else { return "—" }
        return se > 0 && se.isFinite ? String(format: "%.4g ± %.2g", v, se) : String(format: "%.4g", v)
    }

    public static func markdown(_ c: ModelComparison, sourceName: String) -> String {
        let s = c.source.source
        var md = String(format: "Source: %@ (N = %d, C = %d, D = %d), accuracy %.3f, σ_z = %.4g\n\n", sourceName, s.examples, s.classes,
                        c.calibrations.first?.configuration.dimension ?? 0, c.source.accuracy, c.source.logitScale)
        md += "Calibrations (σ's in units of 1/√D; S_k the relative class-mean lengths):\n\n"
        md += "| model | σ_c | σ_d | σ_s | σ_e | S_k min–max | σ_z | accuracy |\n|---|---|---|---|---|---|---|---|\n"
        for cal in c.calibrations {
            let m = cal.configuration
            let lengths = m.classLengthScales
            md += String(format: "| %@ | %.4g | %.4g | %.4g | %.4g | %.3g–%.3g | %@ | %@ |\n", cal.kind.title, m.sigmaC, m.sigmaD, m.sigmaS, m.sigmaE,
                         lengths.min() ?? .nan, lengths.max() ?? .nan,
                         cal.logits == nil ? String(format: "%.4g", m.sigmaZ) : "source's own",
                         cal.logits == nil ? String(format: "%.3f", m.accuracy) : "source's own")
        }
        let level = c.statistics.first?.models.first?.agreement.level ?? Agreement.defaultLevel
        md += String(format: "\nEach model at %d seeds, shown as mean ± sd over seeds; a verdict says whether the source's value lies in the model's %.0f%% prediction interval for one more draw, mean ± t(R−1)·sd·√(1 + 1/R), widened by the source's own standard error where it has one.\n\n", c.seeds, 100 * level)
        md += "| statistic | source | " + c.calibrations.map { $0.kind.title }.joined(separator: " | ") + " |\n"
        md += "|---|---|" + String(repeating: "---|", count: c.calibrations.count) + "\n"
        for row in c.statistics {
            let observed = row.note ?? cell(row.observed, row.observedStandardError)
            let models = row.models.map { m -> String in
                let a = m.agreement
                let verdict = row.note == nil ? a.verdict.rawValue : "—"
                return "\(cell(a.modelMean, a.modelSpread)) \(verdict)"
            }
            md += "| \(row.label) | \(observed) | " + models.joined(separator: " | ") + " |\n"
        }
        return md
    }

    public static func json(_ c: ModelComparison, sourceName: String) -> JSON {
        let calibrations = c.calibrations.map { cal -> JSON in
            let m = cal.configuration
            return .object([("model", .string(cal.kind.rawValue)), ("sigma_z", cal.logits == nil ? .number(m.sigmaZ) : .string("source")),
                            ("accuracy", cal.logits == nil ? .number(m.accuracy) : .string("source")),
                            ("sigma_c", .number(m.sigmaC)), ("sigma_d", .number(m.sigmaD)), ("sigma_s", .number(m.sigmaS)),
                            ("sigma_e", .number(m.sigmaE)), ("class_lengths", .numbers(m.classLengthScales)),
                            ("examples", .integer(m.examples)), ("classes", .integer(m.classes)), ("dimension", .integer(m.dimension)),
                            ("hessian", .string(m.hessian.rawValue)), ("first_seed", .string(String(m.seed)))])
        }
        let rows = c.statistics.map { row -> JSON in
            var pairs: [(String, JSON)] = [("key", .string(row.key)), ("statistic", .string(row.label)),
                                           ("source", .number(row.observed)), ("source_standard_error", .number(row.observedStandardError))]
            if let note = row.note { pairs.append(("note", .string(note))) }
            pairs += row.models.map { m in
                (m.kind.rawValue, JSON.object([("mean", .number(m.agreement.modelMean)), ("sd", .number(m.agreement.modelSpread)),
                                               ("values", .numbers(m.agreement.modelValues)), ("half_width", .number(m.agreement.halfWidth)),
                                               ("verdict", .string(row.note == nil ? m.agreement.verdict.rawValue : "n/a"))]))
            }
            return .object(pairs)
        }
        let s = c.source.source
        return .object([("source", .string(sourceName)), ("examples", .integer(s.examples)), ("classes", .integer(s.classes)),
                        ("seeds", .integer(c.seeds)), ("top_k", .integer(c.topK)), ("level", .number(c.statistics.first?.models.first?.agreement.level ?? Agreement.defaultLevel)),
                        ("calibrations", .array(calibrations)), ("statistics", .array(rows))])
    }

    /// compare.md, compare.json and the spectra (`network_ggn_*.npy` for the source, `<model>_ggn_*.npy` for each model's first seed).
    public static func files(_ c: ModelComparison, sourceName: String) -> [(String, Data)] {
        var files: [(String, Data)] = [("compare.md", Data(markdown(c, sourceName: sourceName).utf8)),
                                       ("compare.json", json(c, sourceName: sourceName).data)]
        files += GramReport.spectrumFiles(c.source, prefix: "network_ggn")
        for kind in ModelKind.allCases {
            if let run = c.firstRuns[kind], let g = run.gram { files += GramReport.spectrumFiles(g, prefix: "\(kind.rawValue)_ggn") }
        }
        return files
    }

    /// The columns `compare --run` streams after `step`.
    public static func rowHeader(kinds: [ModelKind] = ModelKind.allCases) -> [String] {
        var header = ["sigma_z", "accuracy", "sigma_c", "sigma_d", "sigma_s", "sigma_e", "paper_sigma_c", "paper_sigma_e"]
        for row in ComparedStatistics.rows {
            header += ["network_\(row.key)", "network_\(row.key)_standard_error"]
            for kind in kinds { header += ["\(kind.rawValue)_\(row.key)", "\(kind.rawValue)_\(row.key)_sd", "\(kind.rawValue)_\(row.key)_verdict"] }
        }
        return header
    }

    public static func row(_ c: ModelComparison) -> [String] {
        let g = c.source, m = g.moments
        var fields = [g.logitScale, g.accuracy, m.sigmaC, m.sigmaD, m.sigmaS, m.sigmaE, m.paperSigmaC, m.paperSigmaE].map(formatNumber)
        for row in c.statistics {
            fields += [formatNumber(row.observed), formatNumber(row.observedStandardError)]
            for model in row.models {
                fields += [formatNumber(model.agreement.modelMean), formatNumber(model.agreement.modelSpread),
                           row.note == nil ? model.agreement.verdict.rawValue : "n/a"]
            }
        }
        return fields
    }
}
