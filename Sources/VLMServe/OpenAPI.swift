/// The API's OpenAPI 3.0 description, served at `/api/openapi.json`. Hand-written; `OpenAPITests` checks that
/// every route of `buildArchiveRouter` appears here with its method.
enum OpenAPI {
    static let document = """
        {
          "openapi": "3.0.3",
          "info": {
            "title": "vlm-stream archive",
            "version": "1",
            "description": "Search an index made by `vlm-stream index` by text or picture, list its videos, fetch \
        thumbnails and play the files. With --token every request needs `Authorization: Bearer TOKEN` or the cookie \
        set by /login?token=TOKEN. Errors are {\\"error\\": \\"...\\"}."
          },
          "components": {
            "securitySchemes": {
              "bearer": {"type": "http", "scheme": "bearer"},
              "cookie": {"type": "apiKey", "in": "cookie", "name": "vlm_token"}
            },
            "parameters": {
              "top": {"name": "top", "in": "query",
                      "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
              "offset": {"name": "offset", "in": "query", "description": "Ranks to skip (offset + top ≤ 1000).",
                         "schema": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0}},
              "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}
            },
            "schemas": {
              "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
              "Moment": {
                "type": "object",
                "required": ["video", "start", "end", "peak", "score", "frames", "name"],
                "properties": {
                  "video": {"type": "string", "description": "Path of the video as indexed."},
                  "video_id": {"type": "integer"},
                  "name": {"type": "string", "description": "File name of the video."},
                  "start": {"type": "number", "description": "Seconds."},
                  "end": {"type": "number", "description": "Seconds."},
                  "peak": {"type": "number", "description": "Seconds: the best frame."},
                  "score": {"type": "number",
                            "description": "Cosine similarity of the best frame (frame), or of the caption's text and the query (caption_*)."},
                  "frames": {"type": "integer"},
                  "caption": {"type": "string"},
                  "match": {"type": "string", "enum": ["frame", "caption_words", "caption_similarity"],
                            "description": "Why it matched: its frames, all the query's words in its caption, or its caption's text similarity."},
                  "thumbnail": {"type": "string", "description": "URL of a JPEG of the best frame."},
                  "file": {"type": "string", "description": "URL of the video file (Range requests)."}
                }
              },
              "SearchResults": {
                "type": "object",
                "required": ["query", "offset", "moments"],
                "properties": {
                  "query": {"type": "string"},
                  "offset": {"type": "integer"},
                  "moments": {"type": "array", "items": {"$ref": "#/components/schemas/Moment"}}
                }
              },
              "Caption": {
                "type": "object",
                "properties": {"start": {"type": "number"}, "end": {"type": "number"}, "text": {"type": "string"},
                               "score": {"type": "number"}}
              },
              "Video": {
                "type": "object",
                "required": ["id", "name", "path", "size", "frames", "model", "fps", "captioned", "precision", "file"],
                "properties": {
                  "id": {"type": "integer"}, "name": {"type": "string"}, "path": {"type": "string"},
                  "size": {"type": "integer"}, "duration": {"type": "number", "nullable": true},
                  "frames": {"type": "integer"}, "model": {"type": "string"}, "fps": {"type": "number"},
                  "captioned": {"type": "boolean"},
                  "precision": {"type": "string", "description": "How embeddings are stored (fp16)."},
                  "file": {"type": "string"},
                  "captions": {"type": "array", "items": {"$ref": "#/components/schemas/Caption"}}
                }
              }
            }
          },
          "security": [{"bearer": []}, {"cookie": []}],
          "paths": {
            "/": {"get": {"summary": "Redirects to /search.", "responses": {"303": {"description": "See /search."}}}},
            "/search": {"get": {
              "summary": "Search page (HTML); with ?text= the first results are rendered on the server.",
              "parameters": [{"name": "text", "in": "query", "schema": {"type": "string", "maxLength": 200}}],
              "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}},
            "/videos": {"get": {"summary": "Videos page (HTML).",
              "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}},
            "/login": {"get": {"summary": "Sets the token cookie and redirects to /search.", "security": [],
              "parameters": [{"name": "token", "in": "query", "required": true, "schema": {"type": "string"}}],
              "responses": {"303": {"description": "Logged in."}, "401": {"description": "Wrong token."}}}},
            "/static/{name}": {"get": {"summary": "style.css and app.js.",
              "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "The asset."}, "404": {"description": "No such asset."}}}},
            "/api/openapi.json": {"get": {"summary": "This document.",
              "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {}}}}}},
            "/api/search": {"get": {
              "summary": "Moments matching a text query.",
              "parameters": [
                {"name": "text", "in": "query", "required": true,
                 "description": "Non-empty, at most 200 characters (the MQTT control topic's limit).",
                 "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
                {"$ref": "#/components/parameters/top"}, {"$ref": "#/components/parameters/offset"}],
              "responses": {
                "200": {"description": "Moments, best first.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResults"}}}},
                "400": {"description": "Invalid query.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "503": {"description": "The request timed out."}}}},
            "/api/search/image": {"post": {
              "summary": "Moments matching an uploaded picture (at most 10 MiB).",
              "parameters": [{"$ref": "#/components/parameters/top"}, {"$ref": "#/components/parameters/offset"}],
              "requestBody": {"required": true, "content": {
                "multipart/form-data": {"schema": {"type": "object",
                  "properties": {"image": {"type": "string", "format": "binary"}}}},
                "image/*": {"schema": {"type": "string", "format": "binary"}}}},
              "responses": {
                "200": {"description": "Moments, best first.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResults"}}}},
                "400": {"description": "No file in the form."},
                "413": {"description": "The upload is too large."},
                "415": {"description": "Not multipart/form-data or image/*."},
                "422": {"description": "Not a picture."}}}},
            "/api/videos": {"get": {"summary": "The indexed videos.",
              "responses": {"200": {"description": "Videos.", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"videos": {"type": "array",
                  "items": {"$ref": "#/components/schemas/Video"}}}}}}}}}},
            "/api/videos/{id}": {"get": {"summary": "One indexed video with its captions.",
              "parameters": [{"$ref": "#/components/parameters/id"}],
              "responses": {
                "200": {"description": "The video.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Video"}}}},
                "404": {"description": "No such video."}}}},
            "/api/videos/{id}/file": {"get": {
              "summary": "The video file (only files in the index, by id), with HTTP Range requests.",
              "parameters": [{"$ref": "#/components/parameters/id"},
                {"name": "Range", "in": "header", "schema": {"type": "string", "example": "bytes=0-1023"}}],
              "responses": {"200": {"description": "The whole file."}, "206": {"description": "The requested bytes."},
                            "404": {"description": "No such video, or its file changed since it was indexed."},
                            "416": {"description": "The range is outside the file."}}}},
            "/api/thumbnail": {"get": {"summary": "A JPEG of a video at a time (FFmpeg, cached).",
              "parameters": [
                {"name": "video", "in": "query", "required": true, "schema": {"type": "integer"}},
                {"name": "t", "in": "query", "required": true, "schema": {"type": "number", "minimum": 0}}],
              "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}},
                            "400": {"description": "Bad time."}, "404": {"description": "No such video."}}}}
          }
        }
        """
}
