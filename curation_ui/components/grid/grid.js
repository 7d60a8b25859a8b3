// The review grid in the browser: a page of face chips, ticked here, acted on there.
//
// A click on a chip (or space on the face in the focus ring) ticks it at once, with
// no message to the server. An action (x reject marked, r relabel marked, a accept
// the rest, z undo; also buttons) goes to the server in the component's state, in an
// outbox the server acknowledges by sequence number; it names the layout (the page
// as the server sent it), every face on screen and the faces ticked. The answer is
// shown in the status line beside the actions. The chips never move: a decided face
// stays where it was, drawn as decided, until the server sends another layout.
// The thumbnails live in the window (they outlive a remount of the component): the
// server sends each one once per session, and the next page's ahead of time
// (data.prefetch), decoded here before the page is turned.
// Every tick and action is logged in window.__facesiftGrid.log (the browser tests
// read it).

const G = (window.__facesiftGrid ||= { seq: 0, log: [], images: new Map(), decoded: new Map() });
const KEPT_IMAGES = 600; // thumbnails kept (the server counts on the last 400 it sent)
const KEPT_DECODED = 150; // decoded images kept alive (a page ahead and this one)
const KEYS =
  "Keys: ←↑→↓ move the ring · space tick · x reject marked · r relabel marked · " +
  "a accept the rest · z undo · PgUp / PgDn pages";

function kbdButton(key, text, name) {
  const b = el("button");
  b.type = "button";
  b.dataset.action = name;
  b.title = "key " + key;
  b.append(el("kbd", "", key), document.createTextNode(" " + text));
  return b;
}

function mount(parent) {
  const root = el("div", "fsg");
  const grid = el("div", "fsg-grid");
  grid.setAttribute("role", "grid");
  const empty = el("div", "fsg-empty");
  const bar = el("div", "fsg-bar");
  const reason = el("select", "fsg-reason");
  reason.title = "Reject reason";
  const reject = kbdButton("x", "Reject marked", "reject");
  reject.classList.add("primary");
  const relabelAs = el("select", "fsg-relabel");
  relabelAs.title = "Relabel as";
  const relabel = kbdButton("r", "Relabel marked", "relabel");
  const accept = kbdButton("a", "Accept the rest of this page", "accept_rest");
  const undo = kbdButton("z", "Undo", "undo");
  const status = el("div", "fsg-status");
  status.setAttribute("role", "status");
  const keys = el("div", "fsg-keys", KEYS); // in the bar: on screen wherever the page scrolls
  bar.append(reason, reject, relabelAs, relabel, accept, undo, status, keys);
  root.append(grid, empty, bar);
  parent.appendChild(root);
  const s = {
    root, grid, empty, reason, relabelAs, status,
    layout: null, order: [], cells: new Map(), faces: new Map(), ticked: new Set(),
    focus: 0, columns: 8, outbox: [], version: -1, lastSaid: 0, images: G.images, reported: new Set(),
    reasonsFor: "", labelsFor: "",
  };
  reject.addEventListener("click", (e) => act(s, "reject", e.timeStamp));
  relabel.addEventListener("click", (e) => act(s, "relabel", e.timeStamp));
  accept.addEventListener("click", (e) => act(s, "accept_rest", e.timeStamp));
  undo.addEventListener("click", (e) => act(s, "undo", e.timeStamp));
  listen(s, onKey, say);
  return s;
}

function say(s, text, kind) {
  s.status.textContent = text || "";
  s.status.className = "fsg-status" + (kind ? " " + kind : "");
  s.status.title = text || "";
}

function painted(entry) {
  requestAnimationFrame(() => setTimeout(() => (entry.painted = performance.now()), 0));
}

function drawCell(s, id) {
  const cell = s.cells.get(id);
  const face = s.faces.get(id);
  if (!cell || !face) return;
  const busy = s.outbox.some(
    (d) => (d.action === "reject" || d.action === "relabel") && d.marked.includes(id),
  );
  const open = face.open && !busy;
  cell.classList.toggle("gone", !open);
  cell.classList.toggle("ticked", open && s.ticked.has(id));
  cell.setAttribute("aria-selected", String(open && s.ticked.has(id)));
  cell.dataset.ticked = open && s.ticked.has(id) ? "1" : "";
  cell.querySelector(".fsg-cap").textContent = face.caption || "";
  cell.querySelector(".fsg-state").textContent = busy ? "sent…" : open ? "" : face.state || "";
  cell.title = face.detail || "";
}

function drawFocus(s) {
  s.order.forEach((id, i) => s.cells.get(id).classList.toggle("focus", i === s.focus));
  s.root.dataset.focus = s.order.length ? String(s.order[s.focus]) : "";
}

function tick(s, id, t) {
  const face = s.faces.get(id);
  const cell = s.cells.get(id);
  if (!face || !cell || cell.classList.contains("gone")) return;
  const on = !s.ticked.has(id);
  if (on) s.ticked.add(id);
  else s.ticked.delete(id);
  drawCell(s, id);
  const entry = { ev: "tick", face: id, on, t: t ?? performance.now() };
  G.log.push(entry);
  painted(entry);
}

// Keep a thumbnail (the newest last: the oldest are forgotten first) and decode it now,
// so that showing it later costs no decoding.
function keep(s, id, src, decode) {
  s.images.delete(id);
  s.images.set(id, src);
  if (!decode || G.decoded.has(id)) return;
  const im = new Image();
  im.src = src;
  im.decode().catch(() => {});
  G.decoded.set(id, im);
  for (const old of G.decoded.keys()) {
    if (G.decoded.size <= KEPT_DECODED) break;
    G.decoded.delete(old);
  }
}

function picture(src) {
  const img = el("img");
  img.alt = "";
  img.draggable = false;
  img.src = src;
  return img;
}

// A thumbnail asked for again (see build) arrives for a cell drawn without it.
function fill(s, faces) {
  for (const f of faces) {
    const cell = f.src && s.cells.get(f.id);
    const missing = cell && cell.querySelector(".fsg-nochip");
    if (missing) missing.replaceWith(picture(f.src));
  }
}

function build(s, faces) {
  s.grid.replaceChildren();
  s.cells.clear();
  s.order = faces.map((f) => f.id);
  const want = [];
  for (const f of faces) {
    const cell = el("div", "fsg-cell");
    cell.dataset.id = String(f.id);
    cell.setAttribute("role", "gridcell");
    const box = el("div", "fsg-img");
    const src = f.src || s.images.get(f.id);
    if (src) keep(s, f.id, src, false);
    else if (f.chip) want.push(f.id); // sent before, forgotten since: asked for again
    if (src) {
      box.append(picture(src));
    } else {
      box.append(el("span", "fsg-nochip", "(no chip)"));
    }
    box.append(el("span", "fsg-state"));
    const name = el("div", "fsg-name");
    name.append(el("span", "fsg-box"), document.createTextNode(f.name));
    cell.append(box, name, el("div", "fsg-cap"));
    cell.addEventListener("click", (e) => {
      const i = s.order.indexOf(f.id);
      if (i >= 0) s.focus = i;
      drawFocus(s);
      tick(s, f.id, e.timeStamp);
    });
    s.grid.append(cell);
    s.cells.set(f.id, cell);
  }
  return want;
}

function options(select, items, placeholder) {
  const keep = select.value;
  select.replaceChildren();
  if (placeholder) {
    const o = el("option", "", placeholder);
    o.value = "";
    select.append(o);
  }
  for (const [value, text] of items) {
    const o = el("option", "", text);
    o.value = value;
    select.append(o);
  }
  if (keep && items.some(([v]) => v === keep)) select.value = keep;
}

function act(s, action, t) {
  const shown = s.order.slice();
  const marked = shown.filter((id) => s.ticked.has(id) && !s.cells.get(id).classList.contains("gone"));
  const label = s.relabelAs.value || null;
  if ((action === "reject" || action === "relabel") && !marked.length) {
    say(s, "Mark some faces first (click a chip, or space on the ringed one).", "warn");
    return;
  }
  if (action === "relabel" && !label) {
    say(s, "Choose the right emotion first (relabel as…), then relabel the marked faces.", "warn");
    return;
  }
  if (action !== "undo" && s.layout === null) return;
  const d = {
    seq: ++G.seq,
    action,
    layout: s.layout,
    shown,
    marked,
    reason: s.reason.value || null,
    label,
  };
  G.log.push({ ev: "action", action, seq: d.seq, marked, t: t ?? performance.now() });
  s.outbox.push(d);
  if (action === "reject" || action === "relabel") {
    marked.forEach((id) => s.ticked.delete(id));
    marked.forEach((id) => drawCell(s, id));
  }
  const n = marked.length;
  const doing = {
    reject: `Rejecting ${n} faces…`,
    relabel: `Relabelling ${n} faces as ${label}…`,
    accept_rest: "Accepting the rest of this page…",
    undo: "Undoing your last action…",
  }[action];
  say(s, doing, "busy");
  sendSoon(s);
}

function send(s, want) {
  const here = new Set(s.order);
  for (const id of s.images.keys()) {
    if (s.images.size <= KEPT_IMAGES) break;
    if (!here.has(id)) s.images.delete(id);
  }
  s.reported = new Set(s.images.keys());
  s.setState("msg", {
    outbox: s.outbox.map((d) => ({ ...d })),
    have: [...s.reported], // thumbnails already here: the server sends only the others
    want: want || [], // thumbnails the server thinks are here, and are not
    mid: G.seq,
  });
}

function move(s, dx, dy) {
  const n = s.order.length;
  if (!n) return;
  let i = s.focus + dx + dy * s.columns;
  if (i < 0 || i >= n) i = dy ? s.focus : Math.min(Math.max(i, 0), n - 1);
  s.focus = i;
  drawFocus(s);
  s.cells.get(s.order[i]).scrollIntoView({ block: "nearest", inline: "nearest" });
}

const ARROWS = { arrowleft: [-1, 0], arrowright: [1, 0], arrowup: [0, -1], arrowdown: [0, 1] };
const ACTION_KEYS = { x: "reject", r: "relabel", a: "accept_rest", z: "undo" };

function onKey(s, e) {
  if (!s.root.isConnected) {
    document.removeEventListener("keydown", s.onKey, true);
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName || ""))) return;
  const key = (e.key || "").toLowerCase();
  if (ARROWS[key]) {
    e.preventDefault();
    e.stopPropagation();
    move(s, ...ARROWS[key]);
  } else if (key === " " || key === "spacebar") {
    if (e.repeat || !s.order.length) return;
    e.preventDefault();
    e.stopPropagation();
    tick(s, s.order[s.focus], e.timeStamp);
  } else if (ACTION_KEYS[key] && !e.repeat && !e.shiftKey) {
    e.preventDefault();
    e.stopPropagation();
    act(s, ACTION_KEYS[key], e.timeStamp);
  }
}

function update(s, data) {
  if (typeof data.version !== "number" || data.version <= s.version) return;
  s.version = data.version;
  const t = performance.now();
  s.columns = data.columns || 8;
  s.root.style.setProperty("--fsg-columns", String(s.columns));
  const rsig = JSON.stringify(data.reasons || []);
  if (rsig !== s.reasonsFor) {
    s.reasonsFor = rsig;
    options(s.reason, data.reasons || []);
    if (data.reason) s.reason.value = data.reason;
  }
  const lsig = JSON.stringify(data.labels || []);
  if (lsig !== s.labelsFor) {
    s.labelsFor = lsig;
    options(s.relabelAs, (data.labels || []).map((l) => [l, l]), "relabel as…");
  }
  s.outbox = s.outbox.filter((d) => d.seq > (data.acked || 0));
  const faces = data.faces || [];
  for (const f of faces) {
    if (f.src) keep(s, f.id, f.src, false);
  }
  for (const f of data.prefetch || []) {
    if (f.src) keep(s, f.id, f.src, true);
  }
  // Forget the oldest thumbnails, except those the server was told are here (it will
  // not send them again).
  for (const id of s.images.keys()) {
    if (s.images.size <= KEPT_IMAGES) break;
    if (!s.reported.has(id)) s.images.delete(id);
  }
  s.faces = new Map(faces.map((f) => [f.id, f]));
  const fresh = data.layout !== s.layout;
  let want = [];
  if (fresh) {
    s.layout = data.layout;
    want = build(s, faces);
    const here = new Set(s.order);
    s.ticked = new Set([...s.ticked].filter((id) => here.has(id)));
    s.focus = Math.min(s.focus, Math.max(0, s.order.length - 1));
  } else {
    fill(s, faces);
  }
  s.order.forEach((id) => drawCell(s, id));
  drawFocus(s);
  s.empty.textContent = faces.length ? "" : data.empty_text || "";
  s.root.dataset.layout = String(data.layout);
  const said = data.said;
  if (said && said.seq > s.lastSaid) {
    s.lastSaid = said.seq;
    if (!s.outbox.length) say(s, said.text, said.kind === "ok" ? "ok" : "warn");
    const entry = { ev: "said", seq: said.seq, text: said.text, fresh, t };
    G.log.push(entry);
    painted(entry);
  } else if (!s.outbox.length && s.status.classList.contains("busy")) {
    say(s, "", "");
  }
  s.root.dataset.acked = String(data.acked || 0);
  s.root.dataset.version = String(data.version); // a new run of the page's fragment
  if (want.length) send(s, want);
}

export default function (component) {
  return detach(component, attach(component, "__fsg"));
}
