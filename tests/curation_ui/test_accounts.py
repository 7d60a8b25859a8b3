"""Accounts, logins and roles of the review app (AppTest, no browser)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from curation_ui import accounts as acc
from curation_ui import roles
from curation_ui.components.queue.testing import press
from curation_ui.login import NO_ACCOUNTS, WRONG_PASSWORD_DELAY, oidc_provider
from tests.conftest import REPO
from tests.curation_ui.conftest import open_page as open_as_visitor
from tests.curation_ui.conftest import page_script

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "admin's own secret 42"


@pytest.fixture
def team(seeded, tmp_path, monkeypatch):
    """The seeded catalog served with two accounts: ann (annotator) and root (admin)."""
    path = tmp_path / "private" / "users.toml"
    acc.add_user(path, "ann", PASSWORD)
    acc.add_user(path, "root", ADMIN_PASSWORD, admin=True)
    monkeypatch.setenv("FACESIFT_ROOT", str(seeded.cat.paths.root))
    monkeypatch.setenv("FACESIFT_DATASET", seeded.cat.paths.name)
    monkeypatch.setenv("FACESIFT_AUTH", str(path))
    monkeypatch.delenv("FACESIFT_IMPORT_ROOT", raising=False)
    monkeypatch.delenv("FACESIFT_REQUIRE_LOGIN", raising=False)
    return seeded


def open_page(name: str) -> AppTest:
    return open_as_visitor(name, annotator=None)


def log_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_pw").input(password)
    return at.button[0].click().run()


# --- the accounts file -------------------------------------------------------


def test_passwords_are_stored_only_as_salted_hashes_in_a_private_file(tmp_path):
    path = tmp_path / "users.toml"
    a, new = acc.add_user(path, "ann", PASSWORD)
    b, _ = acc.add_user(path, "bo", PASSWORD, admin=True)
    assert new and a.role == "annotator" and b.role == "admin"
    text = path.read_bytes()
    assert PASSWORD.encode() not in text
    assert b"correct" not in text
    assert a.password_hash != b.password_hash  # same password, different salts
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != "users.toml"]  # no temp file left
    loaded = acc.load_accounts(path)
    assert set(loaded) == {"ann", "bo"}
    assert acc.verify_password(PASSWORD, loaded["ann"].password_hash)
    assert not acc.verify_password(PASSWORD + "!", loaded["ann"].password_hash)
    assert not acc.verify_password(PASSWORD, "scrypt$16384$8$1$bad$hash")


def test_adding_again_changes_the_password_and_role_and_remove_removes(tmp_path):
    path = tmp_path / "users.toml"
    acc.add_user(path, "ann", PASSWORD)
    again, new = acc.add_user(path, "ann", "another password", admin=True)
    assert not new and again.is_admin
    accounts = acc.load_accounts(path)
    assert acc.authenticate(accounts, "ann", PASSWORD) is None
    assert acc.authenticate(accounts, "ann", "another password").name == "ann"
    acc.remove_user(path, "ann")
    assert acc.load_accounts(path) == {}
    with pytest.raises(acc.AccountError, match="no user 'ann'"):
        acc.remove_user(path, "ann")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("ann lee", PASSWORD, "bad user name"),
        ("../x", PASSWORD, "bad user name"),
        ("ann", "short", "at least 8"),
    ],
)
def test_bad_names_and_short_passwords_are_refused_in_one_line(tmp_path, name, password, message):
    path = tmp_path / "users.toml"
    with pytest.raises(acc.AccountError, match=message) as e:
        acc.add_user(path, name, password)
    assert "\n" not in str(e.value)
    assert not path.exists()


def test_a_damaged_accounts_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text('[users.ann]\nrole = "boss"\npassword = "x"\n')
    with pytest.raises(acc.AccountError, match="bad entry for user 'ann'"):
        acc.load_accounts(path)
    path.write_text("[users\n")
    with pytest.raises(acc.AccountError, match="cannot read"):
        acc.load_accounts(path)


# --- logging in -------------------------------------------------------------


def test_with_accounts_the_app_asks_for_a_login_and_a_wrong_password_is_refused(team):
    at = open_page("queue")
    assert at.text_input(key="login_pw") and not at.header  # no page before the login
    start = time.monotonic()
    at = log_in(at, "ann", "wrong password")
    assert time.monotonic() - start >= WRONG_PASSWORD_DELAY
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert not at.header
    at = log_in(at, "nobody", PASSWORD)
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    at = log_in(at, "ann", PASSWORD)
    assert not at.exception and [h.value for h in at.header] == ["Label queue"]


def test_the_annotator_on_every_event_is_the_login_never_a_typed_name(team):
    cat = team.cat
    at = AppTest.from_function(page_script, kwargs={"name": "queue"}, default_timeout=60)
    at.session_state["annotator"] = "mallory"  # a typed name (or ?annotator= in the URL)
    at.query_params["annotator"] = "mallory"
    at.run()
    assert at.text_input(key="login_pw")  # a typed name does not let anyone in
    at = log_in(at, "ann", PASSWORD)
    press(at, "label", "happy")
    press(at, "reject")
    press(at, "undo")
    rows = cat.conn.execute("SELECT annotator, action FROM label_events ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("ann", "label"), ("ann", "reject"), ("ann", "undo")]
    # The password is in no file the app or the accounts wrote (catalog and WAL included).
    auth = Path(os.environ["FACESIFT_AUTH"])
    files = [p for p in (*cat.paths.root.rglob("*"), *auth.parent.rglob("*")) if p.is_file()]
    assert auth in files and any(p.name.startswith("catalog.sqlite") for p in files)
    assert not [p for p in files if PASSWORD.encode() in p.read_bytes()]


def test_sessions_expire_and_a_removed_user_is_logged_out(team, monkeypatch):
    from curation_ui import login

    at = log_in(open_page("stats"), "ann", PASSWORD)
    assert [h.value for h in at.header] == ["Stats"]
    name, _ = at.session_state["_facesift_login"]
    at.session_state["_facesift_login"] = (name, time.monotonic() - 1)  # the clock moved on
    at.run()
    assert at.text_input(key="login_pw") and not at.header
    assert any("expired" in i.value for i in at.info)
    at = log_in(at, "ann", PASSWORD)
    assert [h.value for h in at.header] == ["Stats"]
    acc.remove_user(os.environ["FACESIFT_AUTH"], "ann")
    at.run()
    assert at.text_input(key="login_pw") and not at.header
    assert login.SESSION_SECONDS <= 24 * 3600


def _expire(at: AppTest) -> None:
    name, _ = at.session_state["_facesift_login"]
    at.session_state["_facesift_login"] = (name, time.monotonic() - 1)  # the clock moved on


def _events(cat) -> list[tuple]:
    return [tuple(r) for r in cat.conn.execute("SELECT face_id, action FROM label_events")]


def test_a_decision_queued_when_the_session_ended_is_refused_on_screen(team):
    from catalog.events import face_state
    from curation_ui.components.queue import testing as queue

    cat = team.cat
    at = log_in(open_page("queue"), "ann", PASSWORD)
    fid = queue.face_on_show(at)
    _expire(at)  # the key is pressed after the session ended
    at = queue.press(at, "label", "happy", face=fid)
    assert not at.exception and _events(cat) == []
    line = (
        "Not recorded: your session ended before this decision reached the server "
        f"(face #{fid} stays undecided); log in again."
    )
    assert [e.value for e in at.error] == [line]  # one line, above the login form
    assert at.text_input(key="login_pw")
    at = log_in(at, "ann", PASSWORD)  # logging in again does not record it either
    assert _events(cat) == [] and face_state(cat.conn, fid).status == "pending"
    assert queue.view(at)["notes"][-1] == {"seq": 1, "face": fid, "text": line, "refused": True}
    assert queue.face_on_show(at) == fid  # still to decide
    # The account removed (its session lost): the same.
    acc.remove_user(os.environ["FACESIFT_AUTH"], "ann")
    at = queue.press(at, "label", "sad", face=fid)
    assert _events(cat) == [] and at.text_input(key="login_pw")
    assert next(e.value for e in at.error).startswith("Not recorded: your session ended")


def test_a_grid_action_queued_when_the_session_ended_is_refused_on_screen(team):
    from curation_ui.components.grid import testing as grid

    cat, ids = team.cat, team.ids
    at = log_in(open_page("review"), "ann", PASSWORD)
    at.selectbox(key="rv_label").select("sad").run()
    _expire(at)
    at = grid.act(at, "reject", [ids["sad_1"], ids["sad_2"]])
    assert not at.exception and _events(cat) == []
    line = (
        "Not applied: your session ended before this action reached the server; "
        "log in again (nothing was changed)."
    )
    assert [e.value for e in at.error] == [line] and at.text_input(key="login_pw")
    at = log_in(at, "ann", PASSWORD)
    assert _events(cat) == [] and grid.view(at)["said"]["text"] == line
    assert ids["sad_1"] in grid.open_ids(at)


# --- roles ------------------------------------------------------------------


def test_an_annotator_sees_no_admin_page_and_is_refused_on_one(team):
    from curation_ui.app import visible_pages

    assert "import" not in visible_pages("annotator")
    assert "export" not in visible_pages("annotator")
    assert {"review", "queue", "stats"} <= set(visible_pages("annotator"))
    assert {"import", "export"} <= set(visible_pages("admin"))
    for page in ("import", "export"):
        at = log_in(open_page(page), "ann", PASSWORD)
        assert not at.exception
        assert [e.value for e in at.error] == [
            "ann (annotator) may not open this page: ask an admin."
        ]
        assert not at.header and "im_go" not in [b.key for b in at.button]
    at = log_in(open_page("import"), "root", ADMIN_PASSWORD)
    assert [h.value for h in at.header] == ["Import"] and not at.error


def test_the_whole_app_lists_only_the_pages_of_the_role(team):
    at = AppTest.from_file(str(REPO / "curation_ui" / "app.py"), default_timeout=60).run()
    assert at.text_input(key="login_pw")
    at = log_in(at, "ann", PASSWORD)
    assert not at.exception and [h.value for h in at.header] == ["Review by query"]
    assert "annotator: ann (annotator)" in [c.value for c in at.sidebar.caption]


def test_an_annotators_import_and_export_are_refused_on_the_server(team, tmp_path):
    from curation_ui import actions

    cat = team.cat
    folder = tmp_path / "in"
    folder.mkdir()
    before = cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    ann = roles.User("ann", "annotator")
    with pytest.raises(roles.PermissionRefused, match="ann \\(annotator\\) may not import"):
        actions.import_as(ann, cat, folder)
    with pytest.raises(roles.PermissionRefused, match="may not export"):
        actions.export_as(ann, cat, None)
    assert cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == before
    assert not (tmp_path / "out").exists()
    assert roles.allowed("annotator", "label") and roles.allowed("admin", "takedown")
    assert not roles.allowed("annotator", "takedown") and not roles.allowed("annotator", "model")
    assert not roles.may_see("annotator", "a_page_nobody_listed")
    assert roles.may_see("admin", "a_page_nobody_listed")


# --- server paths -----------------------------------------------------------


def test_server_paths_are_refused_without_an_import_root_and_outside_it(tmp_path):
    root = tmp_path / "imports"
    (root / "ok").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(roles.PermissionRefused, match="--import-root"):
        roles.import_path_inside(root / "ok", None)
    assert roles.import_path_inside(root / "ok", root) == (root / "ok").resolve()
    assert roles.import_path_inside("ok", root) == (root / "ok").resolve()
    for bad in (outside, root / "ok" / ".." / ".." / "secret", root / "link", "link", "/etc"):
        with pytest.raises(roles.PermissionRefused, match="outside the import root"):
            roles.import_path_inside(bad, root)


def test_the_import_page_offers_uploads_only_without_an_import_root(team, tmp_path, monkeypatch):
    at = log_in(open_page("import"), "root", ADMIN_PASSWORD)
    assert at.radio(key="im_mode").options == ["Upload files"]
    root = tmp_path / "imports"
    root.mkdir()
    outside = tmp_path / "secret"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("FACESIFT_IMPORT_ROOT", str(root))
    at.run()
    at.radio(key="im_mode").set_value("A folder or file on this machine").run()
    for bad in (str(outside), str(root / "link")):
        at.text_input(key="im_path").input(bad).run()
        at.button(key="im_go").click().run()
        assert [e.value for e in at.error] == [
            f"{bad!r} is outside the import root {root.resolve()}"
        ]
    assert (
        team.cat.conn.execute(
            "SELECT COUNT(*) FROM image_sources WHERE import_path LIKE ?", ("%secret%",)
        ).fetchone()[0]
        == 0
    )


# --- identity provider --------------------------------------------------------


def test_oidc_is_used_only_where_secrets_configure_it():
    base = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s"}
    google = {
        "client_id": "id",
        "client_secret": "x",
        "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
    }
    assert oidc_provider(None) is None
    assert oidc_provider({}) is None
    assert oidc_provider(google) is None  # no redirect_uri / cookie_secret
    assert oidc_provider({**base}) is None  # no provider
    assert oidc_provider({**base, **google}) == "default"
    assert oidc_provider({**base, "google": google}) == "google"


# --- the command line -----------------------------------------------------------


def test_user_add_list_remove_on_the_command_line(data_root, capsys, monkeypatch):
    import io
    import subprocess
    from types import SimpleNamespace

    import pipeline

    def facesift(*args: str, stdin: str = ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))  # not a terminal
        code = pipeline.main(["--root", str(data_root), "--dataset", "team", *args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    r = facesift("user", "add", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    path = data_root / "team" / "users.toml"
    assert r.stdout.strip() == f"user ann (annotator) added to {path}"
    assert (
        facesift("user", "add", "root", "--admin", "--password-stdin", stdin="x" * 9).returncode
        == 0
    )
    assert PASSWORD not in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o600
    r = facesift("user", "add", "bo")  # no terminal to prompt on: told to use --password-stdin
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--password-stdin" in r.stderr
    r = facesift("user", "add", "bo", "--password-stdin", stdin="short\n")
    assert r.returncode == 2 and "at least 8" in r.stderr
    assert facesift("user", "list").stdout.splitlines() == ["ann\tannotator", "root\tadmin"]
    assert facesift("user", "remove", "ann").returncode == 0
    r = facesift("user", "remove", "ann")
    assert r.returncode == 2 and r.stderr.strip().endswith(f"no user 'ann' in {path}")
    # The console script, once, as a user runs it (the rest runs in-process, quicker).
    from tests.conftest import cli_argv

    r = subprocess.run(
        cli_argv("--dataset", "team", "user", "list", root=data_root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.splitlines() == ["root\tadmin"]
    other = data_root / "elsewhere.toml"
    assert (
        facesift(
            "user", "add", "cy", "--auth", str(other), "--password-stdin", stdin=PASSWORD
        ).returncode
        == 0
    )
    assert set(acc.load_accounts(other)) == {"cy"}
    assert set(acc.load_accounts(path)) == {"root"}


def test_serving_beyond_loopback_without_accounts_is_refused(data_root, capsys, monkeypatch):
    import pipeline
    from curation_ui import launch

    served, gated = [], []
    monkeypatch.setattr(launch, "serve", lambda argv, env: served.append(env) or 0)
    monkeypatch.setattr(
        "curation_ui.gate_serve.serve_gated",
        lambda argv, env, cfg, listen, *_: served.append(env) or gated.append((argv, listen)) or 0,
    )
    monkeypatch.chdir(data_root)  # no .streamlit/secrets.toml here
    base = ["--root", str(data_root), "--dataset", "team", "review"]
    assert pipeline.main([*base, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "facesift user add NAME --admin" in err
    assert not served
    # facesift run refuses before it scrapes anything, not after.
    monkeypatch.setattr("scraper.stage.scrape", lambda *a, **k: pytest.fail("scraped"))
    assert pipeline.main([*base[:-1], "run", "--host", "0.0.0.0"]) == 2
    assert "facesift user add NAME --admin" in capsys.readouterr().err
    # On this machine only, today's name prompt stays: no accounts needed.
    assert pipeline.main([*base, "--labels-per-face", "2"]) == 0
    assert served[-1]["FACESIFT_REQUIRE_LOGIN"] == "0" and "FACESIFT_AUTH" in served[-1]
    # With an account, the network is fine; the setting, accounts and import root reach the app.
    acc.add_user(data_root / "team" / "users.toml", "root", ADMIN_PASSWORD, admin=True)
    argv = [*base, "--host", "0.0.0.0", "--import-root", str(data_root)]
    assert pipeline.main(argv) == 0
    env = served[-1]
    assert env["FACESIFT_REQUIRE_LOGIN"] == "1" and env["FACESIFT_GATE"]
    # ... behind the login gateway: Streamlit on loopback only, the gateway on the address.
    argv, listen = gated[-1]
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert (listen.host, listen.port) == ("0.0.0.0", 8501)
    assert env["FACESIFT_AUTH"] == str((data_root / "team" / "users.toml").resolve())
    assert env["FACESIFT_IMPORT_ROOT"] == str(data_root.resolve())
    from catalog import Catalog
    from catalog.settings import labels_per_face

    with Catalog.open(data_root, "team") as cat:
        assert labels_per_face(cat.conn) == 2  # kept: the later runs did not pass the flag
    out = capsys.readouterr().out
    assert "2 label(s) per face" in out
    assert out.count("labels per face: 1 -> 2; face states recomputed") == 1  # once, not again


def test_served_on_the_network_the_app_refuses_to_run_without_accounts(team, monkeypatch):
    os.remove(os.environ["FACESIFT_AUTH"])  # every account gone while serving
    monkeypatch.setenv("FACESIFT_REQUIRE_LOGIN", "1")
    at = open_page("queue")
    assert [e.value for e in at.error] == [NO_ACCOUNTS]
    assert not at.header and not at.text_input


class FakeIdentity(dict):
    """What ``st.user`` gives after an OIDC login (a mapping plus ``is_logged_in``)."""

    @property
    def is_logged_in(self) -> bool:
        return bool(self)


GOOGLE = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s",
    "client_id": "id",
    "client_secret": "x",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}


def test_an_identity_provider_logs_in_as_the_email_with_the_accounts_role(
    team, monkeypatch, tmp_path
):
    """No identity provider is reachable in tests: st.user stands in for its answer."""
    import streamlit as st

    from curation_ui import login

    cat = team.cat
    monkeypatch.setattr(login, "_secrets_auth", lambda: GOOGLE)
    monkeypatch.setattr(st, "user", FakeIdentity())
    at = open_page("queue")
    assert at.button(key="oidc_login") and at.text_input(key="login_pw")  # both ways in
    assert not at.header
    # Logged in by the provider: the e-mail is the name; no account of that name: annotator.
    monkeypatch.setattr(st, "user", FakeIdentity(email="lee@example.org", name="Lee"))
    at = open_page("queue")
    assert [h.value for h in at.header] == ["Label queue"]
    press(at, "label", "sad")
    assert cat.conn.execute("SELECT annotator FROM label_events").fetchall()[0][0] == (
        "lee@example.org"
    )
    assert "im_go" not in [b.key for b in open_page("import").button]
    # An account of the same name makes them an admin.
    acc.add_user(os.environ["FACESIFT_AUTH"], "lee@example.org", ADMIN_PASSWORD, admin=True)
    at = open_page("import")
    assert [h.value for h in at.header] == ["Import"] and not at.error
    # Served on the network with only a provider (no accounts file): the login stays.
    os.remove(os.environ["FACESIFT_AUTH"])
    monkeypatch.setenv("FACESIFT_REQUIRE_LOGIN", "1")
    monkeypatch.setattr(st, "user", FakeIdentity())
    at = open_page("queue")
    assert at.button(key="oidc_login") and not at.error and not at.header


def test_the_command_line_reads_the_auth_section_streamlit_reads(tmp_path, monkeypatch):
    from curation_ui.launch import ServeRefused, refuse_open_network

    users = tmp_path / "users.toml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ServeRefused):
        refuse_open_network("0.0.0.0", users)
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in GOOGLE.items()))
    assert acc.oidc_provider(acc.secrets_auth()) == "default"
    refuse_open_network("0.0.0.0", users)  # allowed: the provider logs people in
    refuse_open_network("127.0.0.1", users)
    secrets.write_text("[auth]\nredirect_uri = 'x'\n")  # half a configuration: refused
    with pytest.raises(ServeRefused):
        refuse_open_network("::", users)


def test_tls_without_accounts_or_half_of_it_is_refused_before_serving(
    data_root, capsys, monkeypatch
):
    import pipeline
    from curation_ui import launch

    monkeypatch.setattr(launch, "serve", lambda argv, env: pytest.fail("served"))
    monkeypatch.setattr("curation_ui.gate_serve.serve_gated", lambda *a: pytest.fail("served"))
    monkeypatch.chdir(data_root)
    base = ["--root", str(data_root), "--dataset", "team", "review"]
    cert = data_root / "cert.pem"
    cert.write_text("not checked before")
    assert pipeline.main([*base, "--tls-cert", str(cert), "--tls-key", str(cert)]) == 2
    assert "need accounts" in capsys.readouterr().err
    acc.add_user(data_root / "team" / "users.toml", "root", ADMIN_PASSWORD, admin=True)
    assert pipeline.main([*base, "--tls-cert", str(cert)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TLS needs both --tls-cert and --tls-key" in err
