/// The live server's static files: the archive's stylesheet plus the live page's rules, and one ES module.
enum LiveAssets {
    static let all: [String: Assets.Asset] = [
        "style.css": Assets.Asset(type: "text/css; charset=utf-8", body: Assets.style + style),
        "live.js": Assets.Asset(type: "text/javascript; charset=utf-8", body: script),
    ]

    static let style = """
        .bar .status { margin-left: auto; }
        .search input[type=text] { flex: 1 1 420px; font: inherit; padding: .55rem .8rem;
               border: 1px solid var(--line); border-radius: 8px; }
        .bar .status.on { color: #067647; }
        .queries { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem; margin: .8rem 0; }
        .queries li { background: #fff; border: 1px solid var(--line); border-radius: 999px;
               padding: .15rem .3rem .15rem .8rem; display: flex; align-items: center; gap: .3rem; }
        .queries .remove { background: none; color: var(--muted); padding: 0 .4rem; font-size: 1.1rem; }
        .streams { display: flex; flex-direction: column; gap: 1rem; }
        .stream { display: flex; gap: 1rem; background: #fff; border: 1px solid var(--line); border-radius: 10px;
               padding: .8rem; }
        .stream .thumb { width: 320px; height: 180px; object-fit: cover; border-radius: 6px; background: #ddd; }
        .stream h2 { margin: 0 0 .3rem; font-size: 1.05rem; }
        .chart { width: 100%; height: 150px; background: #fafbfc; border: 1px solid var(--line); border-radius: 6px; }
        .chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
        .chart line { stroke: #d0d5dd; stroke-dasharray: 4 4; vector-effect: non-scaling-stroke; }
        .legend, .open { list-style: none; padding: 0; margin: .3rem 0; display: flex; flex-wrap: wrap; gap: .8rem; }
        .legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; }
        .open li { color: #b54708; font-weight: 600; }
        .feeds { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
        .feed { list-style: none; padding: 0; margin: 0; max-height: 22rem; overflow: auto; background: #fff;
               border: 1px solid var(--line); border-radius: 10px; }
        .feed li { padding: .3rem .7rem; border-bottom: 1px solid var(--line); }
        .feed .when { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: .5rem; }
        .feed .start { color: #067647; }
        .feed .end { color: #b42318; }

        """

    static let script = """
        // The Live page: draws the state, then follows /api/live/events (Server-Sent Events).
        const palette = ['#2f6fed', '#e8590c', '#0ca678', '#ae3ec9', '#f59f00', '#1098ad', '#d6336c', '#5c940d'];
        const streams = new Map();
        let queries = [];
        let windowSeconds = 300;
        let received = 0;

        const $ = (selector, root = document) => root.querySelector(selector);
        const make = (tag, className, text) => {
          const element = document.createElement(tag);
          if (className) element.className = className;
          if (text !== undefined) element.textContent = text;
          return element;
        };
        const seconds = (t) => (t === null || t === undefined) ? '–' : `${Number(t).toFixed(1)} s`;
        const colour = (query) => palette[Math.max(0, queries.indexOf(query)) % palette.length];

        function streamView(name) {
          if (!streams.has(name)) {
            const element = [...document.querySelectorAll('.stream')].find((e) => e.dataset.stream === name);
            streams.set(name, { element, scores: new Map(), open: new Map(), latest: 0, fresh: false });
          }
          return streams.get(name);
        }

        function showError(text) {
          const error = $('#error');
          error.textContent = text || '';
          error.hidden = !text;
        }

        function setQueries(list) {
          queries = list;
          const ul = $('#queries');
          ul.replaceChildren(...list.map((query) => {
            const li = make('li');
            li.dataset.query = query;
            li.append(make('span', '', query));
            if ($('#query-form')) {
              const button = make('button', 'remove', '×');
              button.type = 'button';
              button.title = 'Remove';
              button.dataset.query = query;
              li.append(button);
            }
            return li;
          }));
          for (const view of streams.values()) drawChart(view);
        }

        function prepend(list, item, limit = 100) {
          list.prepend(item);
          while (list.children.length > limit) list.lastChild.remove();
        }

        function addEvent(event) {
          const li = make('li', event.type);
          li.dataset.stream = event.stream;
          const when = event.type === 'start' ? event.start_pts : (event.end_pts ?? event.start_pts);
          li.append(make('span', 'when', seconds(when)));
          li.append(`${event.stream}: ${event.query} ${event.type} (peak ${event.peak_score.toFixed(2)} at `
            + `${seconds(event.peak_pts)})`);
          prepend($('#events'), li);
          const view = streamView(event.stream);
          if (event.type === 'end') view.open.delete(event.query); else view.open.set(event.query, event);
          drawOpen(view);
        }

        function addCaption(kind, value) {
          const li = make('li', kind);
          li.dataset.stream = value.stream;
          const text = kind === 'answer' ? `${value.question} → ${value.answer}` : value.text;
          li.append(make('span', 'when', seconds(kind === 'answer' ? value.pts : value.start_pts)));
          li.append(`${value.stream}: ${text}`);
          prepend($('#captions'), li);
        }

        function drawOpen(view) {
          if (!view.element) return;
          $('.open', view.element).replaceChildren(...[...view.open.values()].map((event) =>
            make('li', '', `● ${event.query} since ${seconds(event.start_pts)}`)));
        }

        function addScores(stream, pts, scores) {
          const view = streamView(stream);
          view.latest = Math.max(view.latest, pts);
          view.fresh = true;
          for (const [query, score] of Object.entries(scores)) {
            if (!view.scores.has(query)) view.scores.set(query, []);
            const points = view.scores.get(query);
            points.push([pts, score]);
            while (points.length && points[0][0] < view.latest - windowSeconds) points.shift();
          }
          scheduleDraw(view);
        }

        function scheduleDraw(view) {
          if (view.pending) return;
          view.pending = true;
          requestAnimationFrame(() => { view.pending = false; drawChart(view); });
        }

        function drawChart(view) {
          if (!view.element) return;
          const svg = $('.chart', view.element);
          const ns = 'http://www.w3.org/2000/svg';
          // The x axis grows with the data until it spans the whole window (at least 10 s).
          let earliest = view.latest;
          for (const points of view.scores.values()) if (points.length) earliest = Math.min(earliest, points[0][0]);
          const start = Math.max(view.latest - windowSeconds, earliest);
          const span = Math.max(view.latest - start, 10);
          const children = [];
          for (const level of [0.25, 0.5, 0.75]) {
            const line = document.createElementNS(ns, 'line');
            line.setAttribute('x1', 0);
            line.setAttribute('x2', 600);
            line.setAttribute('y1', 150 * (1 - level));
            line.setAttribute('y2', 150 * (1 - level));
            children.push(line);
          }
          const legend = [];
          for (const [query, points] of view.scores) {
            if (!queries.includes(query) || !points.length) continue;
            const line = document.createElementNS(ns, 'polyline');
            line.setAttribute('points', points.map(([t, s]) =>
              `${(600 * (t - start) / span).toFixed(1)},${(150 * (1 - s)).toFixed(1)}`).join(' '));
            line.setAttribute('stroke', colour(query));
            line.dataset.query = query;
            children.push(line);
            const item = make('li');
            const swatch = make('i');
            swatch.style.background = colour(query);
            item.append(swatch, `${query} ${points[points.length - 1][1].toFixed(2)}`);
            legend.push(item);
          }
          svg.replaceChildren(...children);
          $('.legend', view.element).replaceChildren(...legend);
        }

        function handle(kind, data) {
          if (kind === 'event') addEvent(data);
          else if (kind === 'caption' || kind === 'answer') addCaption(kind, data);
          else if (kind === 'scores') addScores(data.stream, data.pts, data.scores);
          else if (kind === 'status') {
            const view = streamView(data.stream);
            if (view.element) $('.state', view.element).textContent = data.state;
          }
        }

        async function control(action, list) {
          showError('');
          const response = await fetch(`/api/queries/${action}`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ queries: list }),
          });
          const body = await response.json().catch(() => ({}));
          if (!response.ok) { showError(body.error || `the server answered ${response.status}`); return false; }
          setQueries(body.queries);
          return true;
        }

        function refreshThumbnails() {
          for (const view of streams.values()) {
            if (!view.fresh || !view.element) continue;
            view.fresh = false;
            const img = $('.thumb', view.element);
            img.src = `${img.dataset.src}&at=${Date.now()}`;
          }
        }

        async function start() {
          for (const element of document.querySelectorAll('.stream')) streamView(element.dataset.stream);
          const state = await (await fetch('/api/live/state')).json();
          windowSeconds = state.score_window;
          setQueries(state.queries);
          for (const stream of state.streams) {
            const view = streamView(stream.name);
            for (const [query, points] of Object.entries(stream.scores)) {
              view.scores.set(query, points);
              for (const [t] of points) view.latest = Math.max(view.latest, t);
            }
            drawChart(view);
          }
          for (const message of state.recent) handle(message.kind, message.data);
          const source = new EventSource(`/api/live/events?after=${state.last_event_id}`);
          const connection = $('#connection');
          source.onopen = () => { connection.textContent = 'live'; connection.classList.add('on'); };
          source.onerror = () => { connection.textContent = 'reconnecting…'; connection.classList.remove('on'); };
          for (const kind of ['event', 'caption', 'answer', 'scores', 'status']) {
            source.addEventListener(kind, (message) => {
              received += 1;
              document.body.dataset.received = String(received);
              handle(kind, JSON.parse(message.data));
            });
          }
          setInterval(refreshThumbnails, 2000);
          setInterval(async () => {
            const response = await fetch('/api/queries').catch(() => null);
            if (response && response.ok) setQueries((await response.json()).queries);
          }, 10000);
        }

        const form = $('#query-form');
        if (form) {
          form.addEventListener('submit', async (event) => {
            event.preventDefault();
            const input = $('#query');
            if (await control('add', [input.value])) input.value = '';
          });
        }
        $('#queries').addEventListener('click', (event) => {
          const button = event.target.closest('button.remove');
          if (button) control('remove', [button.dataset.query]);
        });
        start().catch((error) => showError(`cannot load the live state: ${error}`));

        """
}
