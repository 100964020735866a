import Foundation

/// `count` points from `low` to `high`, equally spaced in log (both ends included; one point is `low`).
/// The grid of `scale-sweep` (α) and `goldilocks` (r).
public func logSpaced(from low: Double, to high: Double, count n: Int) -> [Double] {
    (0..<n).map { n == 1 ? low : low * pow(high / low, Double($0) / Double(n - 1)) }
}
