import Foundation

/// A command-line tool the tests hand a check to (`sha256sum`, `promtool`), rather than the product.
public enum PipedTool {
    /// Runs `executable` with `input` on its standard input; returns its exit status and what it printed
    /// on standard output and standard error.
    public static func run(_ executable: String, _ arguments: [String] = [], input: String) throws
        -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let output = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }
}
