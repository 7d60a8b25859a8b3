// The Label queue in the browser: the face on show and the next ones, already loaded.
//
// A key press decides the face on screen: the next face is shown at once and the
// decision (face id, action, when the face appeared) goes to the server in the
// component's state, in an outbox the server acknowledges by sequence number
// (a decision is applied once however many reruns see it). A key with no face on
// screen decides nothing. Undo shows the last decided face again. Every face shown
// and every key (and every data update from the server) is logged in
// window.__facesiftQueue.log, the faces shown also in the root's data-shown
// attribute (the browser tests read them).

const G = (window.__facesiftQueue ||= { seq: 0, log: [] });
const SHOWN_KEPT = 500; // face ids kept in data-shown
const KEPT_IMAGES = 64; // chips kept loaded (the window is 9)

function mount(parent) {
  const root = el("div", "fsq");
  const stage = el("div", "fsq-stage");
  const frame = el("div", "fsq-frame");
  const img = el("img", "fsq-img");
  img.alt = "";
  img.decoding = "sync";
  const empty = el("div", "fsq-empty");
  frame.append(img, empty);
  const side = el("div", "fsq-side");
  const caption = el("div", "fsq-caption");
  const hint = el("div", "fsq-hint");
  side.append(caption, hint);
  stage.append(frame, side);
  const keys = el("div", "fsq-keys");
  const status = el("div", "fsq-status");
  status.setAttribute("role", "status");
  root.append(stage, keys, status);
  parent.appendChild(root);
  const s = {
    root, img, empty, caption, hint, keys, status,
    queue: [], current: null, outbox: [], history: [], decided: new Set(),
    version: -1, epoch: null, lastJump: 0, lastNote: 0, waitUndo: 0,
    offset: 0, rtt: Infinity, lastPing: 0, labels: [], reason: null, keysFor: "", emptyText: "", images: new Map(),
  };
  listen(s, onKey, say);
  return s;
}

function prefetch(s, face) {
  if (!face.src || s.images.has(face.id)) return;
  const im = new Image();
  im.src = face.src;
  im.decode().catch(() => {});
  s.images.set(face.id, im);
  if (s.images.size > KEPT_IMAGES) s.images.delete(s.images.keys().next().value);
}

function say(s, text, kind) {
  s.status.textContent = text || "";
  s.status.className = "fsq-status" + (kind ? " " + kind : "");
}

function showText(s, face) {
  s.caption.textContent = face ? face.caption : "";
  s.hint.replaceChildren();
  for (const h of (face && face.hints) || []) {
    const row = el("div", "fsq-hint-row", h.text);
    if (typeof h.score === "number") {
      const bar = el("div", "fsq-bar");
      const fill = el("div");
      fill.style.width = Math.round(Math.max(0, Math.min(1, h.score)) * 100) + "%";
      bar.append(fill);
      row.append(bar);
    }
    s.hint.append(row);
  }
}

function show(s, face, keyT, emptyText) {
  s.current = face;
  if (!face) {
    s.img.hidden = true;
    s.empty.textContent = emptyText || "";
    s.root.dataset.face = "";
    showText(s, null);
    return;
  }
  const pre = s.images.get(face.id); // loaded and decoded ahead: shown as it is
  const src = face.src || pre?.src;
  s.empty.textContent = src ? "" : "(no chip for this face)";
  if (pre && pre !== s.img) {
    pre.className = "fsq-img";
    pre.alt = "";
    s.img.replaceWith(pre);
    s.img = pre;
  } else if (src && !pre) {
    const img = el("img", "fsq-img"); // a new element: the one on show may be a kept one
    img.alt = "";
    img.decoding = "sync";
    img.src = src;
    s.img.replaceWith(img);
    s.img = img;
  }
  s.img.hidden = !src;
  showText(s, face);
  face.shownMs = Date.now();
  s.root.dataset.face = String(face.id);
  const ids = (s.root.dataset.shown ? s.root.dataset.shown.split(" ") : []).concat(String(face.id));
  s.root.dataset.shown = ids.slice(-SHOWN_KEPT).join(" ");
  const entry = { ev: "shown", face: face.id, t: performance.now(), keyT: keyT ?? null };
  G.log.push(entry);
  // Painted: the frame after this DOM change has been drawn.
  requestAnimationFrame(() => setTimeout(() => (entry.painted = performance.now()), 0));
}

function showNext(s, keyT) {
  while (s.queue.length && s.decided.has(s.queue[0].id)) s.queue.shift();
  const face = s.queue.shift() || null;
  show(s, face, keyT, "Loading the next faces…");
}

function send(s) {
  s.setState("msg", {
    outbox: s.outbox.map((d) => ({ ...d })),
    have: [...s.images.keys()], // chips already here: the server sends only the others
    ping: Date.now(), // echoed with the server's time: the browser's clock offset
    shown: s.current ? s.current.id : null,
    epoch: s.epoch,
    mid: G.seq,
  });
}

function decide(s, action, label, keyT, key) {
  const face = s.current;
  if (!face) {
    G.log.push({ ev: "key", key, face: null, action, label: label || null, t: keyT, at: performance.now(), seq: null });
    say(s, "No face on screen: nothing decided.", "warn");
    return;
  }
  const d = {
    seq: ++G.seq,
    face: face.id,
    action,
    label: label || null,
    reason: action === "reject" ? s.reason : null,
    shown_ms: face.shownMs + s.offset,
  };
  G.log.push({ ev: "key", key, face: face.id, action, label: d.label, t: keyT, at: performance.now(), seq: d.seq });
  s.outbox.push(d);
  s.history.push(face);
  s.decided.add(face.id);
  showNext(s, keyT);
  sendSoon(s);
}

function undo(s, keyT) {
  const d = { seq: ++G.seq, face: null, action: "undo" };
  G.log.push({ ev: "key", key: "z", face: null, action: "undo", t: keyT, at: performance.now(), seq: d.seq });
  const back = s.history.pop();
  if (s.current) s.queue.unshift(s.current);
  if (back) {
    d.face = back.id;
    s.decided.delete(back.id);
    show(s, back, keyT);
  } else {
    s.waitUndo = d.seq;
    show(s, null, keyT, "Taking back your last decision…");
  }
  s.outbox.push(d);
  sendSoon(s);
}

function act(s, key, keyT) {
  if (key === "z") return undo(s, keyT);
  if (key === "x") return decide(s, "reject", null, keyT, key);
  if (key === "s") return decide(s, "skip", null, keyT, key);
  const n = Number(key);
  if (Number.isInteger(n) && n >= 1 && n <= s.labels.length && n <= 9) {
    return decide(s, "label", s.labels[n - 1], keyT, key);
  }
}

function onKey(s, e) {
  if (!s.root.isConnected) {
    document.removeEventListener("keydown", s.onKey, true);
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const t = e.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName || ""))) return;
  const key = (e.key || "").toLowerCase();
  const n = Number(key);
  const ours =
    key === "z" || key === "x" || key === "s" ||
    (/^[1-9]$/.test(key) && n <= s.labels.length);
  if (!ours) return;
  e.preventDefault();
  e.stopPropagation();
  act(s, key, e.timeStamp || performance.now());
}

function renderKeys(s, data) {
  const sig = JSON.stringify([s.labels, data.reason_text]);
  if (sig === s.keysFor) return;
  s.keysFor = sig;
  const buttons = [];
  s.labels.forEach((name, i) => {
    buttons.push([i < 9 ? String(i + 1) : "", name, "label_" + name]);
  });
  buttons.push(["x", "reject", "reject"]);
  buttons.push(["s", "skip", "skip"]);
  buttons.push(["z", "undo", "undo"]);
  s.keys.replaceChildren();
  for (const [key, text, name] of buttons) {
    const b = el("button");
    b.type = "button";
    b.dataset.action = name;
    b.title = (key ? "key " + key : "") + (name === "reject" ? ": " + (data.reason_text || "") : "");
    if (key) b.append(el("kbd", "", key));
    b.append(document.createTextNode(" " + text));
    const label = name.startsWith("label_") ? name.slice(6) : null;
    b.addEventListener("click", (e) => {
      const keyT = e.timeStamp || performance.now();
      if (label !== null) decide(s, "label", label, keyT, key);
      else act(s, key, keyT);
    });
    s.keys.append(b);
  }
}

function finish(s, data, faces) {
  if (s.current) return;
  if (s.waitUndo) {
    s.empty.textContent = "Taking back your last decision…";
    return;
  }
  const left = faces.filter((f) => !s.decided.has(f.id));
  const done = s.outbox.length === 0 && s.queue.length === 0 && left.length === 0;
  s.empty.textContent = done ? data.empty_text || "" : "Loading the next faces…";
}

// The server's clock minus the browser's: first a guess from the data's time (late by
// its delivery), then from each message the server echoed with its time, keeping the
// sample of the shortest round trip (its error is at most half of that).
function clock(s, data) {
  const now = Date.now();
  const pong = data.pong;
  if (pong && typeof pong.ping === "number" && pong.ping > s.lastPing) {
    s.lastPing = pong.ping;
    const rtt = now - pong.ping;
    if (rtt >= 0 && rtt <= s.rtt) {
      s.rtt = rtt;
      s.offset = pong.server_ms - (pong.ping + now) / 2;
      G.log.push({ ev: "clock", rtt, offset: s.offset, t: performance.now() });
    }
  } else if (s.rtt === Infinity && typeof data.server_ms === "number") {
    s.offset = data.server_ms - now;
  }
}

function update(s, data) {
  if (typeof data.version !== "number" || data.version <= s.version) return;
  s.version = data.version;
  G.log.push({ ev: "data", version: data.version, acked: data.acked, t: performance.now() });
  clock(s, data);
  s.labels = data.labels || [];
  s.reason = data.reason || null;
  renderKeys(s, data);
  s.outbox = s.outbox.filter((d) => d.seq > (data.acked || 0));
  for (const n of data.notes || []) {
    if (n.seq <= s.lastNote) continue;
    s.lastNote = n.seq;
    say(s, n.text, "warn");
    if (n.face != null && n.refused) {
      s.decided.delete(n.face);
      s.history = s.history.filter((f) => f.id !== n.face);
    }
    if (s.waitUndo === n.seq) s.waitUndo = 0;
  }
  const faces = data.faces || [];
  faces.forEach((f) => prefetch(s, f));
  if (data.epoch !== s.epoch) {
    // A new queue (another subset or filter): start on its first face.
    s.epoch = data.epoch;
    s.history = [];
    s.decided.clear();
    s.waitUndo = 0;
    s.queue = faces.slice();
    showNext(s, null);
    return finish(s, data, faces);
  }
  const jump = data.jump;
  if (jump && jump.seq > s.lastJump) {
    s.lastJump = jump.seq;
    const wanted = s.waitUndo === jump.seq || (jump.seq === G.seq && s.current?.id !== jump.face);
    const i = faces.findIndex((f) => f.id === jump.face);
    if (wanted && i >= 0) {
      s.waitUndo = 0;
      if (s.current && s.current.id !== jump.face) s.queue.unshift(s.current);
      s.decided.delete(jump.face);
      s.queue = faces.slice(i + 1).filter((f) => !s.decided.has(f.id));
      show(s, faces[i], null);
      return finish(s, data, faces);
    }
  }
  if (s.waitUndo) return finish(s, data, faces);
  const cur = s.current;
  const i = cur ? faces.findIndex((f) => f.id === cur.id) : -1;
  if (i >= 0) {
    // The same face stays on screen; only its text may have changed (e.g. after an undo).
    cur.caption = faces[i].caption;
    cur.hints = faces[i].hints;
    showText(s, cur);
  }
  const rest = i >= 0 ? faces.slice(i + 1) : faces;
  s.queue = rest.filter((f) => !s.decided.has(f.id) && (!cur || f.id !== cur.id));
  if (!cur) showNext(s, null);
  finish(s, data, faces);
}

export default function (component) {
  const s = attach(component, "__fsq");
  if (s.rtt === Infinity && !s.pinged) {
    s.pinged = true; // one message at start, so that the first keys know the clock
    send(s);
  }
  return detach(component, s);
}
