extension DocumentDatabase {
    /// The collection the probe writes to: `verification_probe_` and 8 random hex digits, in the sessions
    /// store's prefix (e.g. table `parlant_sessions_verification_probe_1a2b3c4d`). A name of its own per run,
    /// so that replicas verifying at once never drop each other's probe; dropped at the end of the run.
    static func probeCollectionName() -> CollectionName {
        let hex = String(UInt32.random(in: .min ... .max), radix: 16)
        let name = "verification_probe_" + String(repeating: "0", count: 8 - hex.count) + hex
        // Lowercase letters, digits and `_`: a valid collection name.
        return try! CollectionName(name)
    }

    /// A document with every kind of JSON value: nested objects, Unicode and escapes, numbers with a
    /// fraction, booleans, null and a mixed array. Its number literals are ones JSONB prints back unchanged.
    static func probeDocument() -> JSONValue {
        .object(
            JSONObject([
                ("id", .string("verification-probe-" + DocumentID.generate())),
                ("creation_utc", .string(Timestamp.now())),
                ("version", .string("0.1.0")),
                ("customer_id", .string("verification")),
                ("title", .string("Grüße, 世界 🌍 \"quoted\" back\\slash\nnew line")),
                ("score", .number("3.14159")),
                ("offset", .number("-0.5")),
                ("count", .number("42")),
                ("active", .bool(true)),
                ("archived", .bool(false)),
                ("closed_utc", .null),
                (
                    "tags",
                    .array([
                        .string("ü"), .number("1"), .null, .bool(false), .object(JSONObject([("k", .string("v"))])),
                    ])
                ),
                (
                    "extra",
                    .object(
                        JSONObject([
                            ("tier", .string("gold")),
                            ("nested", .object(JSONObject([("deep", .array([.number("1.5"), .array([])]))]))),
                            ("empty", .object(JSONObject())),
                        ])
                    )
                ),
            ])
        )
    }

    /// Writes a probe document, reads it back by id, compares it as a JSON value, deletes it, and drops the
    /// probe collection, all through the public `DocumentCollection` API.
    func checkProbe(prefix: String, schema facts: SchemaFacts?) -> CheckOutcome {
        guard VerificationTarget.isValidPrefix(prefix) else {
            return .fail("the sessions store's table prefix '\(prefix)' is not valid, so no probe was written")
        }
        let collection = self.collection(Self.probeCollectionName(), tablePrefix: prefix)
        let table = "\(schema.name).\(collection.tableName)"
        let outcome = roundTrip(Self.probeDocument(), through: collection, table: table)
        do {
            try collection.drop()
        } catch {
            return .fail(
                (outcome.ok ? "" : outcome.detail + "; then ")
                    + "cannot drop the probe table: \(error.verificationText); drop it by hand: DROP TABLE "
                    + "\(schema.name).\(collection.failedTableName), \(table)"
            )
        }
        guard outcome.ok else { return outcome }
        let created = facts?.exists == false ? " (schema \(schema.name) was created for it and is kept)" : ""
        return .pass(outcome.detail + created)
    }

    private func roundTrip(_ document: JSONValue, through collection: DocumentCollection, table: String)
        -> CheckOutcome
    {
        let id = document.objectValue?["id"]?.stringValue ?? ""
        do {
            _ = try collection.insert(document)
            guard let stored = try collection.get(id: id) else {
                return .fail("wrote a probe document to \(table) but reading it back by id found nothing")
            }
            let readBack = try stored.value()
            guard JSONValue.object(readBack) == document else {
                return .fail(
                    "the probe document read back from \(table) differs from what was written: wrote "
                        + "\(document.serialized), read \(stored.json)"
                )
            }
            guard try collection.delete(id: id) != nil else {
                return .fail("the probe document in \(table) was read back but deleting it found nothing")
            }
            guard try collection.get(id: id) == nil else {
                return .fail("the probe document in \(table) is still there after it was deleted")
            }
        } catch let error as DocumentStoreError {
            return .fail("the probe on table \(table) failed: \(error.verificationText)")
        } catch {
            return .fail("the probe on table \(table) failed: \(error)")
        }
        return .pass(
            "wrote a probe document (nested objects, Unicode, numbers with fractions, booleans, null, arrays) to "
                + "\(table), read it back equal, deleted it and dropped the table"
        )
    }
}
