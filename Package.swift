// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "FortGanguli",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fortganguli", targets: ["fortganguli"]),
        .library(name: "FortGanguli", targets: ["FortGanguli"]),
        .library(name: "Landscape", targets: ["Landscape"]),
        .library(name: "RealNets", targets: ["RealNets"]),
        .library(name: "Linalg", targets: ["Linalg"]),
        .library(name: "Comparison", targets: ["Comparison"]),
        .library(name: "Reports", targets: ["Reports"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS (CBLAS + LAPACKE) and GSL in one module: see Sources/CNumerics/README.md.
        .systemLibrary(name: "CNumerics", path: "Sources/CNumerics"),
        .target(name: "Linalg", dependencies: ["CNumerics"]),
        .target(name: "Landscape", dependencies: ["Linalg"]),
        .target(name: "FortGanguli", dependencies: ["Linalg", "Landscape"]),
        // zlib for gzip-compressed data files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "RealNets", dependencies: ["Linalg", "Landscape", "CZlib"]),
        // Model against source: calibration of the random models on any (K, p, y), verdicts by the models' spread.
        .target(name: "Comparison", dependencies: ["Linalg", "Landscape", "FortGanguli"]),
        // File formats (JSON, .npy, the --gram folder) and the reports every command writes.
        .target(name: "Reports", dependencies: ["Linalg", "Landscape", "FortGanguli", "RealNets", "Comparison"]),
        .executableTarget(
            name: "fortganguli",
            dependencies: [
                "FortGanguli", "Landscape", "Linalg", "RealNets", "Reports", "Comparison",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg"]),
        .testTarget(name: "LandscapeTests", dependencies: ["Landscape", "Linalg"]),
        .testTarget(name: "FortGanguliTests", dependencies: ["FortGanguli", "Landscape", "Linalg"]),
        .testTarget(name: "FortGanguliCLITests", dependencies: ["fortganguli"]),
        .testTarget(name: "RealNetsTests", dependencies: ["RealNets", "Landscape", "Linalg"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Landscape", "Linalg"]),
        .testTarget(name: "ComparisonTests", dependencies: ["Comparison", "FortGanguli", "Landscape", "Linalg"]),
    ]
)
