import Foundation
import Landscape
import Linalg
import Reports
import XCTest

/// The .npy reader against files NumPy writes (bytes spelled out here), and the --gram folder's round trip and refusals.
final class GramFolderTests: XCTestCase {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fg-gram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A NumPy v1.0 file with an arbitrary header and raw little-endian body.
    func npy(_ header: String, _ body: [UInt8]) -> Data {
        var h = header
        let unpadded = 10 + h.utf8.count + 1
        h += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var d = Data([0x93]) + "NUMPY".data(using: .ascii)! + Data([1, 0, UInt8(h.utf8.count & 0xff), UInt8(h.utf8.count >> 8)])
        d.append(h.data(using: .ascii)!)
        d.append(contentsOf: body)
        return d
    }

    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    func testNPYRoundTripsAndReadsOtherLayouts() throws {
        let values = [1.5, -2, .pi, 1e-300, 4, 5]
        let a = try NPY.decode(NPY.encode(values, shape: [2, 3]))
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.values, values)
        XCTAssertFalse(a.isInteger)
        let i = try NPY.decode(NPY.encode(integers: [3, 0, -7]))
        XCTAssertEqual(i.values, [3, 0, -7])
        XCTAssertTrue(i.isInteger)
        // Fortran order: elements stored column by column.
        let f = try NPY.decode(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", bytes([1.0, 4, 2, 5, 3, 6])))
        XCTAssertEqual(f.values, [1, 2, 3, 4, 5, 6])
        let single = try NPY.decode(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", bytes([Float(0.5), Float(-3)])))
        XCTAssertEqual(single.values, [0.5, -3])
        let small = try NPY.decode(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", [2, 0, 9]))
        XCTAssertEqual(small.values, [2, 0, 9])
        XCTAssertThrowsError(try NPY.decode(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", bytes([1.0]))))
        XCTAssertThrowsError(try NPY.decode(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes([1.0]))))
        XCTAssertThrowsError(try NPY.decode(Data("hello".utf8)))
    }

    func source() throws -> LogitGradientGram {
        let rng = RandomStream(seed: 4)
        let j = rng.gaussianMatrix(rows: 30, cols: 18)   // N = 6, C = 3
        let z = (0..<18).map { _ in rng.gaussian() }
        return try LogitGradientGram(gram: BLAS.gram(j), logits: z, labels: [0, 1, 2, 0, 1, 2], classes: 3, parameters: 30)
    }

    func write(_ files: [(String, Data)], to folder: URL) throws {
        for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
    }

    func testGramFolderRoundTripIsExact() throws {
        let folder = try temporaryFolder()
        let s = try source()
        try write(GramFolder.files(s, name: "toy"), to: folder)
        let (back, name) = try GramFolder.read(folder)
        XCTAssertEqual(name, "toy")
        XCTAssertEqual(back.gram, s.gram)
        XCTAssertEqual(back.logits, s.logits)
        XCTAssertEqual(back.labels, s.labels)
        XCTAssertEqual(back.parameters, 30)
    }

    func testGramFolderRefusesBadFilesWithOneLine() throws {
        let s = try source()
        func refusal(_ edit: (inout [(String, Data)]) -> Void) throws -> String {
            let folder = try temporaryFolder()
            var files = GramFolder.files(s, name: "toy")
            edit(&files)
            try write(files, to: folder)
            do { _ = try GramFolder.read(folder); return "accepted" } catch { return String(describing: error) }
        }
        func replace(_ files: inout [(String, Data)], _ name: String, _ data: Data?) {
            files.removeAll { $0.0 == name }
            if let data { files.append((name, data)) }
        }
        let cases: [(String, (inout [(String, Data)]) -> Void)] = [
            ("gram.npy has shape [18, 17]", { replace(&$0, "gram.npy", NPY.encode([Double](repeating: 0, count: 306), shape: [18, 17])) }),
            ("labels.npy has shape [5]", { replace(&$0, "labels.npy", NPY.encode(integers: [0, 1, 2, 0, 1])) }),
            ("labels.npy holds floating-point", { replace(&$0, "labels.npy", NPY.encode([0, 1, 2, 0, 1, 2])) }),
            ("outside 0…2", { replace(&$0, "labels.npy", NPY.encode(integers: [0, 1, 3, 0, 1, 2])) }),
            ("class 2 has 1 example", { replace(&$0, "labels.npy", NPY.encode(integers: [0, 1, 2, 0, 1, 1])) }),
            ("not symmetric", {
                var k = s.gram
                k[0, 1] += 1
                replace(&$0, "gram.npy", NPY.encode(k.storage, shape: [18, 18]))
            }),
            ("non-finite", {
                var k = s.gram
                k[3, 3] = .infinity
                replace(&$0, "gram.npy", NPY.encode(k.storage, shape: [18, 18]))
            }),
            ("logits.npy is missing", { replace(&$0, "logits.npy", nil) }),
            ("not a .npy file", { replace(&$0, "gram.npy", Data("garbage".utf8)) }),
            ("\"parameters\" must be a positive integer", { replace(&$0, "meta.json", Data("{\"parameters\": -3}".utf8)) }),
        ]
        for (expected, edit) in cases {
            let message = try refusal(edit)
            XCTAssertTrue(message.contains(expected), "expected “\(expected)”, got “\(message)”")
            XCTAssertFalse(message.contains("\n"), "one line: \(message)")
        }
    }
}
