// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "parlant-docstore",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "docstore", targets: ["docstore"]),
        .library(name: "DocumentStore", targets: ["DocumentStore"]),
        .library(name: "DocumentService", targets: ["DocumentService"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CLinux"),
        .target(name: "EventLoop", dependencies: ["CLinux"]),
        .target(name: "Metrics"),
        .target(
            name: "DocumentStore",
            dependencies: ["CLibPQ", "COpenSSL", "EventLoop", "Metrics"]
        ),
        .target(
            name: "DocumentService",
            dependencies: ["DocumentStore", "CMicroHTTPD", "COpenSSL", "EventLoop", "Metrics"]
        ),
        .executableTarget(
            name: "docstore",
            dependencies: [
                "DocumentStore",
                "DocumentService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["DocumentStore"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "DocumentStoreTests",
            dependencies: ["DocumentStore", "TestSupport"]
        ),
        .testTarget(
            name: "DocumentServiceTests",
            dependencies: ["DocumentStore", "DocumentService", "Metrics", "TestSupport"]
        ),
    ]
)
