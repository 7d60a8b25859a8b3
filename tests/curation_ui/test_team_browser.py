"""Two annotators, two real browsers, K = 2: second opinions stay independent.

Serves the review app with accounts and ``labels_per_face = 2``, logs ``ann`` and
``bo`` in from two headless Chromium sessions (through the login gateway), and has
them label every face of the second-opinion queue with the keyboard, turn about.
Neither page ever shows a label, a status or a dispute; at the end each face is
accepted where the two agreed and disputed where they did not, and every key
press is one event. Screenshots (login with a refused password, the
second-opinion queue) go to ``$FACESIFT_SCREENSHOTS`` when set, else to a temp dir.
"""

from __future__ import annotations

import re

import pytest

from catalog.events import face_state
from curation_ui.accounts import add_user, auth_path
from tests.conftest import cli_argv
from tests.curation_ui.conftest import (
    free_port,
    page_text,
    screenshot,
    serving,
    shots_dir,
    wait_for,
)

pytestmark = pytest.mark.browser

PASSWORDS = {"ann": "ann's long password", "bo": "bo's long password"}
KEYS = {"angry": "1", "fear": "3", "happy": "4", "sad": "5"}
FACE_TEXT = re.compile(r"face #(\d+) · your own decision")


def ann_says(face_id: int) -> str:
    return ("angry", "fear", "happy")[face_id % 3]


def bo_says(face_id: int) -> str:
    """bo agrees with ann on even face ids and says sad on odd ones (ann never says sad)."""
    return ann_says(face_id) if face_id % 2 == 0 else "sad"


@pytest.fixture
def team_server(seeded, tmp_path):
    """``facesift review --labels-per-face 2`` with two annotator accounts."""
    cat = seeded.cat
    users = auth_path(cat.paths.dir)  # the dataset's own users.toml
    for name, pw in PASSWORDS.items():
        add_user(users, name, pw)
    port = free_port()
    argv = cli_argv(
        "--dataset",
        cat.paths.name,
        "review",
        "--port",
        str(port),
        "--labels-per-face",
        "2",
        root=cat.paths.root,
    )
    with serving(argv, tmp_path / "streamlit.log", port) as url:
        yield url


class Annotator:
    """One person at one browser."""

    def __init__(self, driver, name: str):
        self.driver, self.name = driver, name

    def body(self) -> str:
        return page_text(self.driver)

    def find(self, css: str):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        def present():
            found = self.driver.find_elements(By.CSS_SELECTOR, css)
            try:
                return found[0] if found and found[0].is_displayed() else None
            except StaleElementReferenceException:  # replaced meanwhile: look again
                return None

        return wait_for(present, 60, css)

    def log_in(self, url: str, password: str) -> None:
        """On the login gateway's page, which any page of the app leads to first."""
        self.driver.get(url)
        name = self.find("input#name")
        name.clear()
        name.send_keys(self.name)
        self.find("input#password").send_keys(password)
        self.find("button[type=submit]").click()

    def face(self) -> int | str | None:
        """The face on show, "done" when the queue is empty, None while loading."""
        text = self.body()
        if "Nothing left in this subset" in text:
            return "done"
        m = FACE_TEXT.search(text)
        return int(m.group(1)) if m else None

    def press(self, key: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.TAG_NAME, "h2").click()  # focus the page, not a widget
        ActionChains(self.driver).send_keys(key).perform()


def events_of(cat, who: str) -> list[tuple]:
    return [
        tuple(r)
        for r in cat.conn.execute(
            "SELECT face_id, action, label FROM label_events WHERE annotator = ? ORDER BY id",
            (who,),
        )
    ]


@pytest.mark.slow
def test_two_annotators_in_two_browsers_give_independent_second_opinions(
    team_server, browsers, seeded, tmp_path
):
    cat, ids = seeded.cat, seeded.ids
    shots = shots_dir(tmp_path)
    queue_url = team_server + "/queue"  # with K = 2, the queue opens on second opinions
    ann = Annotator(browsers(), "ann")
    bo = Annotator(browsers(), "bo")

    # A wrong password is refused with one line; nothing of the app shows.
    ann.log_in(queue_url, "not the password")
    wait_for(lambda: "Wrong user name or password." in ann.body(), 60, "the refusal")
    assert "Label queue" not in ann.body()
    screenshot(ann.driver, shots / "team-login.png")
    ann.log_in(queue_url, PASSWORDS["ann"])
    bo.log_in(queue_url, PASSWORDS["bo"])
    for who in (ann, bo):
        try:
            wait_for(lambda who=who: who.face() is not None, 60, f"{who.name}'s first face")
        except AssertionError:
            screenshot(who.driver, shots / f"team-failed-{who.name}.png")
            raise
        assert "annotator: " + who.name + " (annotator)" in who.body()
    screenshot(bo.driver, shots / "team-second-opinion.png")

    says = {"ann": ann_says, "bo": bo_says}
    pressed = {"ann": [], "bo": []}
    active = [ann, bo]
    while active:
        for who in list(active):
            fid = wait_for(who.face, 60, f"{who.name}'s face")
            if fid == "done":
                active.remove(who)
                continue
            text = who.body()
            # Blind: no label, status or dispute of anyone else on the page.
            assert " shows " not in text and "disagree" not in text and "pending" not in text
            assert fid not in pressed[who.name], f"{who.name} was shown face {fid} twice"
            label = says[who.name](fid)
            n = len(events_of(cat, who.name))
            who.press(KEYS[label])
            wait_for(lambda who=who, n=n: len(events_of(cat, who.name)) == n + 1, 60, "the event")
            pressed[who.name].append(fid)
            wait_for(lambda who=who, fid=fid: who.face() != fid, 60, "the next face")

    assert sorted(pressed["ann"]) == sorted(ids.values())
    assert sorted(pressed["bo"]) == sorted(ids.values())
    for who in ("ann", "bo"):  # no lost and no extra event: one label per key press
        assert events_of(cat, who) == [(f, "label", says[who](f)) for f in pressed[who]]
    for fid in ids.values():
        st = face_state(cat.conn, fid)
        if ann_says(fid) == bo_says(fid):
            assert (st.status, st.label, st.disputed) == ("accepted", ann_says(fid), False)
        else:
            assert (st.status, st.disputed, st.annotators) == ("pending", True, 2)
    assert {r[0] for r in cat.conn.execute("SELECT DISTINCT annotator FROM label_events")} == {
        "ann",
        "bo",
    }


@pytest.mark.slow
def test_a_key_pressed_after_the_session_ended_is_refused_on_screen(team_server, browsers, seeded):
    """Behind the login gateway a removed account's page is cut off, so the key never
    reaches the app: the component says on screen that the decision was not saved (the
    app's own refusal line, for a session that ends inside Streamlit, is tested in
    test_accounts.py), nothing is recorded, and the page leads to the login."""
    from curation_ui.accounts import remove_user

    cat = seeded.cat
    ann = Annotator(browsers(), "ann")
    ann.log_in(team_server + "/queue", PASSWORDS["ann"])
    fid = wait_for(ann.face, 60, "ann's first face")
    remove_user(auth_path(cat.paths.dir), "ann")  # the gateway ends her session
    ann.press(KEYS["happy"])  # decided in the browser, never confirmed by the server
    wait_for(lambda: f"Not saved: the server has not confirmed 1 decision(s) (face #{fid})"
             in ann.body(), 30, "the unconfirmed decision said on screen")  # fmt: skip
    assert events_of(cat, "ann") == []
    assert face_state(cat.conn, fid).annotators == 0
    ann.driver.get(team_server + "/queue")
    wait_for(lambda: "Log in" in ann.body(), 30, "the login page")
    assert "/_gate/login" in ann.driver.current_url
