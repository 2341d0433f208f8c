import Foundation
import Testing

@testable import DocumentStore

@Suite("Concurrent writes")
struct ConcurrencyTests {
    func collection(_ label: String) throws -> DocumentCollection {
        let database = try TestDatabase.make(label: label, poolSize: 32)
        return database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
    }

    @Test("32 concurrent updateOne calls merging different fields into one document lose none")
    func concurrentMerges() throws {
        let collection = try collection("merge")
        _ = try collection.insert(.of(#"{"id": "s1", "title": "start"}"#))
        let filter = try Where.parse(json: #"{"id": "s1"}"#)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            do {
                let outcome = try collection.updateOne(filter, params: .of(#"{"field_\#(index)": \#(index)}"#))
                if outcome.matchedCount != 1 { failures.add("call \(index) matched \(outcome.matchedCount)") }
            } catch {
                failures.add("call \(index): \(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let stored = try #require(try collection.get(id: "s1")).value()
        for index in 0..<32 {
            #expect(stored["field_\(index)"] == .number("\(index)"), "field_\(index) survived")
        }
        #expect(stored["title"] == .string("start"))
    }

    @Test("32 concurrent PATCH-style merges by id lose no field")
    func concurrentMergesByID() throws {
        let collection = try collection("patch")
        _ = try collection.insert(.of(#"{"id": "s2"}"#))
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            _ = try? collection.merge(id: "s2", patch: .of(#"{"k\#(index)": "v\#(index)"}"#))
        }
        let stored = try #require(try collection.get(id: "s2")).value()
        #expect((0..<32).allSatisfy { stored["k\($0)"] == .string("v\($0)") })
    }

    @Test("racing upserts on one id yield exactly one document holding every field")
    func upsertRace() throws {
        let collection = try collection("upsert")
        let filter = try Where.parse(json: #"{"id": "only"}"#)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            do {
                _ = try collection.updateOne(filter, params: .of(#"{"u\#(index)": true}"#), upsert: true)
            } catch {
                failures.add("upsert \(index): \(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let documents = try collection.all()
        #expect(documents.count == 1)
        let stored = try #require(documents.first)
        #expect(stored["id"] == .string("only"))
        #expect((0..<32).allSatisfy { stored["u\($0)"] == .bool(true) })
    }

    @Test("racing inserts of one id: exactly one wins, the others get duplicate_id")
    func insertRace() throws {
        let collection = try collection("insert")
        let outcomes = Failures()
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            do {
                _ = try collection.insert(.of(#"{"id": "same", "by": \#(index)}"#))
                outcomes.add("ok")
            } catch let error as DocumentStoreError {
                outcomes.add(error.code)
            } catch {
                outcomes.add("\(error)")
            }
        }
        #expect(outcomes.all.filter { $0 == "ok" }.count == 1)
        #expect(outcomes.all.filter { $0 == "duplicate_id" }.count == 15)
    }
}

/// Messages collected from several threads.
final class Failures: @unchecked Sendable {
    // @unchecked: `messages` is only touched under `lock`.
    private let lock = NSLock()
    private var messages: [String] = []

    func add(_ message: String) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }
}
