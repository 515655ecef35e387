"""How a subscriber authenticates to the feed: ``Authorization: Bearer wfk_...`` (an API key), or a JWT of the
platform's token issuer obtained by OAuth client credentials (role ``feed_subscriber``, ``azp`` - or ``sub`` - the
subscriber's ``oauth_client_id``). Every use is checked against the database (a revoked key or a disabled
subscriber is refused at once) and counted (``use_count``, ``last_used_at``, and a Prometheus counter per
subscriber). Neither the key nor the token is logged: only the key's SHA-256 leaves this module.

``CurrentSubscriber`` is the dependency of every subscriber route (pull, stream, webhooks). It is an
authentication dependency of the edge (shared.edge): it runs before the body is read, once per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from services.feed import commands, domain
from shared.actor import SYSTEM, Role
from shared.edge import authenticates
from shared.errors import Forbidden, Unauthorized

SUBSCRIBER_REQUESTS = Counter("ward_feed_subscriber_requests_total",
                              "Authenticated requests of feed subscribers", ["subscriber_id"])

_bearer = HTTPBearer(auto_error=False, scheme_name="FeedSubscriber",
                     description="A feed API key (wfk_...) or an OAuth client-credentials JWT (role feed_subscriber)")
_STATE = "feed_subscriber"


async def subscriber(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> domain.Subscriber:
    known = getattr(request.state, _STATE, None)
    if known is not None:  # the edge solved it already for this request: count the use once
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an API key or a bearer token is required")
    runtime = request.app.state.runtime
    token = credentials.credentials
    command: commands.AuthenticateKey | commands.AuthenticateClient
    if domain.is_api_key(token):
        command = commands.AuthenticateKey(key_id=domain.key_id_of(token), key_hash=domain.key_hash(token).hex())
    else:
        principal = await runtime.token_verifier.verify(token)
        if not principal.has(Role.FEED_SUBSCRIBER):
            raise Forbidden("requires the role feed_subscriber")
        command = commands.AuthenticateClient(oauth_client_id=principal.client_id or principal.subject)
    grant = await runtime.application.run(command, SYSTEM)
    SUBSCRIBER_REQUESTS.labels(grant["subscriber_id"]).inc()
    found = domain.Subscriber.of(grant, grant["key_id"])
    setattr(request.state, _STATE, found)
    return found


authenticates(subscriber)
CurrentSubscriber = Annotated[domain.Subscriber, Depends(subscriber)]
