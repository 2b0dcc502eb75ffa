"""Signs a person in to Hashi's web dashboard through the Slack stand-in, as a browser would."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import aiohttp


def browser() -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies for 127.0.0.1 (aiohttp's default jar ignores IP addresses)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(http: aiohttp.ClientSession, base: str, user: str, *, next_page: str = "/incidents") -> str:
    """Goes through Sign in with Slack as `user` at the Hashi serving `base` (http://127.0.0.1:<port>);
    returns where Hashi sends the browser at the end."""
    async with http.get(f"{base}/auth/slack", params={"next": next_page}, allow_redirects=False) as start:
        assert start.status == 302, await start.text()
        authorize = start.headers["Location"]
    async with http.get(authorize) as page:
        assert page.status == 200, await page.text()
        assert f'id="as-{user}"' in await page.text()
    fields = dict(parse_qsl(urlsplit(authorize).query))
    async with http.post(
        authorize.split("?")[0], data={**fields, "user": user}, allow_redirects=False
    ) as back:
        assert back.status == 302, await back.text()
        callback = back.headers["Location"]
    async with http.get(callback, allow_redirects=False) as done:
        assert done.status == 302, await done.text()
        return done.headers["Location"]
