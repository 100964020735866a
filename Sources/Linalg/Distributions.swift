import CNumerics

/// Quantiles of the distributions the statistics need, from GSL.
public enum Distributions {
    /// The p-quantile of Student's t with `degrees` degrees of freedom (`gsl_cdf_tdist_Pinv`).
    ///
    ///     Distributions.studentTQuantile(0.995, degrees: 4)   // 4.604
    public static func studentTQuantile(_ p: Double, degrees: Double) -> Double {
        precondition(p > 0 && p < 1 && degrees > 0, "need 0 < p < 1 and positive degrees of freedom")
        return gsl_cdf_tdist_Pinv(p, degrees)
    }

    /// The p-quantile of the standard normal (`gsl_cdf_ugaussian_Pinv`).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "need 0 < p < 1")
        return gsl_cdf_ugaussian_Pinv(p)
    }
}
