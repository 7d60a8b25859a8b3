"""The Label queue's component: every decision is bound to the face that was on screen.

AppTest (no browser) sends the component's messages directly (``testing.send``); the
browser test keys ahead in a real headless Chromium and checks, from the page's own
log of the faces it showed, that no key decided a face that was not on screen.
"""

from __future__ import annotations

import statistics
import time

import pytest

from catalog.db import utc_now
from catalog.events import face_state, record
from curation_ui import queue as q
from curation_ui.components.queue.testing import face_on_show, press, send, view
from curation_ui.views.queue import AHEAD
from tests.curation_ui.conftest import (
    add_chip_faces,
    open_page,
    page_text,
    review_server,
    screenshot,
    shots_dir,
    wait_for,
)


def events(cat, who: str | None = None):
    sql = "SELECT face_id, annotator, action, label, reason FROM label_events"
    rows = cat.conn.execute(
        sql + (" WHERE annotator = ?" if who else "") + " ORDER BY id", (who,) if who else ()
    )
    return [tuple(r) for r in rows]


def now_ms() -> float:
    """Epoch milliseconds of now (as the browser sends when a face reached the screen)."""
    return time.time() * 1000


# --- AppTest: the server side of the component ------------------------------------------


def test_the_page_gives_the_browser_the_face_on_show_and_the_next_ones(app_env):
    ids = app_env.ids
    at = open_page("queue")
    data = view(at)
    unlabelled = [ids["none_1"], ids["none_2"], ids["none_3"]]
    assert [f["id"] for f in data["faces"]] == unlabelled
    assert all(f["src"].startswith("data:image/png;base64,") for f in data["faces"])
    assert data["labels"] == list(app_env.cat.labels.names)
    assert set(at.session_state["q_served"]) == set(unlabelled)
    at.selectbox(key="q_subset").select("all").run()
    data = view(at)
    # The face on show and up to AHEAD more (the dataset holds 10 faces in all).
    assert len(data["faces"]) == min(1 + AHEAD, 10) and data["epoch"] == 2  # a new queue


def test_a_decision_for_a_face_never_served_is_refused(app_env):
    cat, ids = app_env.cat, app_env.ids
    at = open_page("queue")  # unlabelled: none_1..3 are served, sad_1 is not
    at = press(at, "label", "happy", face=ids["sad_1"])
    assert events(cat) == []
    assert not at.exception
    (note,) = view(at)["notes"]
    assert note["text"] == f"Not recorded: face #{ids['sad_1']} was never shown in this session."
    assert view(at)["acked"] == 1  # answered, never retried
    # Decisions that were served are recorded for exactly their face, in order, each once.
    at = send(
        at,
        {"seq": 2, "face": ids["none_2"], "action": "label", "label": "sad"},
        {"seq": 3, "face": ids["none_1"], "action": "reject", "reason": "not_a_face"},
    )
    at = send(  # the same message again (a rerun that sees it twice): nothing new
        at,
        {"seq": 2, "face": ids["none_2"], "action": "label", "label": "sad"},
        {"seq": 3, "face": ids["none_1"], "action": "reject", "reason": "not_a_face"},
    )
    assert events(cat) == [
        (ids["none_2"], "ann", "label", "sad", None),
        (ids["none_1"], "ann", "reject", None, "not_a_face"),
    ]


def test_undo_takes_back_this_persons_last_decision_and_shows_it_again(app_env):
    cat, ids = app_env.cat, app_env.ids
    at = open_page("queue")
    press(at, "label", "fear")
    press(at, "label", "angry")
    assert face_on_show(at) == ids["none_3"]
    at = press(at, "undo")
    assert face_on_show(at) == ids["none_2"]
    assert view(at)["jump"] == {"seq": 3, "face": ids["none_2"]}
    assert events(cat)[-1] == (ids["none_2"], "ann", "undo", None, None)
    assert face_state(cat.conn, ids["none_1"]).label == "fear"  # the earlier one stands


def test_two_sessions_deciding_the_same_face_at_once_both_count(app_env):
    cat, ids = app_env.cat, app_env.ids
    ann, bo = open_page("queue", "ann"), open_page("queue", "bo")
    fid = ids["none_1"]
    assert face_on_show(ann) == face_on_show(bo) == fid
    shown = now_ms()  # both had it on screen before either decided
    press(ann, "label", "happy", shown_ms=shown)
    press(bo, "label", "sad", shown_ms=shown)
    assert events(cat) == [(fid, "ann", "label", "happy", None), (fid, "bo", "label", "sad", None)]
    st = face_state(cat.conn, fid)
    assert (st.status, st.disputed, st.annotators) == ("pending", True, 2)


def test_a_face_decided_by_someone_else_before_it_reached_the_screen_is_refused(app_env):
    cat, ids = app_env.cat, app_env.ids
    at = open_page("queue", "ann")  # holds none_1..3 in the browser
    record(cat.conn, ids["none_2"], "bo", "label", label="sad")  # meanwhile, elsewhere
    time.sleep(0.01)
    at = press(at, "label", "happy", face=ids["none_2"], shown_ms=now_ms())
    assert [e for e in events(cat) if e[1] == "ann"] == []
    assert "was decided by bo before you saw it" in view(at)["notes"][-1]["text"]
    assert ids["none_2"] not in [f["id"] for f in view(at)["faces"]]  # gone from the window


def test_queue_apply_binds_each_decision_to_its_face(seeded):
    cat, ids = seeded.cat, seeded.ids
    state = q.start(cat.conn, q.QueueFilter("unlabelled"), "ann")
    served = set(q.window(cat.conn, state, "ann"))
    # A decision for a face other than the current one decides that face, not the current.
    d = q.Decision(1, ids["none_3"], "label", label="sad")
    out = q.apply(cat.conn, state, "ann", d, served)
    assert out.refused is None and out.state.current == ids["none_1"]
    assert face_state(cat.conn, ids["none_3"]).label == "sad"
    assert q.window(cat.conn, out.state, "ann") == [ids["none_1"], ids["none_2"]]
    assert q.Decision.from_message({"seq": 1, "face": None, "action": "label"}) is None
    assert q.Decision.from_message({"seq": "1", "face": 3, "action": "label"}) is None
    assert q.Decision.from_message({"seq": 1, "face": 3, "action": "drop"}) is None
    shown = q.Decision.from_message({"seq": 1, "face": 3, "action": "skip", "shown_ms": 0.5e12})
    assert shown is not None and shown.shown_at == "1985-11-05T00:53:20.000Z"
    assert utc_now() > shown.shown_at


# --- the real component in a real browser -------------------------------------------------


@pytest.fixture
def many_unlabelled(seeded, make_face, single_face_photo):
    return add_chip_faces(seeded, make_face, single_face_photo, None, 100)


@pytest.fixture
def server(many_unlabelled, tmp_path):
    with review_server(many_unlabelled, tmp_path) as url:
        yield url


LOG_JS = "return (window.__facesiftQueue || {log: []}).log;"


@pytest.mark.browser
@pytest.mark.slow
def test_keying_ahead_decides_only_faces_that_were_on_screen(
    server, browsers, many_unlabelled, tmp_path
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    cat = many_unlabelled.cat
    browser = browsers()
    browser.get(server + "/queue?annotator=kb&q_subset=unlabelled")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".fsq[data-face]:not([data-face=''])"),
        60,
        "the first face",
    )
    wait_for(lambda: "1 angry" in page_text(browser), 30, "the keys")
    screenshot(browser, shots_dir(tmp_path) / "review-queue-component.png")
    first = int(browser.find_element(By.CSS_SELECTOR, ".fsq").get_attribute("data-face"))
    assert f"face #{first} · pending · shows no label" in page_text(browser)
    browser.find_element(By.TAG_NAME, "h2").click()  # focus the page, not a widget

    keys = "4512x367" * 3
    presses = 20
    chain = ActionChains(browser, duration=0)
    for key in keys[:presses]:
        chain.send_keys(key).pause(0.05)
    chain.perform()

    log = browser.execute_script(LOG_JS)
    pressed = [e for e in log if e["ev"] == "key"]
    assert len(pressed) == presses
    # A key with no face on screen (the browser ran out of faces while the server
    # answered) decides nothing; the others decide the face that was on screen.
    decided = [e for e in pressed if e["face"] is not None]
    assert len(decided) > AHEAD  # at least the faces loaded up front
    wait_for(lambda: len(events(cat, "kb")) == len(decided), 60, "every decision recorded")
    time.sleep(1.0)  # and nothing more arrives
    recorded = events(cat, "kb")
    labels = dict(zip("1234567", cat.labels.names, strict=False))
    want = [
        (e["face"], "kb", "reject", None, "not_a_face")
        if e["key"] == "x"
        else (e["face"], "kb", "label", labels[e["key"]], None)
        for e in decided
    ]
    assert recorded == want  # each decision for the face it named, in order
    faces = [r[0] for r in recorded]
    assert len(faces) == len(set(faces)), "a face was decided twice"
    shown = [e for e in log if e["ev"] == "shown"]
    for e in decided:  # each decided face was on screen before its key
        before = [s for s in shown if s["face"] == e["face"] and s["t"] <= e["t"]]
        assert before, f"face {e['face']} was decided by key {e['key']} before it was shown"
    data_shown = browser.find_element(By.CSS_SELECTOR, ".fsq").get_attribute("data-shown")
    assert [int(f) for f in data_shown.split()][: len(faces)] == faces
    # Key -> the next face painted, for the keys whose next face was already loaded.
    painted = "return window.__facesiftQueue.log.every(e => e.ev !== 'shown' || e.painted);"
    wait_for(lambda: browser.execute_script(painted), 10, "every face painted")
    shown = [e for e in browser.execute_script(LOG_JS) if e["ev"] == "shown"]
    lat = sorted(s["painted"] - s["keyT"] for s in shown if s["keyT"] is not None)
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(
        f"key -> next face: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {lat[-1]:.1f} ms "
        f"({len(lat)} keys); {len(decided)} of {presses} presses found a face on screen"
    )
    # No key waited for the server: each next face was drawn before the page's answer
    # to that key came (timings are figures in benchmarks/bench_review_browser.py).
    # The key's own time (keyT) is when the browser made the event; under load a
    # message from the server can be handled before the key is, so the window runs
    # from when the page's handler took the key ("at") to the face being shown.
    log = browser.execute_script(LOG_JS)
    handled = {e["t"]: e["at"] for e in log if e["ev"] == "key"}
    for s in (e for e in log if e["ev"] == "shown" and e["keyT"] is not None):
        at = handled[s["keyT"]]
        answers = [d for d in log if d["ev"] == "data" and at <= d["t"] < s["t"]]
        assert not answers, f"face {s['face']} was shown after an answer from the server"

    # Undo shows the last decided face again at once and takes back exactly its decision.
    def on_screen() -> int | None:
        found = browser.find_elements(By.CSS_SELECTOR, ".fsq[data-face]")
        face = found[0].get_attribute("data-face") if found else None
        return int(face) if face else None

    ActionChains(browser).send_keys("z").perform()
    assert on_screen() == faces[-1]
    wait_for(lambda: len(events(cat, "kb")) == len(faces) + 1, 30, "the undo event")
    assert events(cat, "kb")[-1] == (faces[-1], "kb", "undo", None, None)
    # After a reload the browser knows no history: the page undoes this person's latest
    # standing decision and the browser shows that face.
    browser.get(server + "/queue?annotator=kb&q_subset=unlabelled")
    wait_for(on_screen, 60, "a face after the reload")
    browser.find_element(By.TAG_NAME, "h2").click()
    ActionChains(browser).send_keys("z").perform()
    wait_for(lambda: on_screen() == faces[-2], 30, "the face undone after the reload")
    assert events(cat, "kb")[-1] == (faces[-2], "kb", "undo", None, None)
    assert "Label queue" in page_text(browser)


@pytest.mark.browser
@pytest.mark.slow
def test_a_refused_decision_says_why_on_screen_and_records_nothing(
    server, browsers, many_unlabelled
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    cat = many_unlabelled.cat
    browser = browsers()
    browser.get(server + "/queue?annotator=kb&q_subset=unlabelled")

    def on_screen() -> int | None:
        found = browser.find_elements(By.CSS_SELECTOR, ".fsq[data-face]")
        face = found[0].get_attribute("data-face") if found else None
        return int(face) if face else None

    first = wait_for(on_screen, 60, "the first face")
    # The browser learns the server's clock (one message at start, echoed with its time).
    clock = "return window.__facesiftQueue.log.some(e => e.ev === 'clock');"
    wait_for(lambda: browser.execute_script(clock), 30, "the clock")
    wait_for(lambda: "1 angry" in page_text(browser), 30, "the keys")
    second = first + 1  # the next unlabelled face, already loaded in the browser
    record(cat.conn, second, "bo", "label", label="sad")  # bo decides it meanwhile
    time.sleep(1.0)  # well before it reaches the screen (the clocks agree within a round trip)
    browser.find_element(By.TAG_NAME, "h2").click()
    ActionChains(browser).send_keys("4").perform()  # happy for the first face
    assert on_screen() == second  # loaded before bo decided: shown at once
    ActionChains(browser).send_keys("4").perform()
    status = f"Not recorded: face #{second} was decided by bo before you saw it."
    wait_for(lambda: status in page_text(browser), 30, status)
    assert events(cat, "kb") == [(first, "kb", "label", "happy", None)]
    assert on_screen() not in (first, second)


@pytest.mark.browser
@pytest.mark.slow
def test_two_browsers_deciding_the_same_face_at_once_both_count(server, browsers, many_unlabelled):
    import threading

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    cat = many_unlabelled.cat
    people = {"ann": (browsers(), "4"), "bo": (browsers(), "5")}  # happy, sad
    for who, (browser, _) in people.items():
        browser.get(server + f"/queue?annotator={who}&q_subset=unlabelled")
    faces = {}
    face = ".fsq[data-face]:not([data-face=''])"
    for who, (browser, _) in people.items():
        found = wait_for(lambda b=browser: b.find_elements(By.CSS_SELECTOR, face), 60, who)
        faces[who] = int(found[0].get_attribute("data-face"))
        wait_for(lambda b=browser: "1 angry" in page_text(b), 30, who)
        browser.find_element(By.TAG_NAME, "h2").click()
    assert faces["ann"] == faces["bo"]  # the same face on both screens
    fid = faces["ann"]
    start = threading.Barrier(2)

    def press(browser, key):
        start.wait()
        ActionChains(browser).send_keys(key).perform()

    threads = [threading.Thread(target=press, args=p) for p in people.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: len(events(cat)) == 2, 60, "both decisions")
    time.sleep(1.0)  # and nothing more
    assert sorted(events(cat)) == [
        (fid, "ann", "label", "happy", None),
        (fid, "bo", "label", "sad", None),
    ]
    st = face_state(cat.conn, fid)
    assert (st.status, st.disputed, st.annotators) == ("pending", True, 2)
    for browser, _ in people.values():  # neither was told no
        assert "Not recorded" not in page_text(browser)
