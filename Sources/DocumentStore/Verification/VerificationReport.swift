/// One named check of the verification report.
public struct VerificationCheck: Sendable {
    public let name: String
    public let ok: Bool
    /// What was found, or what is wrong and what to do about it.
    public let detail: String
    /// How long the check took.
    public let milliseconds: Double

    public init(name: String, ok: Bool, detail: String, milliseconds: Double) {
        self.name = name
        self.ok = ok
        self.detail = detail
        self.milliseconds = milliseconds
    }
}

/// The verification report (SPEC section 8).
public struct VerificationReport: Sendable {
    public let checks: [VerificationCheck]

    public init(checks: [VerificationCheck]) {
        self.checks = checks
    }

    /// True when every check passed.
    public var ok: Bool { checks.allSatisfy(\.ok) }

    /// `{"ok": bool, "checks": [{"name", "ok", "detail", "ms"}]}`, with `ms` rounded to 0.1.
    public var json: String {
        JSONValue.object(JSONObject([("ok", .bool(ok)), ("checks", .array(checks.map(\.jsonValue)))])).serialized
    }
}

extension VerificationCheck {
    var jsonValue: JSONValue {
        .object(
            JSONObject([
                ("name", .string(name)),
                ("ok", .bool(ok)),
                ("detail", .string(detail)),
                ("ms", .number(Self.tenthsLiteral(milliseconds))),
            ])
        )
    }

    /// `value` rounded to one decimal, as a JSON number literal such as `12.3` (never an exponent).
    static func tenthsLiteral(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0.0" }
        let tenths = (value * 10).rounded()
        guard tenths < 1e15 else { return "\(Int64(1e14)).0" }
        let whole = Int64(tenths)
        return "\(whole / 10).\(whole % 10)"
    }
}
