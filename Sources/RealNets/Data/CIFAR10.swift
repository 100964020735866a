import Foundation
import Linalg

/// Reader for the CIFAR-10 binary version (cifar-10-binary.tar.gz): records of one label byte and
/// a 3×32×32 image, channel-major (R, G, B planes, each row-major); inputs pixel/255.
public enum CIFAR10 {
    /// Bytes per record: 1 label + 3 × 32 × 32 pixels.
    public static let recordSize = 1 + 3 * 32 * 32
    /// Image layout of every example.
    public static let imageShape = ImageShape(channels: 3, height: 32, width: 32)
    /// Class names in label order.
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    static let downloadHint =
        "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and point --data at cifar-10-batches-bin"

    /// File names of a split: data_batch_1…5.bin for train, test_batch.bin for test.
    public static func fileNames(split: DataSplit) -> [String] {
        split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
    }

    /// Reads the train (50 000) or test (10 000) split from a folder holding the .bin files
    /// (or from its `cifar-10-batches-bin` subfolder).
    public static func load(folder: URL, split: DataSplit) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.notFound("CIFAR-10 folder \(folder.path) not found; \(downloadHint)")
        }
        let names = fileNames(split: split)
        var base = folder
        let nested = folder.appendingPathComponent("cifar-10-batches-bin")
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(names[0]).path),
           FileManager.default.fileExists(atPath: nested.appendingPathComponent(names[0]).path) {
            base = nested
        }
        let files = names.map { base.appendingPathComponent($0) }
        if let missing = files.first(where: { !FileManager.default.fileExists(atPath: $0.path) }) {
            throw DataError.notFound("\(missing.path) not found (the \(split.rawValue) split needs \(names.joined(separator: ", "))); \(downloadHint)")
        }
        return try read(files: files)
    }

    /// Reads and concatenates CIFAR-10 binary files in the order given.
    public static func read(files: [URL]) throws -> Dataset {
        var blobs: [Data] = []
        for url in files {
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.notFound("\(url.path) not found; \(downloadHint)") }
            let data = try Gzip.contents(of: url)
            guard !data.isEmpty, data.count % recordSize == 0 else {
                throw DataError.malformed(
                    "\(url.path) is \(data.count) bytes, not a positive multiple of the \(recordSize)-byte CIFAR-10 record; the file is truncated or not CIFAR-10 binary (the Python pickle version is not supported)")
            }
            blobs.append(data)
        }
        guard !blobs.isEmpty else { throw DataError.invalidArgument("no CIFAR-10 files given") }
        let n = blobs.reduce(0) { $0 + $1.count / recordSize }
        let d = recordSize - 1
        let table = (0..<256).map { Double($0) / 255 }
        var x = [Double](repeating: 0, count: n * d)
        var y = [Int](repeating: 0, count: n)
        var j = 0
        for (url, data) in zip(files, blobs) {
            try data.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
                try x.withUnsafeMutableBufferPointer { out in
                    for r in 0..<(p.count / recordSize) {
                        let start = r * recordSize
                        let label = Int(p[start])
                        guard label < 10 else {
                            throw DataError.malformed("\(url.path): record \(r) has label \(label), outside 0…9; this is not CIFAR-10 (CIFAR-100 has two label bytes)")
                        }
                        y[j] = label
                        // Channel-major planes, each row-major: already the (c, h, w) column layout.
                        for i in 0..<d { out[i + j * d] = table[Int(p[start + 1 + i])] }
                        j += 1
                    }
                }
            }
        }
        return Dataset(inputs: Matrix(rows: d, cols: n, storage: x), labels: y, classes: 10, imageShape: imageShape)
    }
}
