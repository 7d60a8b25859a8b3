// Shared by the review app's components: prepended to each component's own script
// (curation_ui.components.Component), which defines send(s).

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
