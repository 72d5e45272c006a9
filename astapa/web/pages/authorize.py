"""The hosted sign-in and sign-up pages: the authorization endpoint (RFC 6749 §4.1.1).

GET shows the form, or sends a signed-in user straight back with a code. The form posts
the authorization request back as it was received (one hidden field), so `state` returns
byte for byte. Every POST checks its CSRF token first.
"""

from aiohttp import web

from astapa.appkeys import context_key
from astapa.context import Context
from astapa.domain.errors import (
    EmailTakenError,
    InvalidEmailError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.domain.users import normalise_email
from astapa.oauth.authorize import (
    AuthorizationRequest,
    client_id_of,
    error_url,
    parse_query,
    response_url,
    validate,
)
from astapa.oauth.errors import AccessDeniedError, LoginRequiredError, OAuthError
from astapa.passwords import PasswordPolicyError, check_policy
from astapa.queries import user_login
from astapa.web.csrf import CsrfError, clear_cookie, cookie_name, set_cookie
from astapa.web.pages import Respond, page, render, see_other

SESSION_COOKIE = "astapa_session"
WRONG_CREDENTIALS = "Email or password is incorrect."


async def authorization(ctx: Context, query: str) -> AuthorizationRequest:
    params, repeated = parse_query(query)
    client = await ctx.clients.get(client_id_of(params, repeated))
    return validate(query, client)


def redirect_errors(handler):
    """Errors that may go back to the client do (RFC 6749 §4.1.2.1); the rest are pages."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except OAuthError as e:
            if e.redirect_uri is None:
                raise
            return see_other(error_url(e, request.app[context_key].settings.issuer))

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return page(wrapped)


@redirect_errors
async def show_login(request: web.Request) -> web.StreamResponse:
    """GET /auth/login and /oauth/authorize."""
    ctx = request.app[context_key]
    authz = await authorization(ctx, request.rel_url.raw_query_string)
    cookie = request.cookies.get(cookie_name(ctx.settings, SESSION_COOKIE))
    if cookie and "login" not in authz.prompt and authz.max_age != 0:
        try:
            signed_in, _ = await ctx.writer.run(
                ctx.app.resume_session, authz.code_request(), cookie, ctx.clock.now(), authz.max_age)
        except (SessionEndedError, UserDisabledError, UserNotFoundError):
            pass
        else:
            return to_client(ctx, authz, signed_in)
    if "none" in authz.prompt:
        raise LoginRequiredError().via(authz.redirect_uri, authz.state)
    return form(request, ctx, authz, "login", email=authz.login_hint or "")


@redirect_errors
async def show_signup(request: web.Request) -> web.StreamResponse:
    """GET /auth/signup."""
    ctx = request.app[context_key]
    authz = await authorization(ctx, request.rel_url.raw_query_string)
    return form(request, ctx, authz, "signup", email=authz.login_hint or "")


@redirect_errors
async def login(request: web.Request) -> web.StreamResponse:
    """POST /auth/login: the password is checked in the bcrypt pool, always once."""
    ctx = request.app[context_key]
    posted, authz = await posted_form(request, ctx)
    email, key = _email(posted.get("email", ""))
    account, ip = f"{authz.client.project_id}/{key or email}", request.remote or "-"
    wait = max(ctx.account_throttle.retry_after(account), ctx.ip_throttle.retry_after(ip))
    if wait:
        response = form(request, ctx, authz, "login", email=email, status=429,
                        error=f"Too many attempts. Try again in {_minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    found = await ctx.reads.query(user_login, authz.client.project_id, key) if key else None
    password = posted.get("password", "")
    ok = await ctx.passwords.verify(password, found.password_hash if found else None)
    if not ok or found is None or found.disabled:
        ctx.account_throttle.fail(account)
        ctx.ip_throttle.fail(ip)
        return form(request, ctx, authz, "login", email=email, status=401, error=WRONG_CREDENTIALS)
    ctx.account_throttle.clear(account)
    try:
        signed_in, _ = await ctx.writer.run(ctx.app.sign_in, authz.code_request(), found.sub, ctx.clock.now())
    except (UserDisabledError, UserNotFoundError):
        return form(request, ctx, authz, "login", email=email, status=401, error=WRONG_CREDENTIALS)
    return to_client(ctx, authz, signed_in)


@redirect_errors
async def signup(request: web.Request) -> web.StreamResponse:
    """POST /auth/signup: account, session and code in one save."""
    ctx = request.app[context_key]
    posted, authz = await posted_form(request, ctx)
    email, key = _email(posted.get("email", ""))
    password = posted.get("password", "")
    error = None if key else "Enter a valid email address."
    try:
        check_policy(password)
    except PasswordPolicyError as e:
        error = error or str(e)
    if error:
        return form(request, ctx, authz, "signup", email=email, status=400, error=error)
    password_hash = await ctx.passwords.hash(password)
    try:
        signed_in, position = await ctx.writer.run(
            ctx.app.register_user, authz.code_request(), email, key, password_hash, ctx.clock.now())
    except EmailTakenError:
        return form(request, ctx, authz, "signup", email=email, status=409,
                    error="An account with this email already exists. Sign in instead.")
    # Read your write: the new account can sign in as soon as this page answers.
    await ctx.runner.wait(position, ctx.settings.projection_wait)
    return to_client(ctx, authz, signed_in)


async def posted_form(request: web.Request, ctx: Context) -> tuple[dict[str, str], AuthorizationRequest]:
    """The form's fields and its authorization request, once its CSRF token checks out;
    otherwise the form again (403). Cancel goes back to the client with access_denied."""
    posted = await request.post()
    fields = {k: v for k, v in posted.items() if isinstance(v, str)}
    authz = await authorization(ctx, fields.get("authorization", ""))
    mode = "signup" if request.path.endswith("signup") else "login"
    try:
        ctx.csrf.check(request, fields.get("csrf_token"))
    except CsrfError:
        raise Respond(form(request, ctx, authz, mode, email=fields.get("email", ""), status=403,
                           error="This form has expired. Please try again.")) from None
    if fields.get("action") == "cancel":
        raise AccessDeniedError().via(authz.redirect_uri, authz.state)
    return fields, authz


def form(request: web.Request, ctx: Context, authz: AuthorizationRequest, mode: str, email: str = "",
         status: int = 200, error: str | None = None) -> web.Response:
    token, new_cookie = ctx.csrf.token(request)
    response = render(request, "authorize.html", {
        "mode": mode,
        "client_name": authz.client.name,
        "query": authz.query,
        "csrf_token": token,
        "email": email[:254],
        "error": error,
    }, status=status)
    ctx.csrf.remember(response, new_cookie)
    return response


def to_client(ctx: Context, authz: AuthorizationRequest, signed_in) -> web.Response:
    response = see_other(response_url(authz.redirect_uri, {
        "code": signed_in.code, "state": authz.state, "iss": ctx.settings.issuer}))
    if signed_in.session_cookie is not None:
        set_cookie(response, ctx.settings, SESSION_COOKIE, signed_in.session_cookie,
                   max_age=ctx.settings.session_absolute_ttl)
    return response


@page
async def show_logout(request: web.Request) -> web.StreamResponse:
    """GET /auth/logout: a confirmation form; signing out never happens on a GET."""
    ctx = request.app[context_key]
    token, new_cookie = ctx.csrf.token(request)
    response = render(request, "logout.html", {"csrf_token": token})
    ctx.csrf.remember(response, new_cookie)
    return response


@page
async def logout(request: web.Request) -> web.StreamResponse:
    """POST /auth/logout: the session ends on the server, not only in the browser."""
    ctx = request.app[context_key]
    posted = await request.post()
    try:
        ctx.csrf.check(request, posted.get("csrf_token") if isinstance(posted.get("csrf_token"), str) else None)
    except CsrfError:
        return await show_logout(request)
    cookie = request.cookies.get(cookie_name(ctx.settings, SESSION_COOKIE))
    if cookie:
        await ctx.writer.run(ctx.app.end_session, cookie, ctx.clock.now())
    response = render(request, "message.html", {"title": "You are signed out",
                                                "text": "You can close this page."})
    clear_cookie(response, ctx.settings, SESSION_COOKIE)
    return response


def _email(value: str) -> tuple[str, str | None]:
    try:
        return normalise_email(value)
    except InvalidEmailError:
        return value.strip()[:254], None


def _minutes(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
