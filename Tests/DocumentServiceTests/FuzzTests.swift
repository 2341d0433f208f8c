import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// A bounded, seeded fuzz run (issue 5, point 5) over the filter parser and the query-string parser, through
/// real requests: random and mutated `where` filters, query strings and bodies. Every answer must be below
/// 500 (503 included: the database is up), a 4xx must have the JSON error shape, a 200 must be JSON, and
/// the server must stay up. A failure prints the seed, the case number and the exact request.
///
/// `FUZZ_SEED` (decimal or 0x-hex) and `FUZZ_SCALE` (a multiplier of the case counts) change the run.
@Suite(.serialized) struct FuzzTests {
    @Test func whereFiltersNeverFailTheServer() throws {
        try Fuzz.run(target: "where", cases: 2500) { random, index in Fuzz.whereRequest(&random, index) }
    }

    @Test func queryStringsNeverFailTheServer() throws {
        try Fuzz.run(target: "query", cases: 2500) { random, _ in Fuzz.queryRequest(&random) }
    }

    @Test func requestBodiesNeverFailTheServer() throws {
        try Fuzz.run(target: "body", cases: 1500) { random, index in Fuzz.bodyRequest(&random, index) }
    }

    @Test func generatorIsDeterministic() {
        var first = TestRandom(seed: 42)
        var second = TestRandom(seed: 42)
        let a = (0..<50).map { _ in Fuzz.queryRequest(&first).target }
        let b = (0..<50).map { _ in Fuzz.queryRequest(&second).target }
        #expect(a == b)
        var third = TestRandom(seed: 43)
        #expect(a != (0..<50).map { _ in Fuzz.queryRequest(&third).target })
    }
}

/// One generated request.
struct FuzzRequest {
    var method: String
    var target: String
    var body: [UInt8]?

    /// The request, printable: the body as a Swift-style escaped string.
    var description: String {
        var text = "\(method) \(target)"
        if let body {
            let escaped = body.map { byte -> String in
                switch byte {
                case 0x20..<0x7F where byte != 0x5C: return String(UnicodeScalar(byte))
                case 0x5C: return "\\\\"
                default: return String(format: "\\x%02X", byte)
                }
            }.joined()
            text += " body(\(body.count) bytes): \(escaped)"
        }
        return text
    }
}

enum Fuzz {
    static let seed: UInt64 = {
        let text = ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? ""
        if text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) { return value }
        return UInt64(text) ?? 0x5EED_D0C5_7012_0005
    }()

    static let scale: Double = {
        Double(ProcessInfo.processInfo.environment["FUZZ_SCALE"] ?? "") ?? 1
    }()

    static let collection = "fuzz"
    static let workers = 4

    /// A service of its own with a collection of documents of every JSON type, and one quarantined.
    static let service: TestService = {
        do {
            let service = try TestService(label: "fuzz", maxBodyBytes: 256 * 1024, poolSize: 8)
            let client = service.client()
            let documents = [
                #"{"id":"d1","kind":"message","n":1,"s":"a","b":true,"customer_id":"c1","extra":{"tier":"gold"}}"#,
                #"{"id":"d2","kind":"tool","n":2.5,"s":"B","b":false,"customer_id":"c2","session_id":"s1"}"#,
                #"{"id":"d3","n":-7,"s":"ünïcødé 😀","arr":[1,"x",null],"extra":{"tier":null,"n":[1,2]}}"#,
                #"{"id":"d4","n":1e300,"s":"5","b":null,"customer_id":"5","agent_id":"true"}"#,
                #"{"id":"d5","n":"1","s":"","nested":{"a":{"b":"deep"}},"extra":"flat"}"#,
                #"{"id":"d6","n":123456789012345678901234567890,"s":"x'); DROP TABLE t; --"}"#,
                #"{"id":"d7","kind":"message","customer_id":"c1","session_id":"s2","version":"0.1.0"}"#,
                #"{"id":"d8","n":0,"s":"\\\"quoted\\\"","b":false,"extra":{"tier":"silver","ok":true}}"#,
                #"{"id":"q1","kind":"broken"}"#,
            ]
            for document in documents {
                let response = try client.call("POST", "/sessions/\(collection)", json: document)
                precondition(response.status == 201, "fuzz seed failed: \(response.text)")
            }
            let moved = try client.call(
                "POST", "/sessions/\(collection):quarantine", json: #"{"ids":["q1"],"reason":"fuzz"}"#)
            precondition(moved.status == 200, "fuzz quarantine failed: \(moved.text)")
            return service
        } catch {
            fatalError("cannot start the fuzz service: \(error)")
        }
    }()

    /// Runs `cases` (times `FUZZ_SCALE`) generated requests on `workers` connections; case `i` is generated
    /// from the seed, the target's name and `i` alone, so a failure is reproducible whatever the scheduling.
    static func run(
        target: String,
        cases: Int,
        _ generate: @escaping @Sendable (inout TestRandom, Int) -> FuzzRequest
    ) throws {
        let service = Self.service
        let count = max(1, Int(Double(cases) * scale))
        let salt = target.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        let failures = ConcurrentResults()
        let statuses = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let client = service.client()
            var index = worker
            while index < count {
                var random = TestRandom(seed: seed ^ salt ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
                let request = generate(&random, index)
                let problem: String?
                do {
                    let response = try client.send(
                        request.method,
                        request.target,
                        headers: [
                            ("Authorization", "Bearer \(TestService.key)"), ("Content-Type", "application/json"),
                        ],
                        body: request.body
                    )
                    problem = check(response)
                    statuses.append("\(response.status) \(response.errorCode ?? "")")
                } catch {
                    problem = "no answer: \(error)"
                }
                if let problem {
                    failures.append(
                        "FUZZ_SEED=0x\(String(seed, radix: 16)) \(target) case \(index): \(problem)\n"
                            + "    request: \(request.description)")
                }
                index += workers
            }
        }
        let found = failures.all
        let tally = Dictionary(statuses.all.map { ($0, 1) }, uniquingKeysWith: +).sorted { $0.key < $1.key }
        print(
            "fuzz \(target): \(count) cases, seed 0x\(String(seed, radix: 16)): \(tally.map { "\($0.key): \($0.value)" })"
        )
        #expect(found.isEmpty, "\(found.count) of \(count) cases failed:\n\(found.prefix(25).joined(separator: "\n"))")
        let health = try service.client().call("GET", "/healthz", key: nil)
        #expect(health.status == 200, "the service is down after the \(target) fuzz run")
        let ready = try service.client().call("GET", "/readyz", key: nil)
        #expect(ready.status == 200, "the service is not ready after the \(target) fuzz run: \(ready.text)")
    }

    /// What is wrong with an answer, or nil.
    static func check(_ response: HTTPClient.Response) -> String? {
        let summary = "\(response.status) \(response.text.prefix(300))"
        guard response.status < 500 else { return "server error: \(summary)" }
        if response.status >= 400 {
            guard response.header("Content-Type")?.lowercased().hasPrefix("application/json") == true,
                let object = response.json as? [String: Any], Set(object.keys) == ["error"],
                let error = object["error"] as? [String: Any], Set(error.keys) == ["code", "message", "request_id"],
                error["request_id"] as? String == response.header("X-Request-Id"),
                let code = error["code"] as? String,
                code.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression) != nil,
                (error["message"] as? String)?.isEmpty == false
            else { return "4xx without the error shape: \(summary)" }
            return nil
        }
        guard response.json != nil else { return "a \(response.status) whose body is not JSON: \(summary)" }
        return nil
    }

    // MARK: Requests

    /// A random or mutated filter sent as `?where=` or inside a find/findOne/updateOne/deleteOne body.
    static func whereRequest(_ random: inout TestRandom, _ index: Int) -> FuzzRequest {
        var filter = Array(filterText(&random, depth: 0).utf8)
        if Int.random(in: 0..<5, using: &random) < 2 { filter = mutated(filter, &random) }
        let base = "/sessions/\(collection)"
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            let limit = Bool.random(using: &random) ? "&limit=\(Int.random(in: 1...5, using: &random))" : ""
            return FuzzRequest(method: "GET", target: "\(base)?where=\(percentEncoded(filter))\(limit)")
        case 1:
            return FuzzRequest(
                method: "GET", target: "\(base):failedMigrations?where=\(percentEncoded(filter))&limit=3")
        case 2:
            return FuzzRequest(
                method: "POST", target: "\(base):find", body: wrap(#"{"limit":3,"where":"#, filter, "}"))
        case 3:
            return FuzzRequest(
                method: "POST", target: "\(base):findOne",
                body: wrap(#"{"sort":[["n","desc"]],"where":"#, filter, "}"))
        case 4:
            let upsert = Bool.random(using: &random)
            return FuzzRequest(
                method: "POST", target: "\(base):updateOne",
                body: wrap(#"{"params":{"fuzz_touched":\#(index)},"upsert":\#(upsert),"where":"#, filter, "}"))
        default:
            // Never matches, so the seed survives, but the filter is still parsed and run.
            return FuzzRequest(
                method: "POST", target: "\(base):deleteOne",
                body: wrap(#"{"where":{"$and":["#, filter, #",{"fuzz_never":"never"}]}}"#))
        }
    }

    /// A find with random PostgREST pairs and parameters, sometimes mutated.
    static func queryRequest(_ random: inout TestRandom) -> FuzzRequest {
        var pairs: [String] = []
        for _ in 0..<Int.random(in: 0...5, using: &random) {
            pairs.append(queryPair(&random))
        }
        var query = Array(pairs.joined(separator: "&").utf8)
        if Int.random(in: 0..<10, using: &random) < 3 {
            query = mutated(query, &random, pool: queryJunk)
        }
        let path: String
        switch Int.random(in: 0..<10, using: &random) {
        case 0: path = "/sessions"
        case 1: path = "/sessions/\(collection):failedMigrations"
        default: path = "/sessions/\(collection)"
        }
        return FuzzRequest(method: "GET", target: "\(path)?\(transmissible(query))")
    }

    /// A random or mutated body for :find, :findOne, :updateOne or :deleteOne.
    static func bodyRequest(_ random: inout TestRandom, _ index: Int) -> FuzzRequest {
        let actions = ["find", "findOne", "updateOne", "deleteOne"]
        let action = actions[Int.random(in: 0..<actions.count, using: &random)]
        let keys = ["where", "limit", "cursor", "sort", "count", "params", "upsert", "wher", "$where", ""]
        var body: [UInt8]
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5:
            // An object of known and unknown keys with values of any type.
            var members: [String] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                let key = keys[Int.random(in: 0..<keys.count, using: &random)]
                let value: String
                switch key {
                case "where": value = filterText(&random, depth: 0)
                case "params": value = Bool.random(using: &random) ? #"{"fuzz_touched":\#(index)}"# : anyValue(&random)
                default: value = anyValue(&random)
                }
                members.append("\(quoted(key)):\(value)")
            }
            body = Array("{\(members.joined(separator: ","))}".utf8)
        case 5..<8:
            body = mutated(Array(anyValue(&random, depth: 0).utf8), &random)
        case 8:
            body = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        default:
            body = []
        }
        if action == "deleteOne" {
            // Keep deletes from emptying the seed: only bodies whose filter cannot match are sent as is.
            body = Array(#"{"where":{"$and":[{"fuzz_never":"never"},"#.utf8) + body + Array("]}}".utf8)
        }
        return FuzzRequest(method: "POST", target: "/sessions/\(collection):\(action)", body: body)
    }

    // MARK: Filters and values

    /// Field names of the seed, and hostile or invalid ones (a third of the picks).
    static let fields = [
        "kind", "n", "s", "b", "customer_id", "session_id", "agent_id", "id", "creation_utc", "version", "extra",
        "extra.tier", "extra.n", "nested.a.b", "arr", "missing", "fuzz_touched",
    ]
    static let hostileFields = [
        "x'); DROP TABLE t; --", "a\\\"b", "a\\\\b", "ünï", "😀", "a..b", "", ".a", "a.", "$weird", "\\u0000",
        "\\ud800", String(repeating: "f", count: 1025), "a b", "\\n", "%", "a&b=c",
    ]

    static func field(_ random: inout TestRandom) -> String {
        Int.random(in: 0..<3, using: &random) == 0 ? pick(hostileFields, &random) : pick(fields, &random)
    }

    static let validOperators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]
    static let operators =
        validOperators + ["$regex", "$exists", "$", "$EQ", "$and", "$or", "$not", "eq", "$in ", "$size"]

    static let validScalars = [
        "0", "1", "-1", "2.5", "-0", "1e308", "1E-400", "1e1000000", "-1e1000000", "123456789012345678901234567890",
        "0.1e1", "true", "false", "null", #""a""#, #""message""#, #""c1""#, #""5""#, #""true""#, #""""#,
        #""ünïcødé 😀""#, #""\u00e9""#, #""\ud83d\ude00""#, #""x'); DROP TABLE t; --""#, #""\"quoted\"""#,
        #""2024-05-01T12:00:00+00:00""#, #""\\""#, #""%""#, #""gold""#,
    ]
    static let scalars =
        validScalars + [
            #""\ud800""#, #""\u0000""#, "[]", "{}", #"[1,"a",null]"#, #"{"$eq":1}"#, "01", "1.", ".5", "+1", "NaN",
            "Infinity", "'a'",
        ]

    /// A scalar, valid four times in five.
    static func scalar(_ random: inout TestRandom) -> String {
        Int.random(in: 0..<5, using: &random) == 0 ? pick(scalars, &random) : pick(validScalars, &random)
    }

    static func filterText(_ random: inout TestRandom, depth: Int) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            return "{}"
        case 1...2 where depth < 4:
            let logical = Bool.random(using: &random) ? "$and" : "$or"
            let children = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                filterText(&random, depth: depth + 1)
            }
            return #"{"\#(logical)":[\#(children.joined(separator: ","))]}"#
        case 3:
            let levels = Int.random(in: 20...40, using: &random)
            return String(repeating: #"{"$or":["#, count: levels) + #"{"n":1}"# + String(repeating: "]}", count: levels)
        default:
            let conditions = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                "\(quotedField(&random)):\(operand(&random))"
            }
            return "{\(conditions.joined(separator: ","))}"
        }
    }

    static func operand(_ random: inout TestRandom) -> String {
        if Int.random(in: 0..<4, using: &random) == 0 { return scalar(&random) }
        let operations = (0..<Int.random(in: 1...2, using: &random)).map { _ -> String in
            let name =
                Int.random(in: 0..<5, using: &random) == 0 ? pick(operators, &random) : pick(validOperators, &random)
            let value: String
            if name.hasSuffix("in"), Int.random(in: 0..<6, using: &random) > 0 {
                let items = (0..<Int.random(in: 0...4, using: &random)).map { _ in scalar(&random) }
                value = "[\(items.joined(separator: ","))]"
            } else {
                value = scalar(&random)
            }
            return "\(quoted(name)):\(value)"
        }
        return "{\(operations.joined(separator: ","))}"
    }

    static func quotedField(_ random: inout TestRandom) -> String {
        "\"\(field(&random))\""
    }

    /// Any JSON value (sometimes nested), as text.
    static func anyValue(_ random: inout TestRandom, depth: Int = 1) -> String {
        switch Int.random(in: 0..<8, using: &random) {
        case 0 where depth < 4:
            let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in anyValue(&random, depth: depth + 1) }
            return "[\(items.joined(separator: ","))]"
        case 1 where depth < 4:
            return filterText(&random, depth: 2)
        case 2:
            return quoted(randomCursor(&random))
        case 3:
            return pick(
                [#""asc""#, #""desc""#, #""exact""#, #"[["n","asc"]]"#, #"[["n","up"]]"#, #"[[1,"asc"]]"#], &random)
        default:
            return pick(scalars, &random)
        }
    }

    // MARK: Query strings

    static let queryOperators = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "like", "is", "not.eq", "", "EQ", "in."]

    static let queryValues = [
        "open", "30", "-1.5", "1e1000000", "true", "null", "%22c1%22", "%2230%22", "%22unterminated", "(a,b)",
        "(%22a,b%22,c)", "()", "(", "(a,", "(%22x%5C%22%22)", "%00", "%FF", "%zz", "%", "%C3%A9", "%F0%9F%98%80",
        "a+b", "%26", "%3D", "x%27)%3B%20DROP%20TABLE%20t%3B--", "c1", "5", "%22%22", ".", "..",
    ]

    static let queryJunk: [[UInt8]] = [
        "&", "=", "%", "+", ".", "(", ")", "\"", ",", "%0", "%C3", "%00", "=eq.", "&limit=", "#",
    ]
    .map { Array($0.utf8) }

    static func queryPair(_ random: inout TestRandom) -> String {
        switch Int.random(in: 0..<12, using: &random) {
        case 0:
            return "limit="
                + pick(
                    ["1", "5", "1000", "0", "1001", "-1", "abc", "", "1e2", "99999999999999999999", "%201", "%31"],
                    &random)
        case 1:
            return "cursor=" + percentEncoded(Array(randomCursor(&random).utf8))
        case 2:
            return "sort=" + pick(["asc", "desc", "ASC", "", "up", "%00"], &random)
        case 3:
            return "count=" + pick(["exact", "planned", "", "exact%00"], &random)
        case 4:
            return "where=" + percentEncoded(Array(filterText(&random, depth: 2).utf8))
        default:
            let chosen = field(&random)
            let name = Bool.random(using: &random) ? percentEncoded(Array(chosen.utf8)) : chosen
            return "\(name)=\(pick(queryOperators, &random)).\(pick(queryValues, &random))"
        }
    }

    /// A valid cursor of a seeded document, a forged one, or junk.
    static func randomCursor(_ random: inout TestRandom) -> String {
        let jsons = [
            #"["2024-05-01T12:00:00.000000+00:00","d1"]"#, #"["","d1"]"#, #"["a",""]"#, #"["a","b","c"]"#, #"[1,2]"#,
            #"{"a":1}"#, #""x""#, "[", #"["\u0000","x"]"#, #"["zzzz","\ud800"]"#,
        ]
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return pick(["", "=", "!!", "AAAA", "A", "====", "%%", "WyJh"], &random)
        case 1: return Data(pick(jsons, &random).utf8).base64EncodedString()
        default: return BadRequestCatalogue.base64URL(pick(jsons, &random))
        }
    }

    // MARK: Mutations

    static let junk: [[UInt8]] = [
        [0x00], [0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0x22], [0x5C], [0x7B], [0x7D], [0x5B], [0x5D],
        [0x3A], [0x2C], Array("\\u0000".utf8), Array("\\ud800".utf8), Array("1e999999".utf8), Array("null".utf8),
        Array("$regex".utf8), Array("😀".utf8), [0x0A], [0x09], [0x20],
    ]

    /// `bytes` with one to three random mutations: operator swaps, junk inserted, a range deleted or duplicated,
    /// truncation, extra nesting.
    static func mutated(_ bytes: [UInt8], _ random: inout TestRandom, pool: [[UInt8]] = junk) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0:
                let text = String(decoding: bytes, as: UTF8.self)
                let from = pick(operators, &random)
                let to = pick(operators, &random)
                if let range = text.range(of: "\"\(from)\"") {
                    bytes = Array(text.replacingCharacters(in: range, with: "\"\(to)\"").utf8)
                }
            case 1:
                bytes.insert(contentsOf: pick(pool, &random), at: position)
            case 2 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...8, using: &random))
                bytes.removeSubrange(min(position, end)..<end)
            case 3:
                bytes = Array(bytes.prefix(position))
            case 4 where !bytes.isEmpty:
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let slice = bytes[start..<min(bytes.count, start + Int.random(in: 1...16, using: &random))]
                bytes.insert(contentsOf: slice, at: position)
            case 5:
                let levels = Int.random(in: 1...70, using: &random)
                bytes =
                    Array(String(repeating: #"{"$and":["#, count: levels).utf8) + bytes
                    + Array(String(repeating: "]}", count: levels).utf8)
            default:
                let levels = Int.random(in: 50...200, using: &random)
                bytes = [UInt8](repeating: 0x5B, count: levels) + bytes + [UInt8](repeating: 0x5D, count: levels)
            }
        }
        return bytes
    }

    // MARK: Helpers

    static func pick<T>(_ items: [T], _ random: inout TestRandom) -> T {
        items[Int.random(in: 0..<items.count, using: &random)]
    }

    static func quoted(_ text: String) -> String {
        "\"\(text)\""
    }

    static func wrap(_ prefix: String, _ middle: [UInt8], _ suffix: String) -> [UInt8] {
        Array(prefix.utf8) + middle + Array(suffix.utf8)
    }

    /// Every byte but RFC 3986's unreserved characters as `%XX`.
    static func percentEncoded(_ bytes: [UInt8]) -> String {
        bytes.map { byte -> String in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                return String(UnicodeScalar(byte))
            default:
                return String(format: "%%%02X", byte)
            }
        }.joined()
    }

    /// A query string that can go in a request line: bytes outside printable ASCII, and `#`, escaped; the
    /// rest (including stray `%`) kept as generated.
    static func transmissible(_ bytes: [UInt8]) -> String {
        bytes.map { byte -> String in
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "#")
                ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }.joined()
    }
}
