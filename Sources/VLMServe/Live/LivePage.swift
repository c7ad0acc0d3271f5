import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VLMCore

/// The Live page, rendered on the server with the state at the time of the request (streams, their thumbnails,
/// the active queries with remove buttons, the add form); `live.js` then follows the event stream.
struct LivePage: Sendable {
    let live: LiveSources
    let options: ServeOptions
    let library: MustacheLibrary

    init(live: LiveSources, options: ServeOptions) {
        self.live = live
        self.options = options
        // The template is a constant of this module; a syntax error in it is a programming error caught by tests.
        var library = MustacheLibrary()
        try? library.register(Self.template, named: "live")
        self.library = library
    }

    func render() -> Response {
        let state = LiveState(feed: live.feed, queries: live.queries?.activeQueries ?? [])
        let page: [String: Any] = [
            "queries": state.queries, "control": live.queries != nil,
            "maxQuery": QueryControl.limits.maxQueryCharacters,
            "streams": state.streams.map { stream -> [String: Any] in
                ["name": stream.name, "thumbnail": stream.thumbnail, "status": stream.status?.state ?? "starting"]
            },
        ]
        let text = library.render(page, withTemplate: "live") ?? "template live is missing"
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] =
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: text)))
    }

    static let template = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Live · vlm-stream</title>
        <link rel="stylesheet" href="/static/style.css">
        </head>
        <body data-received="0">
        <header class="bar">
          <span class="brand">vlm-stream</span>
          <nav><a href="/live" class="active">Live</a><a href="/metrics">Metrics</a></nav>
          <span id="connection" class="status">connecting…</span>
        </header>
        <main>
        {{#control}}
        <form id="query-form" class="search">
          <input id="query" name="query" type="text" placeholder="Add a query: a person crossing, a red car…"
                 maxlength="{{maxQuery}}" autocomplete="off" required>
          <button type="submit">Add query</button>
        </form>
        {{/control}}
        <p class="error" id="error" hidden></p>
        <ul id="queries" class="queries">
        {{#queries}}<li data-query="{{.}}"><span>{{.}}</span>{{#control}}<button type="button" class="remove"
          data-query="{{.}}" title="Remove">×</button>{{/control}}</li>{{/queries}}
        </ul>
        <section id="streams" class="streams">
        {{#streams}}
          <article class="stream" data-stream="{{name}}">
            <img class="thumb" src="{{thumbnail}}" data-src="{{thumbnail}}" alt="latest frame of {{name}}"
                 width="320" height="180">
            <div class="meta">
              <h2>{{name}} <span class="state status">{{status}}</span></h2>
              <svg class="chart" viewBox="0 0 600 150" preserveAspectRatio="none" role="img"
                   aria-label="scores of the last minutes"></svg>
              <ul class="legend"></ul>
              <ul class="open"></ul>
            </div>
          </article>
        {{/streams}}
        </section>
        <section class="feeds">
          <div><h2>Events</h2><ol id="events" class="feed"></ol></div>
          <div><h2>Captions and answers</h2><ol id="captions" class="feed"></ol></div>
        </section>
        <script type="module" src="/static/live.js"></script>
        </main>
        </body>
        </html>

        """
}
