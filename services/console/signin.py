"""Sign-in through identity, the second factor, keeping the access token fresh, sign-out.

Identity's routes (docs/services/identity.md): ``POST /v1/sessions`` answers tokens or
``{"second_factor_required": true}`` (then the same name and password are sent again with the code),
``POST /v1/sessions/refresh`` spends a refresh token for new ones, ``POST /v1/sessions/sign-out`` revokes the family.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.console.apis import ApiProblem, Apis
from services.console.oidc import Oidc, OidcRefused, person
from services.console.sessions import (
    ANONYMOUS_TTL,
    PENDING_TTL,
    Session,
    SessionRepository,
    SessionSealer,
    new_session_id,
    session_hash,
)

#: The access token is refreshed when it has less than this left, so that a page's several API calls all run
#: with a valid one.
REFRESH_MARGIN = timedelta(seconds=60)
#: A sign-in at the provider (name, password, second factor there) may take a while; its state works this long.
OIDC_PENDING_TTL = timedelta(minutes=15)


class Sessions:
    """The session store and the sign-in steps. Every method takes ``now`` (tests move the clock)."""

    def __init__(self, pool: asyncpg.Pool, sealer: SessionSealer, apis: Apis, idle: timedelta,
                 oidc: Oidc | None = None) -> None:
        self.pool = pool
        self.sealer = sealer
        self.apis = apis
        self.idle = idle
        self.oidc = oidc

    async def load(self, session_id: str | None, now: datetime) -> Session | None:
        if not session_id:
            return None
        key = session_hash(session_id)
        row = await SessionRepository(self.pool).get(key, now)
        if row is None:
            return None
        try:
            data = self.sealer.open(key, row["sealed"])
        except (LookupError, ValueError):  # sealed under a key no longer held, or tampered with: start again
            return None
        return Session(session_id, row["csrf_token"], data, row["access_expires_at"])

    async def anonymous(self, now: datetime) -> Session:
        """A new session with a CSRF token and nothing else (the sign-in form needs one)."""
        return await self._create({}, None, now + ANONYMOUS_TTL)

    async def _create(self, data: dict[str, Any], access_expires_at: datetime | None, expires_at: datetime) -> Session:
        session = Session(new_session_id(), new_session_id(), data, access_expires_at)
        key = session_hash(session.session_id)
        await SessionRepository(self.pool).insert(key, session.csrf_token, self.sealer.seal(key, data),
                                                  access_expires_at, expires_at)
        return session

    async def _replace(self, old: Session, data: dict[str, Any], access_expires_at: datetime | None,
                       expires_at: datetime, now: datetime) -> Session:
        """A new id at every change of who the session is (no session fixation); the old id stops working."""
        repo = SessionRepository(self.pool)
        await repo.delete(session_hash(old.session_id))
        await repo.delete_expired(now)
        return await self._create(data, access_expires_at, expires_at)

    async def keep(self, session: Session, data: dict[str, Any], now: datetime,
                   ttl: timedelta = OIDC_PENDING_TTL) -> Session:
        """The same session (same id: who it is has not changed) holding ``data`` for a while (an OIDC sign-in
        under way: its state, nonce and PKCE verifier)."""
        key = session_hash(session.session_id)
        await SessionRepository(self.pool).update(key, self.sealer.seal(key, data), None, now + ttl)
        return Session(session.session_id, session.csrf_token, data, None)

    async def sign_in_oidc(self, session: Session, params: dict[str, str], now: datetime) -> Session:
        """The provider's callback: the pending sign-in is spent whatever happens (a state or code works once).
        Raises OidcRefused, or ApiProblem("oidc", 0) when the provider cannot be reached."""
        assert self.oidc is not None
        pending = session.data.get("oidc_pending")
        if not pending:  # (a signed-in session stays as it is)
            raise OidcRefused("no sign-in under way in this session")
        await self.keep(session, {}, now)
        try:
            tokens, claims = await self.oidc.finish(pending, params)
        except httpx.HTTPError as exc:
            raise ApiProblem("oidc", 0) from exc
        data = person(tokens, claims)
        data["team_kinds"] = await team_kinds(self.apis, data["access_token"], data["team_ids"])
        return await self._replace(session, data, now + timedelta(seconds=int(tokens.get("expires_in", 300))),
                                   now + self.idle, now)

    async def sign_in(self, session: Session, username: str, password: str, code: str | None,
                      now: datetime, *, client: str | None = None) -> Session:
        """Send the name and password (and code) to identity. Answers the new session: signed in, or waiting for
        the code (``session.pending``). Raises ApiProblem (401 for anything wrong: identity tells no more)."""
        body: dict[str, Any] = {"username": username, "password": password}
        if code:
            body["code"] = code
        # The browser's address, for identity's per-address limit (it trusts it from the console only).
        answer = await self.apis.call("identity", "POST", "/v1/sessions", json=body, client=client)
        if answer.get("second_factor_required"):
            return await self._replace(session, {"pending": {"username": username, "password": password}}, None,
                                       now + PENDING_TTL, now)
        me = await self.apis.call("identity", "GET", "/v1/me", token=answer["access_token"])
        me["team_kinds"] = await team_kinds(self.apis, answer["access_token"], me.get("team_ids", []))
        return await self._replace(session, _signed_in(answer, me), now + timedelta(seconds=answer["expires_in"]),
                                   now + self.idle, now)

    async def fresh(self, session: Session, now: datetime) -> Session | None:
        """The session with an access token valid for a while yet: refreshed through identity when it is about to
        expire. None when identity refuses (the family was revoked, the account disabled): sign in again.

        Two requests of one browser may want to refresh at once; a refresh token is used once, and identity
        revokes the whole family when one is presented twice. So the refresh runs under the session row's lock,
        and a request that waited finds the token its neighbour already refreshed."""
        if session.access_expires_at and session.access_expires_at - now > REFRESH_MARGIN:
            return session
        key = session_hash(session.session_id)
        async with self.pool.acquire() as conn, conn.transaction():
            repo = SessionRepository(conn)
            row = await repo.get(key, now, for_update=True)
            if row is None:
                return None
            data = self.sealer.open(key, row["sealed"])
            if "access_token" not in data:
                return None
            if row["access_expires_at"] and row["access_expires_at"] - now > REFRESH_MARGIN:
                return Session(session.session_id, row["csrf_token"], data, row["access_expires_at"])
            try:
                answer = await self._refresh(data)
            except ApiProblem as exc:
                if exc.status == 401:
                    await repo.delete(key)
                    return None
                raise
            data = {**data, "access_token": answer["access_token"],
                    "refresh_token": answer.get("refresh_token") or data["refresh_token"]}
            if answer.get("id_token"):
                data["id_token"] = answer["id_token"]
            expires = now + timedelta(seconds=int(answer.get("expires_in", 300)))
            await repo.update(key, self.sealer.seal(key, data), expires, now + self.idle)
        return Session(session.session_id, session.csrf_token, data, expires)

    async def _refresh(self, data: dict[str, Any]) -> dict[str, Any]:
        """Identity's refresh, or the provider's token endpoint for a person signed in through it (a refusal is
        a 401 either way: the session ends)."""
        if data.get("via") != "oidc":
            return await self.apis.call("identity", "POST", "/v1/sessions/refresh",
                                        json={"refresh_token": data["refresh_token"]})
        if self.oidc is None:  # the provider was configured away since: sign in again
            raise ApiProblem("oidc", 401)
        try:
            return await self.oidc.refresh(data["refresh_token"])
        except OidcRefused as exc:
            raise ApiProblem("oidc", 401) from exc
        except httpx.HTTPError as exc:
            raise ApiProblem("oidc", 0) from exc

    async def sign_out(self, session: Session, after: str = "") -> str | None:
        """Revoke the refresh tokens at identity (or at the provider), then forget the session (even if they
        cannot be reached: the tokens then expire on their own). Answers the provider's end-session URL to send
        the browser to, for a person signed in through it."""
        if session.data.get("via") == "oidc":
            end = None
            if self.oidc is not None:
                try:
                    end = await self.oidc.sign_out(session.data, after)
                except (httpx.HTTPError, OidcRefused):
                    end = None
            await SessionRepository(self.pool).delete(session_hash(session.session_id))
            return end
        if "refresh_token" in session.data:
            try:
                await self.apis.call("identity", "POST", "/v1/sessions/sign-out",
                                     json={"refresh_token": session.data["refresh_token"]})
            except ApiProblem:
                pass  # the session ends here regardless; the refresh token expires within its 8 idle hours
        await SessionRepository(self.pool).delete(session_hash(session.session_id))
        return None


def _signed_in(tokens: dict[str, Any], me: dict[str, Any]) -> dict[str, Any]:
    return {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
            "name": me["display_name"], "ward_id": me["ward_id"], "roles": me["roles"],
            # who the person is to the services: the proposer of an expense is compared with it (four eyes), a
            # collector records for their own teams
            "account_id": me.get("account_id"), "resident_id": me.get("resident_id"),
            "team_ids": me.get("team_ids", []), "team_kinds": me.get("team_kinds")}


async def team_kinds(apis: Apis, token: str, team_ids: list[str]) -> list[str] | None:
    """The kinds of the person's teams, from the registry (a member reads their own teams): they choose a team
    member's pages (nav.py). None when the registry cannot say: then every page of the role is offered."""
    kinds: set[str] = set()
    for team_id in team_ids[:20]:
        try:
            team = await apis.call("registry", "GET", f"/v1/teams/{team_id}", token=token)
        except ApiProblem:
            return None
        if isinstance(team.get("kind"), str):
            kinds.add(team["kind"])
    return sorted(kinds)
