import Foundation
import Linalg

/// Synthetic classification sets for controlled experiments, deterministic given the seed.
public enum Synthetic {
    /// Points uniform on the sphere of radius √d in R^d (normalised Gaussians, so coordinates are O(1))
    /// with labels uniform in 0..<classes, independent of the points: the random-label task of
    /// Geiger et al.'s jamming study, which can only be fitted by memorisation.
    public static func sphere(examples: Int, dimension: Int, classes: Int, seed: UInt64) throws -> Dataset {
        try check(examples: examples, dimension: dimension, classes: classes)
        let points = RandomStream(seed: seed, stream: 101)
        let labelStream = RandomStream(seed: seed, stream: 102)
        var x = Matrix(rows: dimension, cols: examples)
        var column = [Double](repeating: 0, count: dimension)
        let radius = Double(dimension).squareRoot()
        for j in 0..<examples {
            var norm = 0.0
            while norm == 0 {
                points.fillGaussian(&column)
                norm = column.reduce(0) { $0 + $1 * $1 }.squareRoot()
            }
            for i in 0..<dimension { x.storage[i + j * dimension] = radius * column[i] / norm }
        }
        let labels = (0..<examples).map { _ in labelStream.uniformInt(classes) }
        return Dataset(inputs: x, labels: labels, classes: classes)
    }

    /// A Gaussian mixture: class means drawn once as N(0, separation²/d · I), so each mean has
    /// norm ≈ separation, and points = mean + N(0, I). `separation` is thus in units of the noise
    /// per direction (≈ 0: indistinguishable classes; ≳ 3: nearly separable). Labels are round-robin
    /// (example j has class j mod C), so classes are balanced.
    public static func mixture(examples: Int, dimension: Int, classes: Int, separation: Double, seed: UInt64) throws -> Dataset {
        try check(examples: examples, dimension: dimension, classes: classes)
        guard separation >= 0, separation.isFinite else {
            throw DataError.invalidArgument("mixture separation must be finite and ≥ 0, not \(separation)")
        }
        let meanStream = RandomStream(seed: seed, stream: 201)
        let noiseStream = RandomStream(seed: seed, stream: 202)
        var means = meanStream.gaussianMatrix(rows: dimension, cols: classes)
        let scale = separation / Double(dimension).squareRoot()
        for k in means.storage.indices { means.storage[k] *= scale }
        var x = noiseStream.gaussianMatrix(rows: dimension, cols: examples)
        let labels = (0..<examples).map { $0 % classes }
        for j in 0..<examples {
            for i in 0..<dimension { x.storage[i + j * dimension] += means.storage[i + labels[j] * dimension] }
        }
        return Dataset(inputs: x, labels: labels, classes: classes)
    }

    static func check(examples: Int, dimension: Int, classes: Int) throws {
        guard examples >= 1, dimension >= 1, classes >= 2 else {
            throw DataError.invalidArgument(
                "a synthetic set needs ≥ 1 example, dimension ≥ 1 and ≥ 2 classes (got \(examples), \(dimension), \(classes))")
        }
    }
}
