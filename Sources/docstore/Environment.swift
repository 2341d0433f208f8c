import ArgumentParser
import DocumentService
import DocumentStore

#if canImport(Glibc)
    import Glibc
#endif

/// Reading the configuration, shared by the subcommands.
enum Environment {
    /// The configuration from the environment, or exit status 2 with one line per problem on stderr.
    static func configuration() throws -> Configuration {
        do {
            return try Configuration(environment: variables)
        } catch {
            exitWithProblems(error)
        }
    }

    /// The store's and the server's configuration from the environment, or exit status 2 with one line per
    /// problem of either on stderr.
    static func serviceConfiguration() -> (Configuration, ServerConfiguration) {
        var problems: [String] = []
        var configuration: Configuration?
        var server: ServerConfiguration?
        do {
            configuration = try Configuration(environment: variables)
        } catch {
            problems += error.problems
        }
        do {
            server = try ServerConfiguration(environment: variables)
        } catch {
            problems += error.problems
        }
        guard let configuration, let server, problems.isEmpty else {
            exitWithProblems(ConfigurationError(problems: problems))
        }
        return (configuration, server)
    }

    static func exitWithProblems(_ error: ConfigurationError) -> Never {
        for problem in error.problems {
            let line = Array("configuration error: \(problem)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
        exit(2)
    }

    /// The process's environment variables.
    static var variables: [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }
}
