import Foundation
import Linalg

/// The one-dimensional fitting problem of the embedding-principle experiments (Zhang et al. 2021,
/// Figs. 1, 3a, 4: a two-layer tanh network fitting a 1-D target with the mean squared error).
///
/// The paper's target function and sample did not survive in its text, so this set is our own
/// choice, made to show the same phenomenon: the target
/// f*(x) = tanh(2(x + 0.2)) + 0.5·tanh(5(x − 0.5)) is a width-2 tanh network, so narrow networks of
/// width 1 and 2 have distinct best fits (loss ≈ 1.7e-3 and 0) that a wide network trained from a
/// small initialisation visits in turn. Inputs are N points evenly spaced on [−1, 1] (the test split
/// is a 201-point grid of the same interval, for drawing the fitted function).
///
///     let train = try CurveFit.teacher(examples: 20)   // x = −1, −0.895, …, 1; targets f*(x)
public enum CurveFit {
    /// f*(x), the target function.
    public static func target(_ x: Double) -> Double { tanh(2 * (x + 0.2)) + 0.5 * tanh(5 * (x - 0.5)) }

    /// A short statement of the target, for manifests and figure captions.
    public static let formula = "tanh(2(x+0.2)) + 0.5 tanh(5(x-0.5))"

    /// The largest number of points a set may have.
    public static let maximumExamples = 1_000_000

    /// `examples` points evenly spaced on [−1, 1] (both ends included) with their targets f*(x): a
    /// regression set of one input, one output and one nominal class.
    public static func teacher(examples n: Int) throws -> Dataset {
        guard n >= 2 && n <= maximumExamples else {
            throw DataError.invalidArgument("the 1-D fitting set needs 2 to \(maximumExamples) points, not \(n)")
        }
        var x = Matrix(rows: 1, cols: n), t = Matrix(rows: 1, cols: n)
        for j in 0..<n {
            let v = -1 + 2 * Double(j) / Double(n - 1)
            x.storage[j] = v
            t.storage[j] = target(v)
        }
        return Dataset(inputs: x, labels: [Int](repeating: 0, count: n), classes: 1, targets: t)
    }
}
