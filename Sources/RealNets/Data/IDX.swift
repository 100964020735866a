import Foundation
import Linalg

/// Reader for the IDX format of MNIST and Fashion-MNIST (unsigned-byte images and labels,
/// big-endian header, optionally gzipped), giving inputs pixel/255 with one column per image.
public enum IDX {
    /// Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files.
    public static let debianFashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// Magic number of an images file: unsigned bytes (0x08) in 3 dimensions [N, rows, cols].
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic number of a labels file: unsigned bytes (0x08) in 1 dimension [N].
    public static let labelsMagic: UInt32 = 0x0000_0801

    static let installHint =
        "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or point --data at a folder of IDX files"

    /// Reads an images file and its labels file (each plain or gzipped) into a dataset with
    /// image shape (1, rows, cols); labels must lie in 0..<classes. With `firstPerClass` n, only the
    /// first n examples of each label are kept (in file order; all of a label with fewer), so a
    /// command that measures a balanced subset (`Dataset.balanced`, after any class subset) converts
    /// a few hundred images to inputs instead of all 60 000 (376 MB of doubles). Both files are still
    /// read and checked whole.
    public static func read(images: URL, labels: URL, classes: Int = 10, firstPerClass: Int? = nil) throws -> Dataset {
        let imageBytes = try contents(of: images)
        let labelBytes = try contents(of: labels)
        let (imageDims, pixels) = try parse(imageBytes, magic: imagesMagic, path: images.path, what: "images")
        let (labelDims, labelData) = try parse(labelBytes, magic: labelsMagic, path: labels.path, what: "labels")
        let (n, rows, cols) = (imageDims[0], imageDims[1], imageDims[2])
        guard n == labelDims[0] else {
            throw DataError.malformed(
                "\(images.path) holds \(n) images but \(labels.path) holds \(labelDims[0]) labels; use an images file and the labels file that belongs to it")
        }
        guard n > 0, rows > 0, cols > 0 else { throw DataError.malformed("\(images.path) holds no images (header: \(n) × \(rows) × \(cols))") }

        var y = [Int](repeating: 0, count: n)
        try labelData.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            for j in 0..<n {
                let label = Int(p[j])
                guard label < classes else {
                    throw DataError.malformed(
                        "\(labels.path): label \(label) of example \(j) is outside 0…\(classes - 1); this is not a \(classes)-class labels file")
                }
                y[j] = label
            }
        }
        // IDX stores each image row-major, image after image: exactly column-major features × N.
        let shape = ImageShape(channels: 1, height: rows, width: cols)
        guard let first = firstPerClass else {
            return Dataset(inputs: Matrix(rows: rows * cols, cols: n, storage: scaledPixels(pixels)), labels: y, classes: classes,
                           imageShape: shape)
        }
        let kept = Dataset.firstIndices(of: y, classes: classes, perClass: first)
        let size = rows * cols
        var storage: [Double] = []
        storage.reserveCapacity(size * kept.count)
        for j in kept { storage += scaledPixels(pixels[(pixels.startIndex + j * size)..<(pixels.startIndex + (j + 1) * size)]) }
        return Dataset(inputs: Matrix(rows: size, cols: kept.count, storage: storage), labels: kept.map { y[$0] }, classes: classes,
                       imageShape: shape)
    }

    /// Reads the train (`train-*`, 60 000 examples for Fashion-MNIST) or test (`t10k-*`, 10 000)
    /// split from a folder holding `…-images-idx3-ubyte` and `…-labels-idx1-ubyte`, each optionally `.gz`.
    /// `firstPerClass` as in `read`.
    public static func load(folder: URL, split: DataSplit, classes: Int = 10, firstPerClass: Int? = nil) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.notFound("IDX folder \(folder.path) not found; \(installHint)")
        }
        let prefix = split == .train ? "train" : "t10k"
        func find(_ name: String) throws -> URL {
            for candidate in [name, name + ".gz"] {
                let url = folder.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            throw DataError.notFound("\(folder.appendingPathComponent(name).path)(.gz) not found; \(installHint)")
        }
        return try read(images: find("\(prefix)-images-idx3-ubyte"), labels: find("\(prefix)-labels-idx1-ubyte"),
                        classes: classes, firstPerClass: firstPerClass)
    }

    /// File contents (inflated if gzipped), with the install hint when the file is missing.
    static func contents(of url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.notFound("\(url.path) not found; \(installHint)") }
        return try Gzip.contents(of: url)
    }

    /// Checks the magic number and that the payload is exactly as long as the header says;
    /// returns the dimensions and the payload bytes.
    static func parse(_ data: Data, magic: UInt32, path: String, what: String) throws -> ([Int], Data) {
        let bytes = [UInt8](data.prefix(4))
        guard bytes.count == 4 else {
            throw DataError.malformed("\(path) is \(data.count) bytes, too short for an IDX header; the file is incomplete, re-download it")
        }
        let found = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard found == magic else {
            var message = "\(path) has magic number 0x\(hex(found)), not 0x\(hex(magic)) (IDX \(what), unsigned bytes)"
            if found == imagesMagic || found == labelsMagic {
                message += "; it looks like an IDX \(found == imagesMagic ? "images" : "labels") file, so images and labels may be swapped"
            } else {
                message += "; this is not an IDX \(what) file"
            }
            throw DataError.malformed(message)
        }
        let ndim = Int(magic & 0xFF)
        let headerSize = 4 + 4 * ndim
        guard data.count >= headerSize else {
            throw DataError.malformed("\(path) is truncated: \(data.count) bytes, shorter than its \(headerSize)-byte header; re-download it")
        }
        let header = [UInt8](data.prefix(headerSize))
        let dims = (0..<ndim).map { d in (0..<4).reduce(0) { $0 << 8 | Int(header[4 + 4 * d + $1]) } }
        var expected = 1
        for d in dims {
            let (product, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else { throw DataError.malformed("\(path) has an impossible header (dimensions \(dims))") }
            expected = product
        }
        let available = data.count - headerSize
        let shape = dims.map(String.init).joined(separator: " × ")
        guard available >= expected else {
            throw DataError.malformed(
                "\(path) is truncated: its header declares \(shape) = \(expected) bytes of \(what) but only \(available) follow; the file is incomplete, re-download it")
        }
        guard available == expected else {
            throw DataError.malformed(
                "\(path) has \(available - expected) bytes beyond the \(shape) \(what) its header declares; this is not a valid IDX file")
        }
        return (dims, data.subdata(in: (data.startIndex + headerSize)..<data.endIndex))
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Bytes mapped to byte/255 as Double.
    static func scaledPixels(_ data: Data) -> [Double] {
        let table = (0..<256).map { Double($0) / 255 }
        return [Double](unsafeUninitializedCapacity: data.count) { out, initialised in
            data.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
                for k in 0..<p.count { out[k] = table[Int(p[k])] }
            }
            initialised = data.count
        }
    }
}
