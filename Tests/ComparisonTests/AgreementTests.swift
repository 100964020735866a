import Comparison
import Foundation
import XCTest

/// The prediction-interval rule: numbers worked by hand.
final class AgreementTests: XCTestCase {
    func testIntervalIsStudentTPrediction() {
        // Five seeds 1…5: mean 3, sd √2.5; t₄(0.995) = 4.604094871; half-width = t·sd·√1.2.
        let values = [1.0, 2, 3, 4, 5]
        let half = 4.604094871 * 2.5.squareRoot() * 1.2.squareRoot()
        let a = Agreement(observed: 3, modelValues: values)
        XCTAssertEqual(a.modelMean, 3)
        XCTAssertEqual(a.modelSpread, 2.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(a.halfWidth, half, accuracy: 1e-8)
        XCTAssertEqual(Agreement(observed: 3 + 0.999 * half, modelValues: values).verdict, .agree)
        XCTAssertEqual(Agreement(observed: 3 - 1.001 * half, modelValues: values).verdict, .differ)
        // The observation's own standard error widens it: σ² = s²(1 + 1/R) + se².
        let withError = Agreement(observed: 3, observedStandardError: 2, modelValues: values)
        XCTAssertEqual(withError.halfWidth, 4.604094871 * (2.5 * 1.2 + 4).squareRoot(), accuracy: 1e-8)
        // Coverage 0.95: t₄(0.975) = 2.776445105.
        XCTAssertEqual(Agreement(observed: 3, modelValues: values, level: 0.95).halfWidth, 2.776445105 * 3.0.squareRoot(), accuracy: 1e-8)
    }

    func testCountsAreJudgedToOneAndDegenerateCasesAreUndetermined() {
        XCTAssertEqual(Agreement(observed: 10, modelValues: [9, 9, 9, 9, 9], resolution: 1).verdict, .agree)
        XCTAssertEqual(Agreement(observed: 11, modelValues: [9, 9, 9, 9, 9], resolution: 1).verdict, .differ)
        XCTAssertEqual(Agreement(observed: 10, modelValues: [9, 9, 9, 9, 9]).verdict, .differ)
        XCTAssertEqual(Agreement(observed: 0.5, modelValues: [0.5, 0.5]).verdict, .agree, "equal by construction")
        XCTAssertEqual(Agreement(observed: .nan, modelValues: [1, 2]).verdict, .undetermined)
        XCTAssertEqual(Agreement(observed: 1, modelValues: [1]).verdict, .undetermined, "one seed has no spread")
        XCTAssertEqual(Agreement(observed: 1, modelValues: [1, .nan]).verdict, .undetermined)
    }
}
