/// The pages' Mustache templates (`{{x}}` is HTML-escaped; `head` and `foot` are partials shared by every page).
enum Templates {
    static let all: [String: String] = ["head": head, "foot": foot, "search": search, "videos": videos]

    static let head = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · vlm-stream</title>
        <link rel="stylesheet" href="/static/style.css">
        </head>
        <body>
        <header class="bar">
          <span class="brand">vlm-stream</span>
          <nav>
            <a href="/search"{{#search}} class="active"{{/search}}>Search</a>
            <a href="/videos"{{#videosPage}} class="active"{{/videosPage}}>Videos</a>
          </nav>
        </header>
        <main>

        """

    static let foot = """
        </main>
        </body>
        </html>

        """

    static let search = """
        {{> head}}
        <form id="search-form" class="search" action="/search" method="get">
          <input id="text" name="text" type="search" placeholder="Describe what to find: a red car, a person walking…"
                 value="{{text}}" maxlength="200" autocomplete="off" autofocus>
          <button type="submit">Search</button>
          <label id="drop" class="drop" for="image-file">
            <input id="image-file" type="file" accept="image/*" hidden>
            <span id="drop-text">or drop an image here</span>
          </label>
        </form>
        {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
        {{^error}}<p class="error" id="error" hidden></p>{{/error}}
        <section id="player" class="player" hidden>
          <video controls preload="metadata"></video>
          <p id="now-playing"></p>
        </section>
        <p id="status" class="status">{{#empty}}No matching moments.{{/empty}}</p>
        <section id="results" class="results" data-query="{{text}}" data-next="{{next}}"
                 data-done="{{#done}}1{{/done}}{{^done}}0{{/done}}" data-top="{{top}}">
        {{#cards}}
          <article class="card" data-file="{{file}}" data-start="{{start}}" data-name="{{name}}" tabindex="0">
            <img src="{{thumbnail}}" alt="{{name}} at {{range}}" width="320" height="180">
            <div class="meta">
              <h3>{{name}}</h3>
              <p><span class="range">{{range}}</span> <span class="score">{{score}}</span>{{#why}} <span class="why">{{why}}</span>{{/why}}</p>
              {{#caption}}<p class="caption">{{caption}}</p>{{/caption}}
            </div>
          </article>
        {{/cards}}
        </section>
        <div id="more" class="more"></div>
        <script type="module" src="/static/app.js"></script>
        {{> foot}}
        """

    static let videos = """
        {{> head}}
        <h1>{{count}} indexed videos</h1>
        {{#empty}}
        <p class="status">Nothing is indexed yet: run <code>vlm-stream index VIDEO --db INDEX</code>.</p>
        {{/empty}}
        <section class="videos">
        {{#videos}}
          <article class="video" id="video-{{id}}">
            <img src="{{thumbnail}}" alt="{{name}}" width="240" height="135">
            <div class="meta">
              <h3><a href="/api/videos/{{id}}/file">{{name}}</a></h3>
              <dl>
                <dt>Duration</dt><dd>{{duration}}</dd>
                <dt>Frames</dt><dd>{{frames}} at {{fps}} fps</dd>
                <dt>Model</dt><dd><code>{{model}}</code></dd>
                <dt>Stored as</dt><dd>{{precision}}</dd>
              </dl>
              {{#captioned}}
              <div class="timeline" aria-label="captions">
                {{#captions}}
                <span class="segment" style="left:{{left}}%;width:{{width}}%" title="{{start}} {{text}}"></span>
                {{/captions}}
              </div>
              <ol class="captions">{{#captions}}<li><span class="range">{{start}}</span> {{text}}</li>{{/captions}}</ol>
              {{/captioned}}
              {{^captioned}}<p class="status">No captions (index with <code>--captions</code>).</p>{{/captioned}}
            </div>
          </article>
        {{/videos}}
        </section>
        {{> foot}}
        """
}
