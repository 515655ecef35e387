"""What a person reads when a service answers a problem (RFC 9457): a sentence in their language, by the problem's
status and type (docs/problems.md), never the service's English ``detail``."""

from __future__ import annotations

from collections.abc import Callable

from services.console.apis import ApiProblem


def _(text: str) -> str:  # marks a string for extraction; translated when shown
    return text


SIGN_IN_REFUSED = _("The sign-in name, the password or the code is not right, or the account is locked for a "
                    "while. Check them and try again.")
CODE_NEEDED = _("Enter the 6-digit code from your authenticator app.")
SESSION_ENDED = _("Your session has ended. Sign in again.")
FORM_EXPIRED = _("This form had expired. It has been shown again: send it once more.")
# The city's sign-in provider (pages_oidc.py) and setting a password with a reset code (pages_password.py).
NOT_FOUND = _("What you asked for does not exist, or is not in your ward.")
OIDC_REFUSED = _("The sign-in could not be completed (it had expired, or was already used). Start again.")
PROVIDER_UNAVAILABLE = _("The city's sign-in service is not reachable at the moment. Try again in a few minutes.")
RESET_NEEDED = _("Enter your sign-in name and the reset code.")
PASSWORD_TOO_SHORT = _("The new password needs at least %(n)s characters, and must not be your sign-in name.")
PASSWORDS_DIFFER = _("The two passwords are not the same. Type them again.")
PASSWORD_REFUSED = _("The reset code is not right, has expired or was already used. Ask a ward official for a "
                     "new one.")

BY_STATUS = {
    0: _("The service is not reachable at the moment. Try again in a few minutes."),
    401: SESSION_ENDED,
    403: _("Your account is not allowed to do this."),
    404: _("What you asked for does not exist, or is not in your ward."),
    409: _("This was changed by someone else in the meantime. Reload the page and try again."),
    413: _("What you sent is too large."),
    422: _("Some of what you entered is not valid. Check the form and try again."),
    429: _("Too many attempts. Wait a few minutes, then try again."),
    503: _("The service is not ready at the moment. Try again in a few minutes."),
}
UNEXPECTED = _("Something went wrong on our side. Try again; if it happens again, tell the ward's IT contact.")


def explain(problem: ApiProblem, gettext: Callable[[str], str], *, signing_in: bool = False) -> str:
    """The sentence for a problem, translated."""
    if signing_in and problem.status == 401:
        return gettext(SIGN_IN_REFUSED)
    return gettext(BY_STATUS.get(problem.status, UNEXPECTED))


def page_status(problem: ApiProblem) -> int:
    """The status of a page that shows a problem: the service's 4xx as it is (the person can change what they sent),
    503 for anything else (the service failed or could not be reached: try again later)."""
    return problem.status if 400 <= problem.status < 500 else 503
