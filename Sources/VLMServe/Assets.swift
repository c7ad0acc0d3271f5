/// The static files under `/static/`: one stylesheet and one ES module, no build step, nothing from a CDN.
enum Assets {
    struct Asset: Sendable {
        var type: String
        var body: String
    }

    static let all: [String: Asset] = [
        "style.css": Asset(type: "text/css; charset=utf-8", body: style),
        "app.js": Asset(type: "text/javascript; charset=utf-8", body: app),
    ]

    static let style = """
        :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #2f6fed; --bg: #f7f8fa; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
        .bar { display: flex; gap: 2rem; align-items: center; padding: .7rem 1.5rem; background: #fff;
               border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; }
        nav a { margin-right: 1rem; color: var(--muted); text-decoration: none; }
        nav a.active { color: var(--fg); font-weight: 600; }
        main { max-width: 1200px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
        .search { display: flex; gap: .6rem; flex-wrap: wrap; }
        .search input[type=search] { flex: 1 1 420px; font: inherit; padding: .55rem .8rem;
               border: 1px solid var(--line); border-radius: 8px; }
        button { font: inherit; padding: .55rem 1.1rem; border: 0; border-radius: 8px; background: var(--accent);
               color: #fff; cursor: pointer; }
        .drop { padding: .5rem .9rem; border: 2px dashed var(--line); border-radius: 8px; color: var(--muted);
               cursor: pointer; }
        .drop.over { border-color: var(--accent); color: var(--accent); }
        .error { color: #b42318; }
        .status { color: var(--muted); }
        .player { margin: 1rem 0; background: #000; border-radius: 10px; overflow: hidden; }
        .player video { width: 100%; max-height: 60vh; display: block; }
        .player p { margin: 0; padding: .4rem .8rem; color: #eee; background: #111; }
        .results { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 1rem;
               margin-top: 1rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; overflow: hidden;
               cursor: pointer; }
        .card:hover, .card:focus { border-color: var(--accent); outline: none; }
        .card img { width: 100%; height: auto; aspect-ratio: 16 / 9; object-fit: cover; display: block;
               background: #ddd; }
        .meta { padding: .5rem .8rem .7rem; }
        .meta h3 { margin: 0 0 .2rem; font-size: 1rem; overflow-wrap: anywhere; }
        .meta p { margin: .1rem 0; }
        .range { font-variant-numeric: tabular-nums; color: var(--muted); }
        .score { float: right; font-variant-numeric: tabular-nums; font-weight: 600; }
        .caption { font-style: italic; }
        .why { font-size: .8rem; padding: 0 .3rem; border-radius: .2rem; background: #e8eefc; }
        .more { height: 1px; }
        .videos { display: flex; flex-direction: column; gap: 1rem; }
        .video { display: flex; gap: 1rem; background: #fff; border: 1px solid var(--line); border-radius: 10px;
               padding: .8rem; }
        .video img { width: 240px; height: 135px; object-fit: cover; border-radius: 6px; background: #ddd; }
        .video .meta { flex: 1; padding: 0; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .3rem 0; }
        dt { color: var(--muted); }
        dd { margin: 0; }
        .timeline { position: relative; height: 14px; background: #eef1f6; border-radius: 4px; margin: .5rem 0; }
        .segment { position: absolute; top: 0; bottom: 0; background: var(--accent); opacity: .55;
               border-right: 1px solid #fff; }
        .captions { margin: .3rem 0 0; padding-left: 1.2rem; max-height: 9rem; overflow: auto; }
        """

    static let app = """
        // Search page: runs on top of the server-rendered results. Adds image drop, playing a moment in the page,
        // and loading more results when the end of the list scrolls into view.
        const form = document.querySelector('#search-form');
        const input = document.querySelector('#text');
        const drop = document.querySelector('#drop');
        const fileInput = document.querySelector('#image-file');
        const dropText = document.querySelector('#drop-text');
        const results = document.querySelector('#results');
        const statusLine = document.querySelector('#status');
        const errorLine = document.querySelector('#error');
        const player = document.querySelector('#player');
        const video = player.querySelector('video');
        const nowPlaying = document.querySelector('#now-playing');
        const pageSize = Number(results.dataset.top || 20);

        const state = {
          kind: 'text',
          text: results.dataset.query || '',
          file: null,
          offset: Number(results.dataset.next || 0),
          done: results.dataset.done !== '0' || !results.dataset.query,
          loading: false,
        };

        const clock = (s) => {
          const m = Math.floor(s / 60);
          return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
        };

        function watchThumbnail(img) {
          const loaded = () => { img.dataset.loaded = img.naturalWidth > 0 ? '1' : 'error'; };
          if (img.complete) loaded();
          else {
            img.addEventListener('load', loaded, { once: true });
            img.addEventListener('error', () => { img.dataset.loaded = 'error'; }, { once: true });
          }
        }

        function card(m) {
          const article = document.createElement('article');
          article.className = 'card';
          article.tabIndex = 0;
          article.dataset.file = m.file || '';
          article.dataset.start = String(m.start);
          article.dataset.name = m.name;
          const img = document.createElement('img');
          img.src = m.thumbnail || '';
          img.alt = `${m.name} at ${clock(m.start)}`;
          img.width = 320;
          img.height = 180;
          const meta = document.createElement('div');
          meta.className = 'meta';
          const title = document.createElement('h3');
          title.textContent = m.name;
          const line = document.createElement('p');
          const range = document.createElement('span');
          range.className = 'range';
          range.textContent = `${clock(m.start)}–${clock(m.end)}`;
          const score = document.createElement('span');
          score.className = 'score';
          score.textContent = m.score.toFixed(3);
          line.append(range, ' ', score);
          if (m.match && m.match !== 'frame') {
            const why = document.createElement('span');
            why.className = 'why';
            why.textContent = m.match === 'caption_words' ? 'caption words' : 'caption similarity';
            line.append(' ', why);
          }
          meta.append(title, line);
          if (m.caption) {
            const caption = document.createElement('p');
            caption.className = 'caption';
            caption.textContent = m.caption;
            meta.append(caption);
          }
          article.append(img, meta);
          watchThumbnail(img);
          return article;
        }

        function play(file, start, name) {
          if (!file) return;
          player.hidden = false;
          nowPlaying.textContent = `${name} from ${clock(start)}`;
          const seek = () => { video.currentTime = start; video.play().catch(() => {}); };
          if (video.dataset.src !== file) {
            video.dataset.src = file;
            video.src = file;
            video.addEventListener('loadedmetadata', seek, { once: true });
          } else seek();
          player.scrollIntoView({ behavior: 'smooth', block: 'start' });
        }

        async function loadMore() {
          if (state.loading || state.done) return;
          state.loading = true;
          errorLine.hidden = true;
          try {
            const page = `top=${pageSize}&offset=${state.offset}`;
            let response;
            if (state.kind === 'text') {
              response = await fetch(`/api/search?text=${encodeURIComponent(state.text)}&${page}`);
            } else {
              const body = new FormData();
              body.append('image', state.file);
              response = await fetch(`/api/search/image?${page}`, { method: 'POST', body });
            }
            const json = await response.json();
            if (!response.ok) throw new Error(json.error || response.statusText);
            for (const m of json.moments) results.append(card(m));
            state.offset += json.moments.length;
            state.done = json.moments.length < pageSize;
            statusLine.textContent = state.offset === 0 ? 'No matching moments.' : '';
          } catch (error) {
            errorLine.textContent = String(error.message || error);
            errorLine.hidden = false;
            state.done = true;
          } finally {
            state.loading = false;
          }
        }

        function restart(kind) {
          state.kind = kind;
          state.offset = 0;
          state.done = false;
          results.replaceChildren();
          statusLine.textContent = 'Searching…';
          loadMore();
        }

        form.addEventListener('submit', (event) => {
          const text = input.value.trim();
          if (!text) { event.preventDefault(); return; }
          event.preventDefault();
          state.text = text;
          history.replaceState(null, '', `/search?text=${encodeURIComponent(text)}`);
          restart('text');
        });

        function searchImage(file) {
          if (!file || !file.type.startsWith('image/')) return;
          state.file = file;
          input.value = '';
          dropText.textContent = `image: ${file.name}`;
          restart('image');
        }

        fileInput.addEventListener('change', () => searchImage(fileInput.files[0]));
        drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
        drop.addEventListener('dragleave', () => drop.classList.remove('over'));
        drop.addEventListener('drop', (event) => {
          event.preventDefault();
          drop.classList.remove('over');
          searchImage(event.dataTransfer.files[0]);
        });

        results.addEventListener('click', (event) => {
          const c = event.target.closest('.card');
          if (c) play(c.dataset.file, Number(c.dataset.start), c.dataset.name);
        });
        results.addEventListener('keydown', (event) => {
          const c = event.target.closest('.card');
          if (c && event.key === 'Enter') play(c.dataset.file, Number(c.dataset.start), c.dataset.name);
        });

        for (const img of results.querySelectorAll('img')) watchThumbnail(img);
        new IntersectionObserver((entries) => {
          if (entries.some((e) => e.isIntersecting)) loadMore();
        }).observe(document.querySelector('#more'));
        """
}
