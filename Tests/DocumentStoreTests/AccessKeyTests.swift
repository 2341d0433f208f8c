import Testing

@testable import DocumentStore

@Suite("Service keys and their scopes")
struct AccessKeyTests {
    static let first = "first-key-0123456789"
    static let second = "second-key-0123456789"

    @Test("a keys file: one key a line, a scope after it, comments, blank lines and CRLF ignored")
    func fileLines() throws {
        let keys = try AccessKeyList.parse(
            file: """
                # the keys clients may present
                \(Self.first)

                \t\(Self.second)   stores=sessions,customers access=read  \r
                third-key-0123456789 access=full stores=variables
                fourth-key-0123456789 access=read
                """)
        #expect(keys.count == 4)
        #expect(keys[0] == AccessKey(secret: Self.first, scope: .full))
        #expect(keys[1] == AccessKey(secret: Self.second, scope: KeyScope(stores: [.sessions, .customers], readOnly: true)))
        #expect(keys[2].scope == KeyScope(stores: [.variables]))
        #expect(keys[3].scope == KeyScope(readOnly: true))
        #expect(keys[1].scope.description == "stores=sessions,customers access=read")
        #expect(keys[0].scope.description == "full")
    }

    @Test(
        "a bad line is refused, naming the line and never the key",
        arguments: [
            ("", "holds no key (one a line; # starts a comment)"),
            ("# only a comment\n\n", "holds no key (one a line; # starts a comment)"),
            ("ok-key-0123456789abc\nsecret-short", "line 2: too short to be a secret; use at least 16 characters"),
            ("secret-key-0123456789 stores=orders", "line 1: stores= takes a comma-separated list of sessions, customers, variables"),
            ("secret-key-0123456789 stores=", "line 1: stores= takes a comma-separated list of sessions, customers, variables"),
            ("secret-key-0123456789 access=write", "line 1: access must be read or full"),
            ("secret-key-0123456789 another-secret-0123456789", "line 1: after the key only stores=<store>,... and access=read|full may follow"),
            ("secret-key-0123456789 access=read access=full", "line 1: access= given twice"),
            ("secret-key-0123456789\n\nsecret-key-0123456789 access=read", "line 3: the same key appears twice"),
            ("secret-kéy-0123456789", "line 1: a key must be printable ASCII without spaces or commas"),
        ]
    )
    func badFiles(text: String, problem: String) {
        #expect(throws: AccessKeyError.self) { try AccessKeyList.parse(file: text) }
        do {
            _ = try AccessKeyList.parse(file: text)
        } catch {
            #expect(error.description == problem)
            #expect(!error.description.contains("0123456789"), "a key must never be repeated: \(error)")
        }
    }

    @Test("a comma-separated list: blanks around keys are dropped, each key has full access")
    func commaList() throws {
        let keys = try AccessKeyList.parse(list: " \(Self.first) ,\(Self.second)")
        #expect(keys == [AccessKey(secret: Self.first), AccessKey(secret: Self.second)])
        #expect(throws: AccessKeyError.self) { try AccessKeyList.parse(list: "\(Self.first),\(Self.first)") }
        #expect(throws: AccessKeyError.self) { try AccessKeyList.parse(list: "\(Self.first) stores=sessions") }
    }
}
