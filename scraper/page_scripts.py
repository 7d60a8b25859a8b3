"""JavaScript the crawler runs in the results page (one round trip per step).

Selectors always come in as arguments, from selectors.toml.
"""

# Which of the candidate selectors match: args (candidates: list[str]) -> str | null.
FIRST_MATCH = """
const [cands] = arguments;
for (const c of cands) { try { if (document.querySelector(c)) return c; } catch (e) {} }
return null;
"""

# Blocking: args (selectors, url_parts, texts) -> a short description or null.
BLOCKED = """
const [sels, parts, texts] = arguments;
for (const p of parts) if (location.href.includes(p)) return "the page went to " + location.href;
for (const s of sels) { try { if (document.querySelector(s)) return "a captcha (" + s + ")"; }
  catch (e) {} }
const body = (document.body && document.body.innerText || "").toLowerCase();
for (const t of texts) if (body.includes(t.toLowerCase())) return "the page says '" + t + "'";
return null;
"""

# A visible element among candidates: args (candidates) -> [element, selector] or null.
_VISIBLE = """
function visible(e) {
  if (!e.getClientRects().length) return false;
  const st = getComputedStyle(e);
  return st.visibility !== "hidden" && st.display !== "none";
}
function firstVisible(cands) {
  for (const c of cands) {
    let all = [];
    try { all = document.querySelectorAll(c); } catch (e) { continue; }
    for (const e of all) if (visible(e)) return [e, c];
  }
  return null;
}
"""

FIRST_VISIBLE = (
    _VISIBLE
    + """
const [cands] = arguments;
const f = firstVisible(cands);
return f ? f[1] : null;
"""
)

CLICK_VISIBLE = (
    _VISIBLE
    + """
const [cands] = arguments;
const f = firstVisible(cands);
if (!f) return null;
f[0].click();
return f[1];
"""
)

# The state the crawl waits on: args (tiles, show_more, end_marker, end_texts).
STATE = (
    _VISIBLE
    + """
const [tiles, more, ends, endTexts] = arguments;
let count = 0;
for (const t of tiles) { try { count = Math.max(count, document.querySelectorAll(t).length); }
  catch (e) {} }
let end = !!firstVisible(ends);
if (!end && endTexts.length) {
  const body = (document.body && document.body.innerText) || "";
  end = endTexts.some((t) => body.includes(t));
}
return {count: count, more: !!firstVisible(more), end: end};
"""
)

# Scroll to the bottom; also announce a scroll, since a page already at the bottom gets no event.
SCROLL_BOTTOM = """
window.scrollTo(0, document.body.scrollHeight);
window.dispatchEvent(new Event("scroll"));
"""

# Mark the result tiles not seen before; skip ads and related searches.
# args (tile selector, exclude_within, exclude_if_contains) -> {fresh: [indices], count}.
SCAN = """
const [sel, within, contains] = arguments;
window.__facesiftNext = window.__facesiftNext || 0;
const fresh = [];
const all = document.querySelectorAll(sel);
for (const t of all) {
  if (t.hasAttribute("data-facesift-idx") || t.hasAttribute("data-facesift-skip")) continue;
  let skip = false;
  for (const w of within) { try { if (t.closest(w)) { skip = true; break; } } catch (e) {} }
  if (!skip) for (const c of contains) {
    try { if (t.querySelector(c) || t.matches(c)) { skip = true; break; } } catch (e) {}
  }
  if (skip) { t.setAttribute("data-facesift-skip", "1"); continue; }
  const i = window.__facesiftNext++;
  t.setAttribute("data-facesift-idx", String(i));
  fresh.push(i);
}
return {fresh: fresh, count: all.length};
"""

# Open tiles' previews one after another and wait (in the page, no round trips) for
# each original. args (indices, layout, thumbnail rules, timeout ms per tile, callback)
# -> a list with one dict per index (null for a tile that is gone).
OPEN_TILES = (
    _VISIBLE
    + """
const [idxs, L, T, timeoutMs, done] = arguments;
function first(root, cands) {
  for (const c of cands) { try { const e = root.querySelector(c); if (e) return [e, c]; }
    catch (e) {} }
  return [null, null];
}
function isThumb(u) {
  if (!u) return true;
  if (T.url_prefixes.some((p) => u.startsWith(p))) return true;
  let host = "";
  try { host = new URL(u, location.href).hostname; } catch (e) { return true; }
  if (T.host_suffixes.some((s) => host === s || host.endsWith("." + s))) return true;
  return T.url_contains.some((c) => u.includes(c));
}
function previews() {
  const out = [];
  for (const c of L.preview) {
    let all = [];
    try { all = document.querySelectorAll(c); } catch (e) { continue; }
    for (const e of all) if (visible(e)) out.push([e, c]);
  }
  return out;
}
const srcOf = (e) => e.getAttribute("src") ? (e.currentSrc || e.src) : "";

function openTile(idx) {
  return new Promise((resolve) => {
    const tile = document.querySelector('[data-facesift-idx="' + idx + '"]');
    if (!tile) { resolve(null); return; }
    function thumb() {
      const [im] = first(tile, L.thumbnail);
      if (!im) return null;
      const s = srcOf(im) || im.getAttribute("data-src") || im.getAttribute("data-iurl");
      return s && !s.startsWith("data:image/gif") ? s : null;
    }
    function imgres() {
      for (const a of tile.querySelectorAll('a[href*="imgres?"]')) {
        const u = new URL(a.href, location.href);
        const o = u.searchParams.get("imgurl");
        if (o) return {original: o, page: u.searchParams.get("imgrefurl"),
                       w: parseInt(u.searchParams.get("w")) || null,
                       h: parseInt(u.searchParams.get("h")) || null, via: "imgres link"};
      }
      return null;
    }
    function title() {
      const [im] = first(tile, L.thumbnail);
      if (im && im.alt) return im.alt;
      const f = firstVisible(L.preview_title);
      return f ? (f[0].title || f[0].textContent || "").trim() || null : null;
    }
    const before = new Set(previews().map(([e]) => srcOf(e)));
    tile.scrollIntoView({block: "center"});
    const [target, clickSel] = first(tile, L.click);
    const el = target || tile;
    // The 2020-2023 page writes its /imgres link on mousedown, the 2024 page reacts to click.
    el.dispatchEvent(new MouseEvent("mousedown", {bubbles: true, cancelable: true, view: window}));
    el.click();
    const t0 = performance.now();
    // React to the page's own changes at once; a slow poll covers what an observer misses.
    let finished = false, timer = null;
    const observer = new MutationObserver(() => poll());
    observer.observe(document.documentElement,
                     {subtree: true, attributes: true, attributeFilter: ["src", "href"]});
    function poll() {
      if (finished) return;
      let found = imgres();
      if (!found) for (const [e, c] of previews()) {
        const s = srcOf(e);
        if (s && !isThumb(s) && !before.has(s)) {
          found = {original: s, page: null, w: e.naturalWidth || null,
                   h: e.naturalHeight || null, via: c};
          break;
        }
      }
      if (found || performance.now() - t0 > timeoutMs) {
        const res = found || {original: null, page: null, w: null, h: null, via: null};
        res.thumb = thumb(); res.title = title(); res.click = clickSel;
        if (!res.page) {
          const f = firstVisible(L.preview_title);
          if (f && f[0].href && !f[0].href.endsWith("#")) res.page = f[0].href;
        }
        finished = true;
        observer.disconnect();
        if (timer) clearTimeout(timer);
        resolve(res);
      } else if (!timer) {
        timer = setTimeout(() => { timer = null; poll(); }, 30);
      }
    }
    poll();
  });
}

(async () => {
  const out = [];
  try { for (const i of idxs) out.push(await openTile(i)); }
  finally { done(out); }
})();
"""
)

# Fetch a URL from inside the page (same cookies), for Bing's async endpoint.
FETCH_TEXT = """
const [url, done] = arguments;
fetch(url, {credentials: "include"}).then((r) => r.text()).then(done).catch(() => done(null));
"""
