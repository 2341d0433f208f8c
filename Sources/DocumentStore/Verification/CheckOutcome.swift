/// The result of one check before it is timed and named.
struct CheckOutcome {
    let ok: Bool
    let detail: String

    static func pass(_ detail: String) -> Self { Self(ok: true, detail: detail) }
    static func fail(_ detail: String) -> Self { Self(ok: false, detail: detail) }

    /// The detail of every check that cannot run without a connection.
    static let skipped = fail("skipped: no database connection")
}

extension VerificationCheck {
    /// Runs `body` and names its outcome, timed with `ContinuousClock`.
    static func timed(_ name: String, _ body: () -> CheckOutcome) -> VerificationCheck {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = body()
        let elapsed = (clock.now - start).components
        let milliseconds = Double(elapsed.seconds) * 1_000 + Double(elapsed.attoseconds) / 1e15
        return VerificationCheck(name: name, ok: outcome.ok, detail: outcome.detail, milliseconds: milliseconds)
    }
}

extension DocumentStoreError {
    /// The error with its underlying cause on one line, for a check's detail (never holds a password).
    var verificationText: String {
        guard let detail else { return message }
        return message + " (" + oneLine(detail) + ")"
    }

    /// The underlying cause alone (libpq's or the server's words) on one line, else the message.
    var causeText: String {
        detail.map(oneLine) ?? message
    }
}

/// Joins the lines of a libpq message into one sentence-like line.
func oneLine(_ text: String) -> String {
    var result = ""
    for line in text.split(whereSeparator: \.isNewline) {
        let trimmed = line.drop { $0.isWhitespace }
        guard !trimmed.isEmpty else { continue }
        if let last = result.last {
            result += ".?!:;".contains(last) ? " " : ". "
        }
        result += trimmed
    }
    while result.last?.isWhitespace == true { result.removeLast() }
    return result
}

/// A role, database or schema name as it can be pasted into SQL: bare when it is a plain lowercase
/// identifier, else double-quoted.
func sqlName(_ name: String) -> String {
    if SQLIdentifier(name) != nil { return name }
    return "\"" + name.map { $0 == "\"" ? "\"\"" : String($0) }.joined() + "\""
}
