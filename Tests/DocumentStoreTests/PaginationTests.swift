import Foundation
import Testing

@testable import DocumentStore

@Suite("Keyset pagination")
struct PaginationTests {
    /// 60 documents in groups of three sharing one `creation_utc`, inserted out of order.
    func seeded() throws -> DocumentCollection {
        let database = try TestDatabase.make(label: "pages")
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

    @Test("pages cover every document once, ordered by creation_utc then id", arguments: [false, true])
    func wholeWalk(descending: Bool) throws {
        let collection = try seeded()
        let expected = (0..<60).map { String(format: "e%03d", $0) }
        let ids = try walk(collection, limit: 7, descending: descending)
        #expect(ids == (descending ? expected.reversed() : expected))
    }

    @Test("inserts and deletes between pages neither repeat nor skip survivors", arguments: [false, true])
    func changesBetweenPages(descending: Bool) throws {
        let collection = try seeded()
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

    @Test("count=exact counts every match; the last page has no cursor")
    func counts() throws {
        let collection = try seeded()
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

    @Test("a filtered page is an index range scan without a sort")
    func filteredPagePlan() throws {
        let database = try TestDatabase.make(label: "plan")
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        var documents: [JSONValue] = []
        for index in 0..<20000 {
            documents.append(.of(#"{"customer_id": "c\#(index % 50)", "n": \#(index)}"#))
        }
        _ = try collection.insertMany(documents)
        try TestDatabase.sql("ANALYZE \(collection.table.name.sql)")
        let table = collection.table
        let filter = try Where.parse(json: #"{"customer_id": "c3"}"#)
        let query: SQLQuery = """
            EXPLAIN SELECT \(table.selection) FROM \(table.name.sql) WHERE \(table.condition(filter)) \
            AND \(table.after(Cursor(creationUTC: "2000", id: "x"), descending: false)) \
            \(table.keysetOrder(descending: false)) LIMIT 101
            """
        let plan = try TestDatabase.sql(query).compactMap { $0.first ?? nil }.joined(separator: "\n")
        #expect(plan.contains("customer_id_creation_utc_id"), "\(plan)")
        #expect(!plan.contains("Sort"), "\(plan)")
    }
}
