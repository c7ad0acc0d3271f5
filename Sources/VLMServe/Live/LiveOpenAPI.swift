/// The live server's OpenAPI 3.0 description, served at `/api/openapi.json` by `vlm-stream run … --http`.
/// Hand-written; a test checks that every route of `buildLiveRouter` appears here with its method.
enum LiveOpenAPI {
    static let document = """
        {
          "openapi": "3.0.3",
          "info": {
            "title": "vlm-stream live",
            "version": "1",
            "description": "The live view of a running pipeline (`vlm-stream run … --http`): its state, its results \
        as Server-Sent Events, the latest frame of each stream, the active queries (changed as on the MQTT control \
        topic) and the Prometheus metrics. With --token every request needs `Authorization: Bearer TOKEN` or the \
        cookie set by /login?token=TOKEN. Errors are {\\"error\\": \\"...\\"}."
          },
          "components": {
            "securitySchemes": {
              "bearer": {"type": "http", "scheme": "bearer"},
              "cookie": {"type": "apiKey", "in": "cookie", "name": "vlm_token"}
            },
            "schemas": {
              "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
              "Queries": {
                "type": "object", "required": ["queries"], "additionalProperties": false,
                "properties": {"queries": {"type": "array", "maxItems": 32,
                  "items": {"type": "string", "minLength": 1, "maxLength": 200}}}
              }
            }
          },
          "security": [{"bearer": []}, {"cookie": []}],
          "paths": {
            "/": {"get": {"summary": "Redirects to /live.", "responses": {"303": {"description": "To /live."}}}},
            "/live": {"get": {"summary": "The Live page.",
              "responses": {"200": {"description": "HTML.", "content": {"text/html": {}}}}}},
            "/login": {"get": {"summary": "Sets the token cookie, then redirects to /live.", "security": [],
              "parameters": [{"name": "token", "in": "query", "schema": {"type": "string"}}],
              "responses": {"303": {"description": "Cookie set."}, "401": {"description": "Wrong token."}}}},
            "/static/{name}": {"get": {"summary": "style.css or live.js.",
              "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "The asset."}, "404": {"description": "No such asset."}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text exposition format 0.0.4).",
              "responses": {"200": {"description": "Metrics.", "content": {"text/plain": {}}}}}},
            "/api/openapi.json": {"get": {"summary": "This document.",
              "responses": {"200": {"description": "OpenAPI 3.", "content": {"application/json": {}}}}}},
            "/api/live/state": {"get": {
              "summary": "Streams (status, open events, scores of the last score_window seconds as [pts, score] pairs, \
        thumbnail URL), active queries, the last 200 events, captions, answers and status changes as {kind, id, data}, \
        and last_event_id.",
              "responses": {"200": {"description": "The state.", "content": {"application/json": {}}}}}},
            "/api/live/events": {"get": {
              "summary": "Server-Sent Events: `event` (start/update/end), `caption`, `answer`, `status`, and \
        `scores` ({stream, pts, scores: {query: score}}, one per analysed frame). Each has an id; kept messages newer \
        than Last-Event-ID (or ?after=) are sent first. A comment every 15 s keeps the connection open.",
              "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer"}},
                {"name": "Last-Event-ID", "in": "header", "schema": {"type": "integer"}}],
              "responses": {"200": {"description": "The event stream.", "content": {"text/event-stream": {}}}}}},
            "/api/live/thumbnail": {"get": {"summary": "The latest sampled frame of a stream as JPEG (≤ 64 KB).",
              "parameters": [{"name": "stream", "in": "query", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "JPEG.", "content": {"image/jpeg": {}}},
                "404": {"description": "No such stream, or no frame yet."}}}},
            "/api/queries": {"get": {"summary": "The active queries.",
              "responses": {"200": {"description": "The queries.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queries"}}}},
                "409": {"description": "The run matches no queries."}}}},
            "/api/queries/{action}": {"post": {
              "summary": "add, remove or set queries, validated and applied exactly as an MQTT \
        <prefix>/<stream>/queries/{action} message (at most 8192 bytes, 32 queries of at most 200 characters).",
              "parameters": [{"name": "action", "in": "path", "required": true,
                "schema": {"type": "string", "enum": ["add", "remove", "set"]}}],
              "requestBody": {"required": true,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queries"}}}},
              "responses": {
                "200": {"description": "The active queries afterwards.",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queries"}}}},
                "400": {"description": "The body is not a valid control request."},
                "404": {"description": "No such action."},
                "413": {"description": "The body is larger than 8192 bytes."},
                "415": {"description": "Not application/json."},
                "422": {"description": "The query set would exceed 32 queries, or the model refused a query."}}}}
          }
        }
        """
}
