"""The hosted sign-in and sign-up pages: the authorization endpoint (RFC 6749 §4.1.1).

GET shows the form, or sends a signed-in user straight back with a code. The form posts
the authorization request back as it was received (one hidden field), so `state` returns
byte for byte. Every POST checks its CSRF token first.
"""

from aiohttp import web

from astapa.web.appkeys import context_key
from astapa.web.context import Context
from astapa.domain.errors import (
    EmailNotVerifiedError,
    EmailTakenError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.domain.identities import PROVIDERS
from astapa.domain.links import MAGIC_LINK
from astapa.oauth.authorize import AuthorizationRequest
from astapa.oauth.errors import AccessDeniedError, ConsentRequiredError, LoginRequiredError
from astapa.passwords import PasswordPolicyError, check_policy
from astapa.queries import user_login
from astapa.web.csrf import CsrfError, clear_cookie, cookie_name
from astapa.web.pages import Respond, page, render, social
from astapa.web.pages.flow import (
    SESSION_COOKIE,
    authorization,
    email_of,
    form,
    minutes,
    received,
    redirect_errors,
    to_client,
)
from astapa.web.pages.links import (
    SIGN_UP_SENT,
    ask_for_link,
    check_inbox,
    link_request,
    may_mail,
    send_verification,
)

WRONG_CREDENTIALS = "Email or password is incorrect."


@redirect_errors
async def show_login(request: web.Request) -> web.StreamResponse:
    """GET /auth/login and /oauth/authorize."""
    ctx = request.app[context_key]
    authz = await authorization(ctx, received(request))
    cookie = request.cookies.get(cookie_name(ctx.settings, SESSION_COOKIE))
    if cookie and "login" not in authz.prompt and authz.max_age != 0:
        try:
            signed_in, _ = await ctx.writer.run(
                ctx.app.resume_session, authz.code_request(), cookie, ctx.clock.now(), authz.max_age,
                authz.client.require_verified_email)
        except (SessionEndedError, UserDisabledError, UserNotFoundError, EmailNotVerifiedError):
            pass
        else:
            if signed_in.consent and "none" in authz.prompt:  # OIDC Core §3.1.2.6: no page
                raise authz.refuse(ConsentRequiredError())
            return to_client(request, ctx, authz, signed_in)
    if "none" in authz.prompt:
        raise authz.refuse(LoginRequiredError())
    return form(request, ctx, authz, "login", email=authz.login_hint or "")


@redirect_errors
async def show_signup(request: web.Request) -> web.StreamResponse:
    """GET /auth/signup."""
    ctx = request.app[context_key]
    authz = await authorization(ctx, received(request))
    return form(request, ctx, authz, "signup", email=authz.login_hint or "")


@redirect_errors
async def login(request: web.Request) -> web.StreamResponse:
    """POST /auth/login: the password is checked in the bcrypt pool, always once. The
    "Email me a sign-in link" button posts the same form."""
    ctx = request.app[context_key]
    posted, authz = await posted_form(request, ctx)
    if posted.get("action") == MAGIC_LINK:
        return await ask_for_link(request, ctx, authz, MAGIC_LINK, posted.get("email", ""))
    if posted.get("action") in PROVIDERS:
        return await social.start(request, ctx, authz, posted["action"], "login", posted.get("email", ""))
    email, key = email_of(posted.get("email", ""))
    account, ip = f"{authz.client.project_id}/{key or email}", request.remote or "-"
    wait = max(ctx.account_throttle.retry_after(account), ctx.ip_throttle.retry_after(ip))
    if wait:
        response = form(request, ctx, authz, "login", email=email, status=429,
                        error=f"Too many attempts. Try again in {minutes(wait)}.")
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
    offer = posted.get("link_offer")
    try:
        if offer:  # the password sign-in accepts a Google or GitHub link offered on this page
            signed_in, position = await ctx.writer.run(
                ctx.app.sign_in_linking, authz.code_request(), found.sub, offer[:200],
                social.binding_of(request, ctx), ctx.clock.now(), authz.client.require_verified_email)
            # Read your write: the link (and a verified address) shows as soon as this answers.
            await ctx.runner.wait(position, ctx.settings.projection_wait)
        else:
            signed_in, _ = await ctx.writer.run(ctx.app.sign_in, authz.code_request(), found.sub,
                                                ctx.clock.now(), authz.client.require_verified_email)
    except (UserDisabledError, UserNotFoundError):
        return form(request, ctx, authz, "login", email=email, status=401, error=WRONG_CREDENTIALS)
    except EmailNotVerifiedError:
        return await send_verification(request, ctx, authz, email, key)
    return to_client(request, ctx, authz, signed_in)


@redirect_errors
async def signup(request: web.Request) -> web.StreamResponse:
    """POST /auth/signup: account, session and code in one save."""
    ctx = request.app[context_key]
    posted, authz = await posted_form(request, ctx)
    if posted.get("action") in PROVIDERS:
        return await social.start(request, ctx, authz, posted["action"], "signup", posted.get("email", ""))
    email, key = email_of(posted.get("email", ""))
    password = posted.get("password", "")
    error = None if key else "Enter a valid email address."
    try:
        check_policy(password)
    except PasswordPolicyError as e:
        error = error or str(e)
    if error:
        return form(request, ctx, authz, "signup", email=email, status=400, error=error)
    password_hash = await ctx.passwords.hash(password)
    required = authz.client.require_verified_email
    try:
        signed_in, position = await ctx.writer.run(
            ctx.app.register_user, authz.code_request(), link_request(authz), email, key,
            password_hash, ctx.clock.now(), sign_in=not required)
    except EmailTakenError:
        if not required:
            return form(request, ctx, authz, "signup", email=email, status=409,
                        error="An account with this email already exists. Sign in instead.")
        # The same page as a new account (C-80); the owner is told by mail instead.
        if may_mail(ctx, authz, key):
            ctx.later(ctx.writer.run(ctx.app.notify_signup_attempt, link_request(authz), key,
                                     ctx.clock.now()))
        return check_inbox(request, ctx, authz, SIGN_UP_SENT.format(email=email), email, resend=True)
    # Read your write: the new account can sign in as soon as this page answers.
    await ctx.runner.wait(position, ctx.settings.projection_wait)
    if signed_in.code is None and not signed_in.consent:
        return check_inbox(request, ctx, authz, SIGN_UP_SENT.format(email=email), email, resend=True)
    return to_client(request, ctx, authz, signed_in)


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
        raise authz.refuse(AccessDeniedError())
    return fields, authz


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
