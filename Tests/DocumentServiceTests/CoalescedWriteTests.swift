import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// Inserts and merges of one collection that wait together go to PostgreSQL as one statement, and each
/// still gets its own outcome: 201 or 409 per insert, 200 or 404 per merge, a refused document fails alone,
/// and a row locked by another transaction holds up only the merge of that row.
///
/// One event loop with one database connection makes the batches certain: a PATCH of a locked row holds
/// that connection while every other request arrives and waits.
@Suite struct CoalescedWriteTests {
    struct Sent {
        let socket: RawSocket
        let method: String
        let id: String
        let expected: Int
    }

    @Test func writesArrivingTogetherEachGetTheirOwnOutcome() throws {
        let schema = TestPostgres.uniqueSchema("together")
        defer { _ = try? TestPostgres.sql("DROP SCHEMA IF EXISTS \(unsafeSQL: "\"\(schema)\"") CASCADE") }
        let (process, port) = try ServiceProcess.serve(
            schema: schema,
            // A lock wait lasts until the test releases the lock (a batch that waited would hold up the rest).
            extra: ["EVENT_LOOPS": "1", "DB_LOOP_CONNECTIONS": "1", "DB_LOCK_TIMEOUT_MS": "60000", "DB_STATEMENT_TIMEOUT_MS": "60000"])
        defer {
            process.signal(SIGTERM)
            _ = process.waitForExit()
        }
        let client = HTTPClient(port: port)
        let seeded = ["gate", "locked"] + (0..<14).map { "m\($0)" }
        let seed = seeded.map { #"{"id": "\#($0)", "seeded": true}"# }.joined(separator: ",")
        #expect(try client.call("POST", "/sessions/events", json: "[\(seed)]").status == 201)
        let table = "parlant_sessions_events"
        // The loop's connection opens on the first request, which a worker serves meanwhile.
        for _ in 0..<3 {
            #expect(try client.call("GET", "/sessions/events/gate").status == 200)
            usleep(200_000)
        }

        // Round 1: new ids (one twice), ids that exist, merges of present, missing and locked rows, two
        // merges of one row, and `:updateOne` by id (a merge too) of a present and a missing row.
        var writes: [(method: String, id: String, body: String, expected: Int)] = []
        for n in 0..<20 { writes.append(("POST", "n\(n)", #"{"id": "n\#(n)", "n": \#(n)}"#, 201)) }
        writes.append(("POST", "m0", #"{"id": "m0", "again": true}"#, 409))
        writes.append(("POST", "m1", #"{"id": "m1", "again": true}"#, 409))
        writes.append(("POST", "d0", #"{"id": "d0", "copy": 1}"#, 0))
        writes.append(("POST", "d0", #"{"id": "d0", "copy": 2}"#, 0))
        for n in 2..<12 { writes.append(("PATCH", "m\(n)", #"{"merged": \#(n)}"#, 200)) }
        for n in 0..<3 { writes.append(("PATCH", "missing\(n)", #"{"merged": 1}"#, 404)) }
        writes.append(("PATCH", "m12", #"{"first": 1}"#, 200))
        writes.append(("PATCH", "m12", #"{"second": 2}"#, 200))
        writes.append(("UPDATE", "m13", #"{"where": {"id": "m13"}, "params": {"updated": true}}"#, 200))
        writes.append(("UPDATE", "missing3", #"{"where": {"id": {"$eq": "missing3"}}, "params": {"updated": true}}"#, 200))
        let rowLock = try RowLock(schema: schema, table: table, id: "locked")
        let locked = try send(
            [("PATCH", "locked", #"{"merged": "late"}"#, 200)], behindGateOf: schema, table: table, port: port,
            together: writes)

        // Every write but the locked row's is answered while that row stays locked; of two inserts of one
        // new id, one is stored and the other is a duplicate.
        var twiceInserted: [Int] = []
        for sent in locked.others {
            let response = try sent.socket.readResponse(timeout: 30)
            if sent.id == "d0" {
                twiceInserted.append(response.status)
                continue
            }
            #expect(response.status == sent.expected, "\(sent.method) \(sent.id): \(response.text)")
            if sent.method == "UPDATE" {
                let updated = response.object["updated_document"] as? [String: Any]
                let present = !sent.id.hasPrefix("missing")
                #expect(response.object["matched_count"] as? Int == (present ? 1 : 0), "\(sent.id): \(response.text)")
                #expect(updated?["id"] as? String == (present ? sent.id : nil), "\(sent.id): \(response.text)")
                #expect(updated?["updated"] as? Bool == (present ? true : nil), "\(sent.id): \(response.text)")
            } else if sent.expected == 200 || sent.expected == 201 {
                #expect(response.object["id"] as? String == sent.id, "\(sent.method) \(sent.id): \(response.text)")
            }
        }
        #expect(twiceInserted.sorted() == [201, 409], "one id inserted twice: \(twiceInserted)")
        let late = try #require(locked.first.first)
        #expect(!late.socket.waitReadable(seconds: 0.5), "the merge of the locked row answered before the lock was released")
        rowLock.release()
        let lateResponse = try late.socket.readResponse(timeout: 30)
        #expect(lateResponse.status == 200)
        #expect(lateResponse.object["merged"] as? String == "late")

        // What is stored: each insert once, each merge applied, nothing for the missing ids.
        for n in 0..<20 {
            #expect(try client.call("GET", "/sessions/events/n\(n)").object["n"] as? Int == n)
        }
        for n in 0..<2 {
            let document = try client.call("GET", "/sessions/events/m\(n)").object
            #expect(document["again"] == nil && document["seeded"] as? Bool == true)
        }
        for n in 2..<12 {
            #expect(try client.call("GET", "/sessions/events/m\(n)").object["merged"] as? Int == n)
        }
        let twice = try client.call("GET", "/sessions/events/m12").object
        #expect(twice["first"] as? Int == 1 && twice["second"] as? Int == 2, "\(twice)")
        #expect(try client.call("GET", "/sessions/events/missing0").status == 404)

        // Round 2: PostgreSQL refuses one document of the batch (a number past its numeric range); that
        // insert alone fails, the others are stored, and so is one id sent twice, once.
        var round2: [(method: String, id: String, body: String, expected: Int)] = []
        for n in 0..<10 { round2.append(("POST", "r\(n)", #"{"id": "r\#(n)"}"#, 201)) }
        round2.append(("POST", "huge", #"{"id": "huge", "n": 1e200000}"#, 400))
        round2.append(("POST", "r0", #"{"id": "r0"}"#, 409))
        let second = try send([], behindGateOf: schema, table: table, port: port, together: round2)
        var statuses: [String: [Int]] = [:]
        for sent in second.others {
            let response = try sent.socket.readResponse(timeout: 30)
            statuses[sent.id, default: []].append(response.status)
            if sent.id != "r0" {
                #expect(response.status == sent.expected, "\(sent.method) \(sent.id): \(response.text)")
            }
        }
        #expect(statuses["r0"]?.sorted() == [201, 409], "an id inserted twice: \(statuses["r0"] ?? [])")
        #expect(try client.call("GET", "/sessions/events/huge").status == 404)
        let stored = (0..<10).map { "r\($0)" }.joined(separator: ",")
        #expect(try client.call("GET", "/sessions/events?id=in.(\(stored))&count=exact").object["total_count"] as? Int == 10)

        // Round 3: `:updateOne` by customer_id, each updating its customer's first document (one
        // customer twice, one without documents).
        let customers = ["c0", "c0", "c1", "c2", "c3", "c4"].enumerated().map { index, customer in
            #"{"id": "u\#(index)", "customer_id": "\#(customer)", "creation_utc": "2026-01-0\#(index + 1)T00:00:00+00:00"}"#
        }
        #expect(try client.call("POST", "/sessions/events", json: "[\(customers.joined(separator: ","))]").status == 201)
        func update(_ customer: String, _ params: String) -> (method: String, id: String, body: String, expected: Int) {
            ("UPDATE", customer, #"{"where": {"customer_id": "\#(customer)"}, "params": \#(params)}"#, 200)
        }
        let third = try send(
            [], behindGateOf: schema, table: table, port: port,
            together: [
                update("c0", #"{"first": 1}"#), update("c0", #"{"second": 2}"#), update("c1", #"{"one": 1}"#),
                update("c2", #"{"two": 2}"#), update("c-none", #"{"none": 1}"#),
            ])
        var matched: [String: [Int]] = [:]
        for sent in third.others {
            let response = try sent.socket.readResponse(timeout: 30)
            #expect(response.status == 200, "\(sent.id): \(response.text)")
            matched[sent.id, default: []].append(response.object["matched_count"] as? Int ?? -1)
        }
        #expect(matched == ["c0": [1, 1], "c1": [1], "c2": [1], "c-none": [0]])
        let firstOfC0 = try client.call("GET", "/sessions/events/u0").object
        #expect(firstOfC0["first"] as? Int == 1 && firstOfC0["second"] as? Int == 2, "\(firstOfC0)")
        #expect(try client.call("GET", "/sessions/events/u1").object["first"] == nil)
        #expect(try client.call("GET", "/sessions/events/u2").object["one"] as? Int == 1)
        #expect(try client.call("GET", "/sessions/events/u3").object["two"] as? Int == 2)

        // Round 4: a customer's first document is locked; its update waits for it, the other's does not.
        let customerLock = try RowLock(schema: schema, table: table, id: "u5")
        let fourth = try send(
            [], behindGateOf: schema, table: table, port: port,
            together: [update("c3", #"{"three": 3}"#), update("c4", #"{"four": 4}"#)])
        let three = try fourth.others[0].socket.readResponse(timeout: 20)
        #expect(three.status == 200 && three.object["matched_count"] as? Int == 1, "\(three.text)")
        #expect(!fourth.others[1].socket.waitReadable(seconds: 0.5), "the update of a locked document did not wait")
        customerLock.release()
        let four = try fourth.others[1].socket.readResponse(timeout: 30)
        #expect(four.status == 200 && (four.object["updated_document"] as? [String: Any])?["four"] as? Int == 4, "\(four.text)")
    }

    /// Holds the service's one connection with a PATCH of the row `gate` (locked here), sends `first` and
    /// then `together`, each on a connection of its own, and releases the gate: everything sent waited
    /// together for the connection.
    private func send(
        _ first: [(method: String, id: String, body: String, expected: Int)],
        behindGateOf schema: String, table: String, port: Int,
        together: [(method: String, id: String, body: String, expected: Int)]
    ) throws -> (first: [Sent], others: [Sent]) {
        let gate = try RowLock(schema: schema, table: table, id: "gate")
        let gateSocket = try #require(RawSocket.connect(port: port))
        try gateSocket.send(RawSocket.request("PATCH", "/sessions/events/gate", port: port, json: #"{"gate": 1}"#))
        try #require(RowLock.waitUntilBlocked(schema: schema, table: table))
        func open(_ write: (method: String, id: String, body: String, expected: Int)) throws -> Sent {
            let socket = try #require(RawSocket.connect(port: port))
            let (method, target) =
                switch write.method {
                case "POST": ("POST", "/sessions/events")
                case "UPDATE": ("POST", "/sessions/events:updateOne")
                default: (write.method, "/sessions/events/\(write.id)")
                }
            try socket.send(RawSocket.request(method, target, port: port, json: write.body))
            return Sent(socket: socket, method: write.method, id: write.id, expected: write.expected)
        }
        let firstSent = try first.map(open)
        let others = try together.map(open)
        // Time for the service to read every request; each then waits for the connection.
        usleep(300_000)
        gate.release()
        #expect(try gateSocket.readResponse(timeout: 30).status == 200)
        return (firstSent, others)
    }
}
