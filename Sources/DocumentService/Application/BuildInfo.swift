#if canImport(Glibc)
    import Glibc
#endif

/// Which build of the service this is, for `--version` and the `docstore_build_info` metric.
public enum BuildInfo {
    /// The service's version (the API description's `info.version`).
    public static let version = "0.1.0"

    /// The commit the binary was built from: `DOCSTORE_COMMIT`, which the Docker image sets from its
    /// `COMMIT` build argument, when it is a hexadecimal commit id; else `unknown`.
    public static let commit: String = {
        guard let raw = getenv("DOCSTORE_COMMIT") else { return "unknown" }
        let commit = String(cString: raw)
        let isHex = commit.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        return (4...64).contains(commit.utf8.count) && isHex ? commit : "unknown"
    }()
}
