// Entry of the page `attnscope serve` shows: capture typed text live, or open a saved capture by name.
import { CaptureData } from './data.js';
import { Viewer, publish } from './viewer.js';
import { el } from './format.js';

const $ = id => document.getElementById(id);
const status = $('as-status');
const root = $('attnscope-root');

function say(text, isError) {
  status.textContent = text;
  status.classList.toggle('as-error-text', !!isError);
}

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new Error((json && json.error) || `the server answered HTTP ${res.status}`);
  return json;
}

function show(result) {
  const data = CaptureData.fromServer(result.id, result.meta);
  publish(new Viewer(root, data, { url: true }));
}

async function capture(e) {
  e.preventDefault();
  const button = $('as-capture');
  button.disabled = true;
  say('capturing…');
  try {
    const result = await post('api/capture', { text: $('as-text').value, pair: $('as-pair').value || null, engine: $('as-engine').value });
    show(result);
    say(`captured ${result.meta.tokens.length} tokens with the ${result.meta.source} engine`);
  } catch (err) {
    say(err.message, true);
  } finally {
    button.disabled = false;
  }
}

async function open(name) {
  say(`opening ${name}…`);
  try {
    show(await post('api/open', { name }));
    say(`opened ${name}`);
  } catch (err) {
    say(err.message, true);
  }
}

/** A sentence of the corpus (`serve --corpus`), captured again by the server; the address's #… holds layer, head and token. */
async function openCorpusLine(line) {
  say(`capturing line ${line} of the corpus…`);
  try {
    const result = await post('api/corpus/open', { line: Number(line) });
    show(result);
    say(`line ${line} of the corpus, captured again (${result.meta.tokens.length} tokens)` +
      (result.sameTokens ? '' : '; its tokens differ from those the corpus stored'), !result.sameTokens);
  } catch (err) {
    say(err.message, true);
  }
}

async function start() {
  $('as-form').addEventListener('submit', capture);
  try {
    const info = await (await fetch('api/info')).json();
    $('as-model').textContent = `model: ${info.model}`;
    $('as-text').maxLength = info.maxChars;
    if (info.savedCaptures) {
      const saved = await (await fetch('api/saved')).json();
      const list = $('as-saved-list');
      list.replaceChildren(...saved.captures.map(name => {
        const b = el('button', 'as-link', name);
        b.type = 'button';
        b.dataset.capture = name;
        b.addEventListener('click', () => open(name));
        const li = el('li');
        li.append(b);
        return li;
      }));
      if (saved.captures.length === 0) list.append(el('li', 'as-note', 'no .safetensors captures in the folder'));
      $('as-saved').hidden = false;
      // Long captures (attnscope.long/1) open in the map-style long view at /long, which links back here.
      const longs = saved.long || [];
      $('as-long-list').replaceChildren(...longs.map(name => {
        const a = el('a', 'as-link', name);
        a.href = `long?name=${encodeURIComponent(name)}`;
        a.dataset.longCapture = name;
        const li = el('li');
        li.append(a);
        return li;
      }));
      $('as-long').hidden = longs.length === 0;
    }
    if (info.corpus) $('as-corpus-link').hidden = false;
    const wanted = new URLSearchParams(location.search).get('open');
    if (wanted) await open(wanted);
    const line = new URLSearchParams(location.search).get('corpus');
    if (line && /^[1-9][0-9]{0,14}$/.test(line)) await openCorpusLine(line);
  } catch (err) {
    say(`cannot reach the server: ${err.message}`, true);
  }
}

start();
