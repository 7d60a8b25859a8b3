"""The gateway's own pages: the login form and the logged-out notice (plain HTML, no script)."""

from __future__ import annotations

from html import escape

LOGIN_PATH = "/_gate/login"
LOGOUT_PATH = "/_gate/logout"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>facesift review: log in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f6f6f8; color: #262730; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem 2.2rem;
        border-radius: .6rem; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.5rem; margin: 0 0 1.2rem; }}
label {{ display: block; font-size: .9rem; margin: .8rem 0 .3rem; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box;
        padding: .55rem; border: 1px solid #ccc; border-radius: .4rem; font-size: 1rem; }}
button {{ margin-top: 1.3rem; width: 100%; padding: .6rem; border: 0; border-radius: .4rem;
        background: #ff4b4b; color: #fff; font-size: 1rem; cursor: pointer; }}
.msg {{ padding: .6rem .8rem; border-radius: .4rem; margin-bottom: .6rem; font-size: .95rem; }}
.error {{ background: #ffecec; color: #7d1a1a; }}
.info {{ background: #e8f0fe; color: #1a3d7d; }}
</style></head>
<body><main>
<h1>facesift review</h1>
{message}
<form method="post" action="{action}">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="name">User name</label>
<input id="name" name="name" type="text" maxlength="64" autocomplete="username" value="{name}"
 {focus_name} required>
<label for="password">Password</label>
<input id="password" name="password" type="password" maxlength="1024"
 autocomplete="current-password" {focus_password} required>
<button type="submit">Log in</button>
</form>
</main></body></html>
"""


def login_page(
    action: str, csrf: str, next_url: str, *, name: str = "", error: str = "", info: str = ""
) -> str:
    """The login form; ``error`` or ``info`` is one line shown above it."""
    message = "".join(
        f'<div class="msg {kind}" role="alert">{escape(text)}</div>'
        for kind, text in (("error", error), ("info", info))
        if text
    )
    return _PAGE.format(
        message=message,
        action=escape(action),
        csrf=escape(csrf),
        next=escape(next_url),
        name=escape(name),
        focus_name="" if name else "autofocus",
        focus_password="autofocus" if name else "",
    )
