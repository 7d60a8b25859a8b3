"""JavaScript the crawler runs in the results page (one round trip per step).

Selectors always come in as arguments, from selectors.toml.
"""

# Which of the candidate selectors match: args (candidates: list[str]) -> str | null.
FIRST_MATCH = """
const [cands] = arguments;
for (const c of cands) { try { if (document.querySelector(c)) return c; } catch (e) {} }
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

# What scraper.page_state.classify reads: args (selector lists {captcha, consent, results},
# the longest page kept whole) -> {url, short_html, text, noscripts, ready, matched}.
SNAPSHOT = (
    _VISIBLE
    + """
const [roles, shortMax] = arguments;
const matched = {};
for (const [role, cands] of Object.entries(roles)) {
  matched[role] = null;
  for (const c of cands) {
    let all = [];
    try { all = document.querySelectorAll(c); } catch (e) { continue; }
    // A consent button counts only when shown; the others when present at all.
    const hit = role === "consent" ? Array.from(all).some(visible) : all.length > 0;
    if (hit) { matched[role] = c; break; }
  }
}
// Serialising a full results page on every check is costly: only small pages are kept.
const small = shortMax > 0 && document.getElementsByTagName("*").length <= 200;
const html = small && document.documentElement ? document.documentElement.outerHTML : "";
const text = (document.body && document.body.innerText) || "";
return {
  url: location.href,
  short_html: html.length <= shortMax ? html : "",
  text: text.slice(0, 20000),
  noscripts: Array.from(document.querySelectorAll("noscript"), (n) => n.textContent || ""),
  ready: document.readyState === "complete",
  matched: matched,
};
"""
)


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
# args (tile selector, exclude_within, exclude_if_contains, ad labels, result id
# attributes, page-data key attributes, thumbnail selectors)
# -> {fresh: [{i, result_id, docid, thumb, title}], count}.
SCAN = """
const [sel, within, contains, adLabels, idAttrs, keyAttrs, thumbSels] = arguments;
window.__facesiftNext = window.__facesiftNext || 0;
const labels = adLabels.map((s) => s.toLowerCase());
const isLabel = (e) => e.children.length === 0 &&
  labels.includes((e.textContent || "").trim().replace(/[\\u00b7:]+$/, "").trim().toLowerCase());
function labelled(t) {
  for (const e of t.querySelectorAll("*")) if (isLabel(e)) return true;
  // A short label beside the tile, or beside its wrapper, in the same container.
  for (const node of [t, t.parentElement]) {
    if (!node || !node.parentElement) continue;
    for (const sib of node.parentElement.children) if (sib !== node && isLabel(sib)) return true;
  }
  return false;
}
function attrOf(t, attrs) {
  for (const a of attrs) {
    if (t.getAttribute(a)) return t.getAttribute(a);
    const inner = t.querySelector("[" + a + "]");
    if (inner && inner.getAttribute(a)) return inner.getAttribute(a);
  }
  return null;
}
function thumbOf(t) {
  for (const c of thumbSels) {
    let im = null;
    try { im = t.querySelector(c); } catch (e) { continue; }
    if (!im) continue;
    const s = (im.getAttribute("src") ? (im.currentSrc || im.src) : "") ||
      im.getAttribute("data-src") || im.getAttribute("data-iurl");
    return [s && !s.startsWith("data:image/gif") ? s : null, im.alt || null];
  }
  return [null, null];
}
const fresh = [];
const all = document.querySelectorAll(sel);
for (const t of all) {
  if (t.hasAttribute("data-facesift-idx") || t.hasAttribute("data-facesift-skip")) continue;
  let skip = false;
  for (const w of within) { try { if (t.closest(w)) { skip = true; break; } } catch (e) {} }
  if (!skip) for (const c of contains) {
    try { if (t.querySelector(c) || t.matches(c)) { skip = true; break; } } catch (e) {}
  }
  if (!skip && labels.length) skip = labelled(t);
  if (skip) { t.setAttribute("data-facesift-skip", "1"); continue; }
  const i = window.__facesiftNext++;
  t.setAttribute("data-facesift-idx", String(i));
  const [thumb, title] = thumbOf(t);
  fresh.push({i: i, result_id: attrOf(t, idAttrs), docid: attrOf(t, keyAttrs), thumb: thumb,
              title: title});
}
return {fresh: fresh, count: all.length};
"""

# The text of scripts not read before that may hold result data: args (markers) -> [text].
NEW_SCRIPTS = """
const [markers] = arguments;
const out = [];
for (const s of document.scripts) {
  if (s.__facesiftRead) continue;
  s.__facesiftRead = true;
  const t = s.textContent || "";
  if (t && markers.some((m) => t.includes(m))) out.push(t);
}
return out;
"""

# Open tiles one after another and wait (in the page, no round trips) for each
# original: hover first (the tile's link may fill with /imgres?imgurl=), then
# click for the preview. args (indices, layout, thumbnail rules, each tile's
# timeout in ms, hover {events, wait_ms}, callback) -> a list with one dict per
# index (null for a tile that is gone); each dict's `way` is imgres, preview or null.
OPEN_TILES = (
    _VISIBLE
    + """
const [idxs, L, T, timeouts, H, done] = arguments;
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

function openTile(idx, timeoutMs) {
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
                       h: parseInt(u.searchParams.get("h")) || null, via: "imgres link",
                       way: "imgres"};
      }
      return null;
    }
    function title() {
      const [im] = first(tile, L.thumbnail);
      if (im && im.alt) return im.alt;
      const f = firstVisible(L.preview_title);
      return f ? (f[0].title || f[0].textContent || "").trim() || null : null;
    }
    function finish(res) {
      res.thumb = thumb(); res.title = title(); res.click = clickSel;
      if (!res.page) {
        const f = firstVisible(L.preview_title);
        if (f && f[0].href && !f[0].href.endsWith("#")) res.page = f[0].href;
      }
      resolve(res);
    }
    const before = new Set(previews().map(([e]) => srcOf(e)));
    tile.scrollIntoView({block: "center"});
    const [target, clickSel] = first(tile, L.click);
    const el = target || tile;
    for (const type of H.events) {
      el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window}));
    }
    const hovered = imgres();
    if (hovered) { finish(hovered); return; }
    setTimeout(() => {
      const late = imgres();
      if (late) finish(late); else clickForPreview();
    }, H.wait_ms);
    function clickForPreview() {
      // The 2020-2023 page writes its /imgres link on mousedown, the 2024 page reacts to click.
      const down = {bubbles: true, cancelable: true, view: window};
      el.dispatchEvent(new MouseEvent("mousedown", down));
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
                     h: e.naturalHeight || null, via: c, way: "preview"};
            break;
          }
        }
        if (found || performance.now() - t0 > timeoutMs) {
          finished = true;
          observer.disconnect();
          if (timer) clearTimeout(timer);
          finish(found || {original: null, page: null, w: null, h: null, via: null, way: null});
        } else if (!timer) {
          timer = setTimeout(() => { timer = null; poll(); }, 30);
        }
      }
      poll();
    }
  });
}

(async () => {
  const out = [];
  try { for (let k = 0; k < idxs.length; k++) out.push(await openTile(idxs[k], timeouts[k])); }
  finally { done(out); }
})();
"""
)

# Fetch a URL from inside the page (same cookies), for Bing's async endpoint.
FETCH_TEXT = """
const [url, done] = arguments;
fetch(url, {credentials: "include"}).then((r) => r.text()).then(done).catch(() => done(null));
"""

# Fetch a URL from inside the page (its cookies), keeping the status: args (url) ->
# {status, text} (status 0 when the request itself failed).
FETCH_WITH_STATUS = """
const [url, done] = arguments;
fetch(url, {credentials: "include"})
  .then((r) => r.text().then((t) => done({status: r.status, text: t})))
  .catch((e) => done({status: 0, text: String(e)}));
"""
