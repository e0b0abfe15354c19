"""The issue's acceptance flow with curl and a cookie jar, as a person would type it."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

pytestmark = pytest.mark.e2e


async def _curl(*args: str) -> tuple[int, dict]:
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()
    body, _, status = out.decode().rpartition("\n")
    return int(status), json.loads(body) if body else {}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_register_login_profile_refresh_logout_with_curl(api, tmp_path):
    jar, url, email = str(tmp_path / "jar"), api.e2e.url, api.email("curl")
    common = ["-H", "Content-Type: application/json", "-b", jar, "-c", jar,
              "-H", "X-Forwarded-For: 198.18.0.1"]
    creds = json.dumps({"email": email, "password": "Corr3ct-horse-battery"})
    status, user = await _curl(*common, "-d", json.dumps({
        "email": email, "password": "Corr3ct-horse-battery", "name": "Curl"}),
        f"{url}/api/auth/register")
    assert status == 201 and user["email"] == email
    status, login = await _curl(*common, "-d", creds, f"{url}/api/auth/login")
    assert status == 200 and "refreshToken" not in login["tokens"]
    access = login["tokens"]["accessToken"]
    status, me = await _curl(*common, "-H", f"Authorization: Bearer {access}",
                             f"{url}/api/user/profile")
    assert status == 200 and me["id"] == user["id"]
    status, fresh = await _curl(*common, "-X", "POST", f"{url}/api/auth/refresh")
    assert status == 200 and fresh["accessToken"]
    status, _ = await _curl(*common, "-X", "POST", "-H",
                            f"Authorization: Bearer {fresh['accessToken']}",
                            f"{url}/api/auth/logout")
    assert status == 200
    status, err = await _curl(*common, "-X", "POST", f"{url}/api/auth/refresh")
    assert status == 401 and err["error"] == "UNAUTHORIZED"
