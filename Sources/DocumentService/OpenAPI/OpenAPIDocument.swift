/// The OpenAPI 3.1 description of the API, served at `/openapi.json`.
public enum OpenAPIDocument {
    public static let json: [UInt8] = Array(
        #"{"openapi":"3.1.0","info":{"title":"Parlant document store","version":"0.1.0"},"paths":{}}"#.utf8)
}
