"""Sign-in through a city's OpenID Connect provider (Keycloak): authorization code with PKCE (S256), by authlib.

Used when CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID are set. The browser is sent to the provider with a
``state``, a ``nonce`` and a PKCE challenge; the three secrets behind them are kept in the console's server-side
session (sealed, never in a cookie). The callback checks the state (one use: the pending sign-in is gone after it),
exchanges the code with the verifier at the token endpoint, and verifies the ID token (the provider's JWKS, issuer,
audience = our client id, the nonce). The person's name, ward and roles come from the ID token; the access and
refresh tokens are kept sealed exactly like identity's, refreshed at the provider's token endpoint, revoked at its
revocation endpoint (RFC 7009) at sign-out, after which the browser goes to its end-session endpoint.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

import httpx
import jwt
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from services.console.telemetry import TracedTransport
from shared.settings import ServiceSettings

#: The callback's path on the console (the redirect URI registered at the provider ends with it).
CALLBACK_PATH = "/sign-in/oidc/callback"
#: Signature algorithms accepted on an ID token (never "none" nor a shared secret).
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


#: The error codes of an authorization response (RFC 6749 section 4.1.2.1; OpenID Connect Core 3.1.2.6).
OAUTH_ERRORS = frozenset({
    "no code", "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
    "invalid_scope", "server_error", "temporarily_unavailable", "interaction_required", "login_required",
    "account_selection_required", "consent_required", "invalid_request_uri", "invalid_request_object",
    "request_not_supported", "request_uri_not_supported", "registration_not_supported"})


class OidcRefused(Exception):
    """The provider refused, or what came back is not what this sign-in asked for (state, code, ID token)."""


class Oidc:
    """The provider as the console uses it. One httpx client (authlib's) shared by every request: no token is
    kept in it, every call passes its own."""

    def __init__(self, settings: ServiceSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.issuer = settings.console_oidc_issuer.rstrip("/")
        self.client_id = settings.console_oidc_client_id
        secret = settings.console_oidc_client_secret
        self.name = settings.console_oidc_name or self.issuer
        self.only = settings.console_oidc_only
        self.redirect_url = settings.console_oidc_redirect_url
        self.discovery_url = (settings.console_oidc_discovery_url
                              or f"{self.issuer}/.well-known/openid-configuration")
        self.client = AsyncOAuth2Client(
            client_id=self.client_id, client_secret=secret.get_secret_value() if secret else None,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            scope=settings.console_oidc_scope, code_challenge_method="S256", timeout=10.0,
            transport=TracedTransport(transport, name="oidc"))
        self._metadata: dict[str, Any] | None = None
        self._jwks: tuple[float, jwt.PyJWKSet] | None = None

    @classmethod
    def configured(cls, settings: ServiceSettings, **kw: Any) -> Oidc | None:
        return cls(settings, **kw) if settings.console_oidc_issuer and settings.console_oidc_client_id else None

    async def close(self) -> None:
        await self.client.aclose()

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (fetched once), which must name our issuer."""
        if self._metadata is None:
            r = await self.client.request("GET", self.discovery_url, withhold_token=True)
            r.raise_for_status()
            meta = r.json()
            if meta.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcRefused(f"the discovery document names issuer {meta.get('issuer')!r}, not {self.issuer!r}")
            self._metadata = meta
        return self._metadata

    async def begin(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The provider's authorization URL, and what the session keeps until the callback."""
        meta = await self.metadata()
        pending = {"state": secrets.token_urlsafe(32), "nonce": secrets.token_urlsafe(32),
                   "verifier": secrets.token_urlsafe(64), "redirect_uri": redirect_uri}
        url, _ = self.client.create_authorization_url(
            meta["authorization_endpoint"], state=pending["state"], code_verifier=pending["verifier"],
            nonce=pending["nonce"], redirect_uri=redirect_uri)
        return url, pending

    async def finish(self, pending: dict[str, str], params: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The tokens and the verified ID token's claims for the callback's ``params``. Raises OidcRefused."""
        if not hmac.compare_digest(params.get("state", ""), pending["state"]):
            raise OidcRefused("the state is not this sign-in's")
        if "error" in params or not params.get("code"):
            # The browser brought this query: only the codes RFC 6749 4.1.2.1 defines reach the log, nothing typed.
            error = params.get("error", "no code")
            raise OidcRefused(f"the provider answered {error if error in OAUTH_ERRORS else 'an unknown error'}")
        meta = await self.metadata()
        try:
            tokens = await self.client.fetch_token(
                meta["token_endpoint"], grant_type="authorization_code", code=params["code"],
                code_verifier=pending["verifier"], redirect_uri=pending["redirect_uri"])
        except OAuthError as exc:  # invalid_grant: a code used before, another verifier, expired
            raise OidcRefused(f"the token endpoint answered {exc.error}") from exc
        if not tokens.get("id_token"):
            raise OidcRefused("no ID token (is the scope openid?)")
        claims = await self.verify_id_token(tokens["id_token"], pending["nonce"])
        return dict(tokens), claims

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = await self._key(kid)
            claims = jwt.decode(id_token, key, algorithms=ID_TOKEN_ALGORITHMS, audience=self.client_id,
                                issuer=self.issuer, leeway=30, options={"require": ["exp", "iat", "sub"]})
        except (jwt.PyJWTError, LookupError) as exc:
            raise OidcRefused(f"the ID token does not verify: {exc}") from exc
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcRefused("the ID token's nonce is not this sign-in's")
        return claims

    async def _key(self, kid: str | None) -> Any:
        """The provider's signing key ``kid``; the JWKS is fetched again (at most once a minute) for a new kid."""
        for attempt in range(2):
            if self._jwks is None or (attempt and time.monotonic() - self._jwks[0] > 60):
                r = await self.client.request("GET", (await self.metadata())["jwks_uri"], withhold_token=True)
                r.raise_for_status()
                self._jwks = (time.monotonic(), jwt.PyJWKSet.from_dict(r.json()))
            keys = self._jwks[1].keys
            found = [k for k in keys if kid is None or k.key_id == kid]
            if found:
                return found[0]
        raise LookupError(f"no key {kid!r} in the provider's JWKS")

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a refresh token. Raises OidcRefused when the provider refuses it."""
        meta = await self.metadata()
        try:
            return dict(await self.client.refresh_token(meta["token_endpoint"], refresh_token=refresh_token))
        except OAuthError as exc:
            raise OidcRefused(f"the refresh was refused: {exc.error}") from exc

    async def sign_out(self, data: dict[str, Any], after: str) -> str | None:
        """Revoke the refresh token (RFC 7009) where the provider has a revocation endpoint; answers the
        provider's end-session URL (RP-initiated logout) to send the browser to, if it has one."""
        meta = await self.metadata()
        if meta.get("revocation_endpoint") and data.get("refresh_token"):
            try:
                await self.client.revoke_token(meta["revocation_endpoint"], token=data["refresh_token"],
                                               token_type_hint="refresh_token")
            except (OAuthError, httpx.HTTPError):
                pass  # the session ends here regardless; the provider's session expires on its own
        if not meta.get("end_session_endpoint"):
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if data.get("id_token"):
            query["id_token_hint"] = data["id_token"]
        return str(httpx.URL(meta["end_session_endpoint"]).copy_merge_params(query))


def person(tokens: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """What the console's session holds for a person signed in through the provider (the same keys as for
    identity's tokens, plus the ID token for the end-session request)."""
    roles = claims.get("roles") or []
    if isinstance(roles, str):
        roles = [roles]
    if not roles or not claims.get("ward"):
        raise OidcRefused("the ID token carries no roles or ward: the provider's client needs the ward's mappers")
    name = claims.get("name") or claims.get("preferred_username") or claims["sub"]
    return {"access_token": tokens["access_token"], "refresh_token": tokens.get("refresh_token", ""),
            "id_token": tokens.get("id_token", ""), "via": "oidc", "name": name, "ward_id": claims["ward"],
            "roles": sorted({str(r) for r in roles}),
            # who the person is to the services, as identity's /v1/me says for its accounts (the same claims)
            "account_id": claims.get("sub"), "resident_id": claims.get("resident_id"),
            "team_ids": [str(t) for t in claims.get("team_ids") or []]}
