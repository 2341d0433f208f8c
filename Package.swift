// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "parlant-docstore",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DocumentStore", targets: ["DocumentStore"])
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
        .target(
            name: "DocumentStore",
            dependencies: ["CLibPQ", "COpenSSL"]
        ),
        .testTarget(
            name: "DocumentStoreTests",
            dependencies: ["DocumentStore"]
        ),
    ]
)
