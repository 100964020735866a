import Foundation
import Linalg
import RealNets
import XCTest

final class DataTests: XCTestCase {
    /// fixtures/fashion-mnist-small: first 30 examples of each class of Fashion-MNIST t10k.
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/fashion-mnist-small")

    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("DataTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temp)
    }

    // MARK: helpers

    func bigEndian(_ values: [UInt32]) -> Data {
        Data(values.flatMap { v in [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] })
    }

    /// Writes an uncompressed IDX pair of n images of 2×3 pixels (pixel k of image j = 10j + k) and labels.
    func writeIDX(images n: Int, labels: [UInt8], imagesMagic: UInt32 = 0x803, dropImageBytes: Int = 0) throws -> (URL, URL) {
        var image = bigEndian([imagesMagic, UInt32(n), 2, 3])
        for j in 0..<n { for k in 0..<6 { image.append(UInt8(10 * j + k)) } }
        image = image.dropLast(dropImageBytes)
        var label = bigEndian([0x801, UInt32(labels.count)])
        label.append(contentsOf: labels)
        let (i, l) = (temp.appendingPathComponent("images-idx3-ubyte"), temp.appendingPathComponent("labels-idx1-ubyte"))
        try image.write(to: i)
        try label.write(to: l)
        return (i, l)
    }

    func message(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            XCTAssertTrue(error is DataError, "unexpected error type \(error)")
            return "\(error)"
        }
    }

    /// A 12-example, 3-class set: example j has label `labels[j]` and single feature j.
    func toyDataset() -> Dataset {
        let labels = [2, 0, 1, 0, 2, 2, 1, 0, 1, 2, 0, 1]
        return Dataset(inputs: Matrix(rows: 1, cols: labels.count, storage: labels.indices.map(Double.init)),
                       labels: labels, classes: 3)
    }

    // MARK: real fixture

    func testFixtureIsFirstThirtyPerClassOfFashionMNISTTest() throws {
        let small = try IDX.load(folder: Self.fixture, split: .test)
        XCTAssertEqual(small.count, 300)
        XCTAssertEqual(small.features, 784)
        XCTAssertEqual(small.classes, 10)
        XCTAssertEqual(small.imageShape, ImageShape(channels: 1, height: 28, width: 28))
        XCTAssertEqual(small.classCounts, [Int](repeating: 30, count: 10))
        XCTAssertGreaterThanOrEqual(small.inputs.storage.min()!, 0)
        XCTAssertLessThanOrEqual(small.inputs.storage.max()!, 1)
        XCTAssertEqual(small.inputs.storage.max()!, 1)  // some pixel is saturated at 255
        XCTAssertEqual(try small.balanced(perClass: 30), small)
        // Fashion-MNIST t10k starts with an ankle boot (9), then a pullover (2).
        XCTAssertEqual(Array(small.labels.prefix(2)), [9, 2])

        let full = IDX.debianFashionMNIST
        if FileManager.default.fileExists(atPath: full.appendingPathComponent("t10k-images-idx3-ubyte.gz").path) {
            let test = try IDX.load(folder: full, split: .test)
            XCTAssertEqual(test.count, 10_000)
            XCTAssertEqual(test.inputs.column(0), small.inputs.column(0))
            XCTAssertEqual(test.labels[0], small.labels[0])
            XCTAssertEqual(try test.balanced(perClass: 30), small)
        }
    }

    /// Converting only the first n of each label gives what converting all and then taking the
    /// class subset and the balanced subset gives, and a short class is refused the same way.
    func testFirstPerClassLoadsWhatBalancedKeeps() throws {
        let all = try IDX.load(folder: Self.fixture, split: .test)
        for n in [1, 7, 30] {
            let some = try IDX.load(folder: Self.fixture, split: .test, firstPerClass: n)
            XCTAssertEqual(some.count, 10 * n)
            XCTAssertEqual(try some.balanced(perClass: n), try all.balanced(perClass: n))
            XCTAssertEqual(try some.subset(classes: [4, 1]).balanced(perClass: n), try all.subset(classes: [4, 1]).balanced(perClass: n))
        }
        let over = try IDX.load(folder: Self.fixture, split: .test, firstPerClass: 31)
        XCTAssertEqual(over, all)
        XCTAssertEqual(message { try over.balanced(perClass: 31) }, message { try all.balanced(perClass: 31) })
        XCTAssertNotNil(message { try over.balanced(perClass: 31) })
    }

    func testGzipInflatesFixtureAndRejectsDamagedStreams() throws {
        let gz = try Data(contentsOf: Self.fixture.appendingPathComponent("t10k-images-idx3-ubyte.gz"))
        XCTAssertTrue(Gzip.isGzip(gz))
        XCTAssertEqual(try Gzip.decompress(gz).count, 16 + 300 * 784)
        // Two concatenated members inflate to both payloads.
        XCTAssertEqual(try Gzip.decompress(gz + gz).count, 2 * (16 + 300 * 784))

        let truncated = gz.prefix(gz.count / 2)
        XCTAssertTrue(message { try Gzip.decompress(truncated) }?.contains("truncated") ?? false)
        XCTAssertNotNil(message { try Gzip.decompress(gz.prefix(gz.count - 4)) })  // missing part of the trailer
        var corrupt = gz
        for k in 200..<400 { corrupt[k] ^= 0x5A }
        XCTAssertTrue(message { try Gzip.decompress(corrupt) }?.contains("corrupt") ?? false)
        XCTAssertNotNil(message { try Gzip.decompress(Data()) })

        // Through the IDX reader, the message names the file.
        let images = temp.appendingPathComponent("t10k-images-idx3-ubyte.gz")
        try truncated.write(to: images)
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("t10k-labels-idx1-ubyte.gz"),
                                         to: temp.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let m = message { try IDX.load(folder: self.temp, split: .test) }
        XCTAssertTrue(m?.contains(images.path) ?? false, m ?? "no error")
        XCTAssertTrue(m?.contains("truncated") ?? false, m ?? "no error")
    }

    // MARK: IDX errors

    func testIDXReadsUncompressedFiles() throws {
        let (i, l) = try writeIDX(images: 3, labels: [4, 0, 9])
        let d = try IDX.read(images: i, labels: l)
        XCTAssertEqual(d.labels, [4, 0, 9])
        XCTAssertEqual(d.imageShape, ImageShape(channels: 1, height: 2, width: 3))
        XCTAssertEqual(d.inputs.rows, 6)
        XCTAssertEqual(d.inputs[5, 2], 25.0 / 255)  // pixel (row 1, col 2) of image 2, row-major
    }

    func testIDXErrorsSayWhatIsWrong() throws {
        let missing = message { try IDX.load(folder: self.temp, split: .train) }
        XCTAssertTrue(missing?.contains("train-images-idx3-ubyte") ?? false, missing ?? "no error")
        XCTAssertTrue(missing?.contains("apt-get install dataset-fashion-mnist") ?? false)
        let noFolder = message { try IDX.load(folder: self.temp.appendingPathComponent("nope"), split: .test) }
        XCTAssertTrue(noFolder?.contains("not found") ?? false, noFolder ?? "no error")

        var (i, l) = try writeIDX(images: 3, labels: [1, 2, 3], imagesMagic: 0x0000_0804)
        let magic = message { try IDX.read(images: i, labels: l) }
        XCTAssertTrue(magic?.contains("magic number 0x00000804") ?? false, magic ?? "no error")
        let swapped = message { try IDX.read(images: l, labels: i) }
        XCTAssertTrue(swapped?.contains("swapped") ?? false, swapped ?? "no error")

        (i, l) = try writeIDX(images: 3, labels: [1, 2, 3], dropImageBytes: 5)
        let short = message { try IDX.read(images: i, labels: l) }
        XCTAssertTrue(short?.contains("truncated") ?? false, short ?? "no error")
        XCTAssertTrue(short?.contains("3 × 2 × 3 = 18 bytes") ?? false, short ?? "no error")

        (i, l) = try writeIDX(images: 3, labels: [1, 2])
        let mismatch = message { try IDX.read(images: i, labels: l) }
        XCTAssertTrue(mismatch?.contains("3 images") ?? false, mismatch ?? "no error")
        XCTAssertTrue(mismatch?.contains("2 labels") ?? false, mismatch ?? "no error")

        (i, l) = try writeIDX(images: 3, labels: [1, 10, 3])
        let label = message { try IDX.read(images: i, labels: l) }
        XCTAssertTrue(label?.contains("label 10 of example 1") ?? false, label ?? "no error")
    }

    // MARK: Dataset semantics

    func testBalancedKeepsFirstPerClassInOriginalOrder() throws {
        let d = toyDataset()
        let b = try d.balanced(perClass: 2)
        XCTAssertEqual(b.inputs.storage, [0, 1, 2, 3, 4, 6])
        XCTAssertEqual(b.labels, [2, 0, 1, 0, 2, 1])
        XCTAssertEqual(b.classCounts, [2, 2, 2])
        let tooMany = message { try d.balanced(perClass: 5) }
        XCTAssertTrue(tooMany?.contains("only 4 examples") ?? false, tooMany ?? "no error")
        XCTAssertNotNil(message { try d.balanced(perClass: 0) })
    }

    func testSubsetRelabelsInGivenOrder() throws {
        let d = toyDataset()
        let s = try d.subset(classes: [2, 0])
        XCTAssertEqual(s.classes, 2)
        XCTAssertEqual(s.inputs.storage, [0, 1, 3, 4, 5, 7, 9, 10])
        XCTAssertEqual(s.labels, [0, 1, 1, 0, 0, 1, 0, 1])
        XCTAssertNotNil(message { try d.subset(classes: [0, 0]) })
        XCTAssertNotNil(message { try d.subset(classes: [3]) })
        XCTAssertNotNil(message { try d.subset(classes: []) })

        let (x, y) = d.batch([5, 1, 5])
        XCTAssertEqual(x.storage, [5, 1, 5])
        XCTAssertEqual(y, [2, 0, 2])
        XCTAssertEqual(d.count, 12)
    }

    // MARK: CIFAR-10

    func testCIFARReadsChannelMajorRecords() throws {
        // Record r: label 7 − r; pixel (c, h, w) = (r + 3c + 5h + 7w) mod 256.
        var data = Data()
        for r in 0..<2 {
            data.append(UInt8(7 - r))
            for c in 0..<3 { for h in 0..<32 { for w in 0..<32 { data.append(UInt8((r + 3 * c + 5 * h + 7 * w) % 256)) } } }
        }
        XCTAssertEqual(data.count, 2 * CIFAR10.recordSize)
        try data.write(to: temp.appendingPathComponent("test_batch.bin"))
        let d = try CIFAR10.load(folder: temp, split: .test)
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(d.labels, [7, 6])
        XCTAssertEqual(d.imageShape, ImageShape(channels: 3, height: 32, width: 32))
        // Blue (c = 2) pixel at row 4, column 9 of record 1: feature 2·1024 + 4·32 + 9.
        XCTAssertEqual(d.inputs[2 * 1024 + 4 * 32 + 9, 1], Double((1 + 6 + 20 + 63) % 256) / 255)
        XCTAssertEqual(d.inputs[0, 0], 0)

        let missing = message { try CIFAR10.load(folder: self.temp, split: .train) }
        XCTAssertTrue(missing?.contains("data_batch_1.bin") ?? false, missing ?? "no error")
        XCTAssertNotNil(message { try CIFAR10.load(folder: self.temp.appendingPathComponent("nope"), split: .test) })
        try data.dropLast(10).write(to: temp.appendingPathComponent("test_batch.bin"))
        let short = message { try CIFAR10.load(folder: self.temp, split: .test) }
        XCTAssertTrue(short?.contains("multiple of the 3073-byte") ?? false, short ?? "no error")
    }

    // MARK: Synthetic

    func testSphereIsDeterministicWithNormSqrtD() throws {
        let a = try Synthetic.sphere(examples: 50, dimension: 20, classes: 3, seed: 7)
        XCTAssertEqual(a, try Synthetic.sphere(examples: 50, dimension: 20, classes: 3, seed: 7))
        XCTAssertNotEqual(a.inputs, try Synthetic.sphere(examples: 50, dimension: 20, classes: 3, seed: 8).inputs)
        for j in 0..<a.count {
            let norm = a.inputs.column(j).reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(norm, 20.0.squareRoot(), accuracy: 1e-12)
        }
        XCTAssertTrue(a.labels.allSatisfy { (0..<3).contains($0) })
        XCTAssertEqual(Set(a.labels).count, 3)
        XCTAssertNil(a.imageShape)
        XCTAssertNotNil(message { try Synthetic.sphere(examples: 0, dimension: 20, classes: 3, seed: 7) })
    }

    func testMixtureIsDeterministicAndBalanced() throws {
        let a = try Synthetic.mixture(examples: 400, dimension: 50, classes: 4, separation: 3, seed: 1)
        XCTAssertEqual(a, try Synthetic.mixture(examples: 400, dimension: 50, classes: 4, separation: 3, seed: 1))
        XCTAssertNotEqual(a.inputs, try Synthetic.mixture(examples: 400, dimension: 50, classes: 4, separation: 3, seed: 2).inputs)
        XCTAssertEqual(Array(a.labels.prefix(6)), [0, 1, 2, 3, 0, 1])
        XCTAssertEqual(a.classCounts, [100, 100, 100, 100])
        // Class means estimated from 100 points have norm ≈ separation (±√(d/100) noise).
        for c in 0..<4 {
            var mean = [Double](repeating: 0, count: 50)
            for j in 0..<a.count where a.labels[j] == c { for i in 0..<50 { mean[i] += a.inputs[i, j] / 100 } }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertGreaterThan(norm, 1.5)
            XCTAssertLessThan(norm, 5)
        }
        XCTAssertNotNil(message { try Synthetic.mixture(examples: 10, dimension: 5, classes: 2, separation: -1, seed: 1) })
    }
}
