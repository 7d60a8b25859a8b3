// Shared by the review app's components: prepended to each component's own script
// (curation_ui.components.Component), which defines mount(parent),
// update(s, data), send(s), onKey(s, e) and say(s, text, kind).

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Send after the change on screen is drawn: Streamlit's handling of a new state value
// (serialising it, asking for a rerun, redrawing its own status) runs on this thread
// and would otherwise delay the frame. A hidden page draws no frames: the timer sends.
function sendSoon(s) {
  if (s.sendTimer) return;
  const fire = () => {
    if (!s.sendTimer) return;
    clearTimeout(s.sendTimer);
    s.sendTimer = null;
    send(s);
  };
  s.sendTimer = setTimeout(fire, 50);
  requestAnimationFrame(() => setTimeout(fire, 0));
}

// A run of the component: its state, kept on its element across reruns (mounted on the
// first run, or again when Streamlit drew a new element), given the run's data.
function attach(component, key) {
  const { data, parentElement, setStateValue } = component;
  let s = parentElement[key];
  if (!s || !s.root.isConnected) {
    s = mount(parentElement);
    parentElement[key] = s;
  }
  s.setState = setStateValue;
  update(s, data || {});
  return s;
}

// The cleanup Streamlit calls for the last run only when the component leaves the page.
function detach(component, s) {
  return () => {
    if (!component.parentElement.isConnected) unmount(s);
  };
}

// A mounted component's keys (its own onKey) and the watch on its unconfirmed decisions
// (said with its own say), both undone by unmount.
function listen(s, onKey, say) {
  s.onKey = (e) => onKey(s, e);
  document.addEventListener("keydown", s.onKey, true);
  watchOutbox(s, say);
}

function unmount(s) {
  clearInterval(s.watch);
  document.removeEventListener("keydown", s.onKey, true);
  s.root.remove();
}

// A decision the server has not confirmed after this long is said on screen, with its
// faces: the connection is gone or the login ended (behind the login gateway a removed
// account's page is cut off, so the app itself never hears the key), and a decision
// never confirmed is not saved. Cleared as soon as the server confirms again.
const UNCONFIRMED_MS = 5000;

function watchOutbox(s, say) {
  s.watch = setInterval(() => {
    const oldest = s.outbox[0];
    if (!oldest) {
      s.pendingSeq = 0;
      if (s.unconfirmedShown) {
        s.unconfirmedShown = false;
        say(s, "", "");
      }
      return;
    }
    if (oldest.seq !== s.pendingSeq) {
      s.pendingSeq = oldest.seq;
      s.pendingSince = performance.now();
    }
    if (s.unconfirmedShown || performance.now() - s.pendingSince < UNCONFIRMED_MS) return;
    s.unconfirmedShown = true;
    const ids = [...new Set(s.outbox.flatMap((d) => (d.face != null ? [d.face] : d.marked || [])))];
    const faces = ids.length ? ` (face ${ids.slice(0, 6).map((i) => "#" + i).join(", ")}${ids.length > 6 ? ", …" : ""})` : "";
    say(
      s,
      `Not saved: the server has not confirmed ${s.outbox.length} decision(s)${faces}; the connection ` +
        "or your session was lost. Reload the page (log in again) and decide those faces again.",
      "warn",
    );
  }, 1000);
}
