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
