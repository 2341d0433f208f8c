import Foundation
import Testing

@testable import DocumentStore

/// Every test runs on a database whose collation is C.UTF-8 and on one whose collation is en_US.UTF-8:
/// the order is by code point whatever the database's collation (SPEC section 6).
@Suite("Keyset pagination")
struct PaginationTests {
    static let collations = ["C.UTF-8", "en_US.UTF-8"]

    static func database(_ label: String, collation: String) throws -> DocumentDatabase {
        try TestDatabase.make(
            label: label, url: collation == "C.UTF-8" ? TestDatabase.url : TestDatabase.englishCollationURL)
    }

    /// 60 documents in groups of three sharing one `creation_utc`, inserted out of order.
    func seeded(_ collation: String) throws -> DocumentCollection {
        let database = try Self.database("pages", collation: collation)
        let collection = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        var documents: [JSONValue] = []
        for index in (0..<60).reversed() {
            let stamp = String(format: "2024-01-01T00:00:%02d.000000+00:00", index / 3)
            documents.append(
                .of(#"{"id": "e\#(String(format: "%03d", index))", "creation_utc": "\#(stamp)", "n": \#(index)}"#))
        }
        _ = try collection.insertMany(documents)
        return collection
    }

    func walk(
        _ collection: DocumentCollection,
        limit: Int,
        descending: Bool,
        between: (Int, Cursor) throws -> Void = { _, _ in }
    ) throws -> [String] {
        var seen: [String] = []
        var cursor: Cursor?
        var pageNumber = 0
        repeat {
            let page = try collection.find(FindQuery(limit: limit, cursor: cursor, descending: descending))
            #expect(page.items.count <= limit)
            #expect(page.totalCount == page.items.count)
            #expect(page.hasMore == (page.nextCursor != nil))
            seen += page.items.map(\.id)
            cursor = page.nextCursor
            pageNumber += 1
            if let cursor { try between(pageNumber, cursor) }
        } while cursor != nil
        return seen
    }

    @Test(
        "pages cover every document once, ordered by creation_utc then id",
        arguments: collations, [false, true])
    func wholeWalk(collation: String, descending: Bool) throws {
        let collection = try seeded(collation)
        let expected = (0..<60).map { String(format: "e%03d", $0) }
        let ids = try walk(collection, limit: 7, descending: descending)
        #expect(ids == (descending ? expected.reversed() : expected))
    }

    @Test(
        "inserts and deletes between pages neither repeat nor skip survivors",
        arguments: collations, [false, true])
    func changesBetweenPages(collation: String, descending: Bool) throws {
        let collection = try seeded(collation)
        let original = Set((0..<60).map { String(format: "e%03d", $0) })
        var deleted: Set<String> = []
        var inserted = 0
        var insertedAhead: Set<String> = []
        let ids = try walk(collection, limit: 5, descending: descending) { page, cursor in
            // Delete one document far ahead and one already seen; insert one at each end and one inside.
            let ahead = String(format: "e%03d", descending ? 59 - page * 5 - 12 : page * 5 + 12)
            let behind = String(format: "e%03d", descending ? 59 - page * 5 + 2 : page * 5 - 2)
            for id in [ahead, behind] where original.contains(id) {
                if try collection.delete(id: id) != nil { deleted.insert(id) }
            }
            for stamp in ["2023-12-31T00:00:00+00:00", "2024-01-01T00:00:10.000000+00:00", "2025-01-01T00:00:00+00:00"]
            {
                inserted += 1
                _ = try collection.insert(.of(#"{"id": "new\#(inserted)", "creation_utc": "\#(stamp)"}"#))
                let position = (stamp, "new\(inserted)")
                let isAhead =
                    descending ? position < (cursor.creationUTC, cursor.id) : position > (cursor.creationUTC, cursor.id)
                if isAhead { insertedAhead.insert("new\(inserted)") }
            }
        }
        #expect(Set(ids).count == ids.count, "no document is returned twice")
        let survivors = original.subtracting(deleted)
        #expect(survivors.isSubset(of: Set(ids)), "every surviving original document is returned")
        #expect(insertedAhead.isSubset(of: Set(ids)), "documents inserted ahead of the cursor are returned")
        #expect(!deleted.isEmpty)
    }

    @Test("count=exact counts every match; the last page has no cursor", arguments: collations)
    func counts(collation: String) throws {
        let collection = try seeded(collation)
        let filter = try Where.parse(json: #"{"n": {"$gte": 10}}"#)
        let first = try collection.find(FindQuery(filter: filter, limit: 20, countsAll: true))
        #expect(first.totalCount == 50)
        #expect(first.items.count == 20)
        #expect(first.hasMore)
        let last = try collection.find(
            FindQuery(
                filter: filter, limit: 20,
                cursor: Cursor(
                    creationUTC: "2024-01-01T00:00:19.000000+00:00", id: "e056")))
        #expect(last.items.map(\.id) == ["e057", "e058", "e059"])
        #expect(!last.hasMore)
        #expect(last.nextCursor == nil)
        #expect(last.totalCount == 3)
    }

    /// Ids and timestamps whose order differs between code points and en_US: `R1` before `k2` (upper case
    /// first), `_x` after `Z`, `é` after `z`, and `...:01+00:00` before `...:01.5+00:00` before `...:01Z`.
    static let mixedDocuments: [(creation: String, id: String)] = {
        let stamps = ["2025-01-01T00:00:01+00:00", "2025-01-01T00:00:01.5+00:00", "2025-01-01T00:00:01Z"]
        let ids = ["R1", "k2", "a3", "Z4", "_x", "é", "e", "10", "9", "A b", "Ab"]
        return stamps.enumerated().flatMap { group, stamp in ids.map { (stamp, "\($0)-\(group)") } }
    }()

    @Test("creation_utc and id order by code point, on every page, whatever the collation", arguments: collations)
    func codePointOrder(collation: String) throws {
        let database = try Self.database("codepoints", collation: collation)
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        _ = try collection.insertMany(
            Self.mixedDocuments.shuffled().map { .of(#"{"id": "\#($0.id)", "creation_utc": "\#($0.creation)"}"#) })
        let codePoints = { (text: String) in text.unicodeScalars.map(\.value) }
        let expected = Self.mixedDocuments.sorted { a, b in
            a.creation == b.creation
                ? codePoints(a.id).lexicographicallyPrecedes(codePoints(b.id))
                : codePoints(a.creation).lexicographicallyPrecedes(codePoints(b.creation))
        }.map(\.id)
        #expect(Array(expected.prefix(5)) == ["10-0", "9-0", "A b-0", "Ab-0", "R1-0"])
        for descending in [false, true] {
            for limit in [1, 4, 100] {
                let ids = try walk(collection, limit: limit, descending: descending)
                #expect(ids == (descending ? expected.reversed() : expected), "limit \(limit)")
            }
            let streamed = try collection.find(FindQuery(descending: descending)).items.map(\.id)
            #expect(streamed == (descending ? expected.reversed() : expected))
        }
        let first = try collection.findOne(.everything)
        #expect(first?.id == expected.first)
        let updated = try collection.updateOne(.everything, params: .of(#"{"seen": true}"#))
        #expect(updated.document?.id == expected.first, "updateOne takes the first in the keyset order")
        #expect(try collection.deleteOne(.everything)?.id == expected.first)
    }

    @Test("a page, filtered or not, is an index range scan without a sort", arguments: collations)
    func pagePlans(collation: String) throws {
        let database = try Self.database("plan", collation: collation)
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        var documents: [JSONValue] = []
        for index in 0..<20000 {
            documents.append(.of(#"{"customer_id": "c\#(index % 50)", "n": \#(index)}"#))
        }
        _ = try collection.insertMany(documents)
        try TestDatabase.sql("ANALYZE \(collection.table.name.sql)", url: database.link.conninfo)
        let table = collection.table
        for (filterJSON, index) in [(#"{"customer_id": "c3"}"#, "customer_id_keyset"), ("{}", "_keyset_")] {
            let filter = try Where.parse(json: filterJSON)
            for descending in [false, true] {
                let query: SQLQuery = """
                    EXPLAIN SELECT \(table.selection) FROM \(table.name.sql) WHERE \(table.condition(filter)) \
                    AND \(table.after(Cursor(creationUTC: "2000", id: "x"), descending: descending)) \
                    \(table.keysetOrder(descending: descending)) LIMIT 101
                    """
                let plan = try TestDatabase.sql(query, url: database.link.conninfo)
                    .compactMap { $0.first ?? nil }.joined(separator: "\n")
                #expect(plan.contains("Index Scan") && plan.contains(index), "\(filterJSON): \(plan)")
                #expect(!plan.contains("Sort"), "\(plan)")
            }
        }
    }
}
