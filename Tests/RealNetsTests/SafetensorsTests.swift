import Foundation
import RealNets
import XCTest

/// Safetensors checkpoints: round trips, the header layout, F32 files from elsewhere, and every error.
final class SafetensorsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func mlp() throws -> Architecture { try Architecture.mlp(widths: [6, 5, 3], activation: .tanh) }
    func cnn() throws -> Architecture {
        try Architecture.cnn(inputChannels: 1, side: 6, channels: [2, 3], hidden: 4, classes: 3, activation: .relu)
    }

    /// A safetensors file from a header object and raw data bytes, padded like ours.
    func file(_ header: [String: Any], data: [UInt8], name: String = "hand.safetensors") throws -> URL {
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        return try raw(headerLength: UInt64(json.count), rest: [UInt8](json) + data, name: name)
    }

    /// A file with an arbitrary declared header length followed by arbitrary bytes.
    func raw(headerLength: UInt64, rest: [UInt8], name: String = "raw.safetensors") throws -> URL {
        var bytes = withUnsafeBytes(of: headerLength.littleEndian) { [UInt8]($0) }
        bytes += rest
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func f32Bytes(_ xs: [Float]) -> [UInt8] { xs.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { [UInt8]($0) } } }
    func f64Bytes(_ xs: [Double]) -> [UInt8] { xs.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { [UInt8]($0) } } }

    /// The message of the error `body` throws, failing if it throws none or another kind.
    func message(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch let NetworkError.invalid(m) {
            XCTAssertFalse(m.contains("\n"), "message is not one line: \(m)", file: file, line: line)
            return m
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return ""
        }
    }

    func testRoundTripIsBitIdentical() throws {
        for (name, arch) in [("mlp", try mlp()), ("cnn", try cnn())] {
            var net = Network(architecture: arch, seed: 5, scale: 1.3)
            // Values whose bits are easy to lose: a subnormal, negative zero, the extremes.
            net.parameters[0] = .leastNonzeroMagnitude
            net.parameters[1] = -0.0
            net.parameters[2] = .greatestFiniteMagnitude
            net.parameters[3] = 1 / 3
            let url = directory.appendingPathComponent("\(name).safetensors")
            let extra = ["step": "1200", "loss": "0.03125", "accuracy": "0.98"]
            try Checkpoint.write(net, metadata: extra, to: url)
            let (back, metadata) = try Checkpoint.read(url)
            XCTAssertEqual(back.architecture, arch, name)
            XCTAssertEqual(back.parameters.map(\.bitPattern), net.parameters.map(\.bitPattern), name)
            XCTAssertEqual(metadata, arch.spec.merging(extra) { a, _ in a }, name)
            // With the architecture given, the same.
            let (again, _) = try Checkpoint.read(url, architecture: arch)
            XCTAssertEqual(again.parameters.map(\.bitPattern), net.parameters.map(\.bitPattern), name)
            // Overwriting an existing checkpoint works and leaves no temporary files.
            try Checkpoint.write(back, metadata: ["step": "2400"], to: url)
            XCTAssertEqual(try Checkpoint.read(url).metadata["step"], "2400")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("partial") }
            XCTAssertEqual(left, [], name)
        }
    }

    func testHeaderLayout() throws {
        for arch in [try mlp(), try cnn()] {
            let net = Network(architecture: arch, seed: 2)
            let url = directory.appendingPathComponent("layout.safetensors")
            try Checkpoint.write(net, metadata: ["step": "7"], to: url)
            let bytes = [UInt8](try Data(contentsOf: url))
            let n = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            XCTAssertEqual((8 + Int(n)) % 8, 0, "data section is 8-aligned")
            XCTAssertEqual(bytes.count, 8 + Int(n) + 8 * arch.parameterCount)
            let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + Int(n))])) as? [String: Any])
            XCTAssertEqual(header["__metadata__"] as? [String: String], arch.spec.merging(["step": "7"]) { a, _ in a })
            XCTAssertEqual(header.count, arch.parameterLayout.count + 1)
            var next = 0
            for (name, shape, offset) in arch.parameterLayout {
                let entry = try XCTUnwrap(header[name] as? [String: Any], name)
                XCTAssertEqual(entry["dtype"] as? String, "F64")
                XCTAssertEqual(entry["shape"] as? [Int], shape, name)
                let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
                XCTAssertEqual(offsets, [next, next + 8 * shape.reduce(1, *)], "\(name) contiguous")
                XCTAssertEqual(offsets[0], 8 * offset)
                next = offsets[1]
            }
            XCTAssertEqual(next, 8 * arch.parameterCount)
        }
        // The PyTorch shapes themselves.
        let shapes = Dictionary(uniqueKeysWithValues: try cnn().parameterLayout.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["conv1.weight"], [2, 1, 3, 3])
        XCTAssertEqual(shapes["conv2.weight"], [3, 2, 3, 3])
        XCTAssertEqual(shapes["fc1.weight"], [4, 3])
        XCTAssertEqual(shapes["fc2.bias"], [3])
    }

    /// A file as `safetensors.torch.save_file` would write it: F32, no spec metadata, tensors in any order.
    func testFloat32FileFromElsewhere() throws {
        let arch = try mlp()
        let reference = Network(architecture: arch, seed: 9)
        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        var data: [UInt8] = []
        for (name, shape, offset) in arch.parameterLayout.reversed() {
            let count = shape.reduce(1, *)
            let values = reference.parameters[offset..<(offset + count)].map(Float.init)
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [data.count, data.count + 4 * count]]
            data += f32Bytes(values)
        }
        let url = try file(header, data: data)
        let (net, metadata) = try Checkpoint.read(url, architecture: arch)
        XCTAssertEqual(metadata, ["format": "pt"])
        XCTAssertEqual(net.parameters, reference.parameters.map { Double(Float($0)) })
        // Without the architecture it cannot be rebuilt: the message says to pass the flags.
        XCTAssertTrue(message { try Checkpoint.read(url) }.contains("pass the architecture flags"))
    }

    func testFileErrors() throws {
        let missing = directory.appendingPathComponent("nope.safetensors")
        XCTAssertTrue(message { try Checkpoint.read(missing) }.contains("does not exist"))

        let short = directory.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: short)
        XCTAssertTrue(message { try Checkpoint.read(short) }.contains("too short"))

        let truncated = try raw(headerLength: 1000, rest: Array("{}".utf8))
        XCTAssertTrue(message { try Checkpoint.read(truncated) }.contains("1000-byte header"))

        let huge = try raw(headerLength: .max, rest: Array("{}".utf8), name: "huge.safetensors")
        XCTAssertTrue(message { try Checkpoint.read(huge) }.contains("truncated"))

        let notJSON = try raw(headerLength: 8, rest: Array("not json".utf8), name: "bad.safetensors")
        XCTAssertTrue(message { try Checkpoint.read(notJSON) }.contains("not a JSON object"))

        let unwritable = directory.appendingPathComponent("no/such/dir/x.safetensors")
        XCTAssertTrue(message { try Checkpoint.write(Network(architecture: try self.mlp(), seed: 1), metadata: [:], to: unwritable) }
            .contains("cannot write checkpoint"))
    }

    func testTensorErrors() throws {
        let arch = try mlp()
        let data = f64Bytes([1, 2, 3])

        // Byte range beyond the data section.
        let outside = try file(["fc2.bias": ["dtype": "F64", "shape": [3], "data_offsets": [8, 32]]], data: data)
        XCTAssertTrue(message { try Checkpoint.read(outside, architecture: arch) }.contains("outside the 24-byte data section"))

        // Size that does not match the shape.
        let wrongSize = try file(["fc2.bias": ["dtype": "F64", "shape": [4], "data_offsets": [0, 24]]], data: data)
        XCTAssertTrue(message { try Checkpoint.read(wrongSize, architecture: arch) }.contains("needs 32"))

        // Unsupported dtype.
        let half = try file(["fc2.bias": ["dtype": "BF16", "shape": [3], "data_offsets": [0, 6]]], data: data)
        XCTAssertTrue(message { try Checkpoint.read(half, architecture: arch) }.contains("dtype BF16"))

        // A full, valid MLP checkpoint to break one tensor at a time.
        let net = Network(architecture: arch, seed: 4)
        func tensors(_ edit: (inout [(String, [Int], [Double])]) -> Void) throws -> URL {
            var list = arch.parameterLayout.map { ($0.name, $0.shape, Array(net.parameters[$0.offset..<($0.offset + $0.shape.reduce(1, *))])) }
            edit(&list)
            var header: [String: Any] = [:]
            var bytes: [UInt8] = []
            for (name, shape, values) in list {
                header[name] = ["dtype": "F64", "shape": shape, "data_offsets": [bytes.count, bytes.count + 8 * values.count]]
                bytes += f64Bytes(values)
            }
            return try file(header, data: bytes, name: "edited.safetensors")
        }
        XCTAssertNoThrow(try Checkpoint.read(try tensors { _ in }, architecture: arch))
        // Messages name the file (the path as given).
        let edited = directory.appendingPathComponent("edited.safetensors").path
        XCTAssertEqual(message { try Checkpoint.read(try tensors { $0.removeLast() }, architecture: arch) },
                       "checkpoint \(edited) lacks tensor fc2.bias that the architecture needs; use the flags it was trained with")
        XCTAssertEqual(message { try Checkpoint.read(try tensors { $0.append(("fc3.bias", [1], [0])) }, architecture: arch) },
                       "checkpoint \(edited) has tensor fc3.bias that the architecture does not; use the flags it was trained with")
        XCTAssertEqual(message { try Checkpoint.read(try tensors { $0[0] = ("fc1.weight", [6, 5], Array($0[0].2)) }, architecture: arch) },
                       "checkpoint \(edited) tensor fc1.weight has shape [6, 5] but the architecture needs [5, 6]; use the flags it was trained with")

        // A checkpoint of one architecture read as another.
        let wide = directory.appendingPathComponent("wide.safetensors")
        try Checkpoint.write(Network(architecture: try Architecture.mlp(widths: [6, 8, 3], activation: .tanh), seed: 1), metadata: [:], to: wide)
        XCTAssertEqual(message { try Checkpoint.read(wide, architecture: arch) },
                       "checkpoint \(wide.path) tensor fc1.weight has shape [8, 6] but the architecture needs [5, 6]; use the flags it was trained with")
    }
}
