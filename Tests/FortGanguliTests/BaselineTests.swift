import FortGanguli
import Foundation
import Landscape
import Linalg
import XCTest

/// The model's outputs at fixed seeds, stored in fixtures/model-baseline/ by the code before the
/// class-conditional extension (σ_d, σ_s). Any later model must reproduce them bit for bit at
/// σ_d = σ_s = 0: the new generators are absent there, so every stream, matrix and floating-point
/// operation is as before. The cases cover both engines, both Hessians, Bartlett and explicit Gram
/// sampling, and unequal class-mean lengths. Values are stored as Swift's shortest round-trip
/// decimal strings ("\(x)"), so reading them back gives the same Double.
///
/// Bit-for-bit identity also needs the same BLAS: OpenBLAS picks kernels by CPU and splits products
/// by thread count, which moves the last bits. The fixture records that environment; where it
/// differs, the values are compared to round-off instead (1e-9 of each field's largest magnitude;
/// 1e-6 absolute for gradient overlaps), and the test says so.
///
/// To rewrite the fixture (only when the model is meant to change):
///     FORTGANGULI_WRITE_BASELINE=fixtures/model-baseline swift test --filter BaselineTests/testWriteBaseline
final class BaselineTests: XCTestCase {
    /// The stored cases: N = 40, C = 5 throughout (m = C + N·C = 205 generators).
    static var cases: [(name: String, config: ModelConfiguration)] {
        func make(_ mode: EngineMode, _ hessian: HessianVariant, dimension: Int, sigmaZ: Double = 15,
                  spread: Double = 0, seed: UInt64 = 3) -> ModelConfiguration {
            var c = ModelConfiguration()
            (c.examples, c.classes, c.dimension, c.sigmaZ, c.hessian, c.mode, c.seed) = (40, 5, dimension, sigmaZ, hessian, mode, seed)
            c.lengthSpread = spread
            return c
        }
        return [
            ("dense-paper", make(.dense, .paper, dimension: 120)),
            ("dense-full", make(.dense, .full, dimension: 120, sigmaZ: 3)),
            ("gram-bartlett-paper", make(.gram, .paper, dimension: 1_000_000)),
            ("gram-bartlett-full", make(.gram, .full, dimension: 1_000_000, sigmaZ: 3)),
            ("gram-explicit-paper", make(.gram, .paper, dimension: 150, sigmaZ: 3)),
            ("gram-explicit-full", make(.gram, .full, dimension: 150)),
            ("dense-paper-spread", make(.dense, .paper, dimension: 90, sigmaZ: 3, spread: 0.4)),
            ("gram-bartlett-full-spread", make(.gram, .full, dimension: 1_000_000, spread: 0.4, seed: 7)),
        ]
    }

    /// Fields that depend on the bulk-edge/outlier rule. For eq. 10 that rule was redefined after the
    /// fixture was made — the bulk is now the within-class term of Papyan's decomposition of the
    /// model's Gram (`ClassStructure`), the rule every source is counted by, instead of the noise
    /// term (1/N)Σ E^μᵀP^μE^μ — so these fields are not compared for eq. 10 cases; for eq. 16 the
    /// rule is unchanged and they stay exact.
    static let edgeRuleFields: Set<String> = ["bulk_edge", "margin", "outliers"]

    /// Every stored statistic of one measurement, as round-trip strings.
    static func record(_ m: ModelMeasurement) -> [String: [String]] {
        func s(_ xs: [Double]) -> [String] { xs.map { "\($0)" } }
        return [
            "eigenvalues": s(m.eigenvalues),
            "zero_eigenvalues": ["\(m.zeroEigenvalues)"],
            "gradient_cos2": s(m.gradientCosineSquared),
            "q_slsc": s([m.clustering.qSLSC]), "q_sl": s([m.clustering.qSL]), "q_dl": s([m.clustering.qDL]),
            "trace": s([m.traceOverNorm.trace]), "spectral_norm": s([m.traceOverNorm.spectralNorm]),
            "hyperplane_trace_over_norm": s([m.hyperplaneTraceOverNorm]),
            "gradient_power_top_k": s([m.gradientPowerTopK]),
            "bulk_edge": s([m.outliers.bulkEdge]), "margin": s([m.outliers.margin]),
            "outliers": ["\(m.outliers.outliers)"],
            "mean_max_probability": s([m.probabilities.meanMaxProbability]),
        ]
    }

    struct Stored: Codable {
        /// What produced the values (for readers; not used by the comparison).
        var configuration: String
        /// The BLAS build, CPU count and thread settings the values were computed with.
        var environment: String
        var values: [String: [String]]
    }

    /// What decides the last bits of BLAS results: the library and its build string (CPU kernel),
    /// the number of cores and any thread-count override.
    static var environment: String {
        let env = ProcessInfo.processInfo.environment
        let threads = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"].map { "\($0)=\(env[$0] ?? "")" }.joined(separator: " ")
        return "\(BLAS.provider.library) | \(BLAS.provider.config) | cores \(ProcessInfo.processInfo.activeProcessorCount) | \(threads)"
    }

    static var folder: URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                return dir.appendingPathComponent("fixtures/model-baseline")
            }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "fixtures/model-baseline")
    }

    func testWriteBaseline() throws {
        guard let path = ProcessInfo.processInfo.environment["FORTGANGULI_WRITE_BASELINE"] else {
            throw XCTSkip("set FORTGANGULI_WRITE_BASELINE=<folder> to rewrite the fixture")
        }
        let dir = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (name, config) in Self.cases {
            let m = try ModelSimulation.run(config)
            let stored = Stored(configuration: "\(config)", environment: Self.environment, values: Self.record(m))
            try encoder.encode(stored).write(to: dir.appendingPathComponent("\(name).json"))
        }
    }

    /// Every stored value is reproduced exactly (==, so bit for bit), field by field; in another
    /// BLAS environment, to round-off.
    func testModelReproducesBaselineExactly() throws {
        for (name, config) in Self.cases {
            let url = Self.folder.appendingPathComponent("\(name).json")
            let stored = try JSONDecoder().decode(Stored.self, from: Data(contentsOf: url))
            let exact = stored.environment == Self.environment
            if !exact && name == Self.cases[0].name {
                print("BaselineTests: BLAS environment differs from the fixture's (\(stored.environment)); comparing to round-off, not bit for bit")
            }
            let now = Self.record(try ModelSimulation.run(config))
            XCTAssertEqual(Set(stored.values.keys), Set(now.keys), name)
            for (field, expected) in stored.values where now[field] != nil {
                if Self.edgeRuleFields.contains(field) && config.hessian == .full { continue }
                let got = now[field]!
                XCTAssertEqual(got.count, expected.count, "\(name) \(field): length")
                let x = got.map { Double($0) ?? .nan }, y = expected.map { Double($0) ?? .nan }
                // Eigenvector overlaps inside the bulk are ill-conditioned (near-degenerate
                // eigenvalues) and move freely across BLAS builds: there only the top 2C, the
                // separated outliers, are compared, to 1e-6; everything else to 1e-9 relative.
                let overlap = field == "gradient_cos2" || field == "gradient_power_top_k"
                let tolerance = exact ? 0 : overlap ? 1e-6 : 1e-9 * (y.map(abs).max() ?? 0)
                let compared = exact || field != "gradient_cos2" ? min(x.count, y.count) : min(x.count, y.count, 2 * config.classes)
                var mismatches = 0
                for i in 0..<compared where exact ? got[i] != expected[i] : !(abs(x[i] - y[i]) <= tolerance) {
                    if mismatches < 3 {
                        XCTFail("\(name) \(field)[\(i)]: \(got[i]) != stored \(expected[i]) (difference \(x[i] - y[i]))")
                    }
                    mismatches += 1
                }
                if mismatches > 3 { XCTFail("\(name) \(field): \(mismatches) values differ in all") }
            }
        }
    }
}
