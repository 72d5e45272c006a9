"""The hosted sign-in and sign-up pages: the authorization endpoint (RFC 6749 §4.1.1).

GET shows the form, or sends a signed-in user straight back with a code. The form posts
the authorization request back as it was received (one hidden field), so `state` returns
byte for byte. Every POST checks its CSRF token first.
"""

from aiohttp import web

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
from astapa.oauth.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from astapa.passwords import PasswordPolicyError, check_policy
from astapa.queries import user_login
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    background_key,
    clock_key,
    csrf_key,
    metrics_key,
    passwords_key,
    reads_key,
    settings_key,
    throttles_key,
    writer_key,
)
from astapa.web.csrf import CsrfError, cookie_name
from astapa.web.pages import Respond, passkey_pages, pin, social
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
    web_app = request.app
    authz = await authorization(web_app, received(request))
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE))
    if cookie and "login" not in authz.prompt and authz.max_age != 0:
        try:
            signed_in, _ = await web_app[writer_key].run(
                web_app[application_key].resume_session, authz.code_request(), cookie, web_app[clock_key].now(), authz.max_age,
                authz.client.require_verified_email)
        except (SessionEndedError, UserDisabledError, UserNotFoundError, EmailNotVerifiedError):
            pass
        else:
            if signed_in.second_factor is not None and "none" in authz.prompt:  # OIDC Core §3.1.2.6
                raise authz.refuse_before_interaction(InteractionRequiredError())
            if signed_in.consent and "none" in authz.prompt:  # OIDC Core §3.1.2.6: no page
                raise authz.refuse_before_interaction(ConsentRequiredError())
            return to_client(request, web_app, authz, signed_in)
    if "none" in authz.prompt:
        raise authz.refuse_before_interaction(LoginRequiredError())
    return form(request, web_app, authz, "login", email=authz.login_hint or "",
                pin_offer=await pin.offer(request, authz))


@redirect_errors
async def show_signup(request: web.Request) -> web.StreamResponse:
    """GET /auth/signup."""
    web_app = request.app
    authz = await authorization(web_app, received(request))
    return form(request, web_app, authz, "signup", email=authz.login_hint or "")


@redirect_errors
async def login(request: web.Request) -> web.StreamResponse:
    """POST /auth/login: the password is checked in the bcrypt pool, always once. The
    "Email me a sign-in link" button posts the same form."""
    web_app = request.app
    app = web_app[application_key]
    writer = web_app[writer_key]
    clock = web_app[clock_key]
    posted, authz = await posted_form(request, web_app)
    throttles = web_app[throttles_key].sign_in(authz.client.mode)  # a sandbox's are more lenient
    if posted.get("action") == MAGIC_LINK:
        return await ask_for_link(request, web_app, authz, MAGIC_LINK, posted.get("email", ""))
    if posted.get("action") in PROVIDERS:
        return await social.start(request, web_app, authz, posted["action"], "login", posted.get("email", ""))
    if posted.get("action") == "pin":
        return await pin.sign_in(request, authz, posted)
    if posted.get("action") == "passkey":
        return await passkey_pages.sign_in(request, authz, posted)
    email, key = email_of(posted.get("email", ""))
    account, ip = f"{authz.client.project_id}/{key or email}", request.remote or "-"
    wait = max(throttles.account.retry_after(account), throttles.ip.retry_after(ip))
    if wait:
        web_app[metrics_key].sign_in("throttled")
        response = form(request, web_app, authz, "login", email=email, status=429,
                        error=f"Too many attempts. Try again in {minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    found = await web_app[reads_key].query(user_login, authz.client.project_id, key) if key else None
    password = posted.get("password", "")
    ok = await web_app[passwords_key].verify(password, found.password_hash if found else None)
    if not ok or found is None or found.disabled:
        web_app[metrics_key].sign_in("disabled" if ok and found is not None else "wrong_credentials")
        throttles.account.fail(account)
        throttles.ip.fail(ip)
        return form(request, web_app, authz, "login", email=email, status=401, error=WRONG_CREDENTIALS,
                    error_field="password")
    throttles.account.clear(account)
    offer = posted.get("link_offer")
    try:
        if offer:  # the password sign-in accepts a Google or GitHub link offered on this page
            signed_in, position = await writer.run(
                app.sign_in_linking, authz.code_request(), found.sub, offer[:200],
                social.binding_of(request, web_app), clock.now(), authz.client.require_verified_email)
            # Read your write: the link (and a verified address) shows as soon as this answers.
            await await_read_model(web_app, position)
        else:
            signed_in, _ = await writer.run(app.sign_in, authz.code_request(), found.sub,
                                            clock.now(), authz.client.require_verified_email)
    except (UserDisabledError, UserNotFoundError) as e:
        web_app[metrics_key].sign_in("disabled" if isinstance(e, UserDisabledError) else "wrong_credentials")
        return form(request, web_app, authz, "login", email=email, status=401, error=WRONG_CREDENTIALS,
                    error_field="password")
    except EmailNotVerifiedError:
        web_app[metrics_key].sign_in("unverified")
        return await send_verification(request, web_app, authz, email, key)
    web_app[metrics_key].sign_in("success")
    return to_client(request, web_app, authz, signed_in)


@redirect_errors
async def signup(request: web.Request) -> web.StreamResponse:
    """POST /auth/signup: account, session and code in one save."""
    web_app = request.app
    app, writer, clock = web_app[application_key], web_app[writer_key], web_app[clock_key]
    posted, authz = await posted_form(request, web_app)
    if posted.get("action") in PROVIDERS:
        return await social.start(request, web_app, authz, posted["action"], "signup", posted.get("email", ""))
    if posted.get("action") == "passkey_start":
        return await passkey_pages.start_signup(request, authz, posted)
    if posted.get("action") == "passkey":
        return signups_limited(request, web_app, authz, "") or await passkey_pages.finish_signup(
            request, authz, posted)
    email, key = email_of(posted.get("email", ""))
    password = posted.get("password", "")
    error, field = (None, None) if key else ("Enter a valid email address.", "email")
    try:
        check_policy(password)
    except PasswordPolicyError as e:
        error, field = (error, field) if error else (str(e), "password")
    if error:
        return form(request, web_app, authz, "signup", email=email, status=400, error=error,
                    error_field=field)
    if limited := signups_limited(request, web_app, authz, email):
        return limited
    password_hash = await web_app[passwords_key].hash(password)
    required, mail = authz.client.require_verified_email, may_mail(request, web_app, authz, key)
    try:
        signed_in, position = await writer.run(
            app.register_user, authz.code_request(), link_request(authz), email, key,
            password_hash, clock.now(), sign_in=not required, mail=mail)
    except EmailTakenError:
        if not required:
            return form(request, web_app, authz, "signup", email=email, status=409,
                        error="An account with this email already exists.", error_field="email",
                        error_link=("Sign in instead", f"/auth/login?{authz.query}"))
        # The same page as a new account (C-80); the owner is told by mail instead.
        if mail:
            web_app[background_key].later(writer.run(app.notify_signup_attempt, link_request(authz), key,
                                                     clock.now()))
        return check_inbox(request, web_app, authz, SIGN_UP_SENT.format(email=email), email, resend=True)
    # Read your write: the new account can sign in as soon as this page answers.
    await await_read_model(web_app, position)
    if signed_in.code is None and not signed_in.consent and signed_in.second_factor is None:
        return check_inbox(request, web_app, authz, SIGN_UP_SENT.format(email=email), email, resend=True)
    return to_client(request, web_app, authz, signed_in)


async def posted_form(request: web.Request, web_app: web.Application) -> tuple[dict[str, str], AuthorizationRequest]:
    """The form's fields and its authorization request, once its CSRF token checks out;
    otherwise the form again (403). Cancel goes back to the client with access_denied."""
    fields = await bodies.page_form(request)
    authz = await authorization(web_app, fields.get("authorization", ""))
    mode = "signup" if request.path.endswith("signup") else "login"
    try:
        web_app[csrf_key].check(request, fields.get("csrf_token"))
    except CsrfError:
        raise Respond(form(request, web_app, authz, mode, email=fields.get("email", ""), status=403,
                           error="This form has expired. Please try again.")) from None
    if fields.get("action") == "cancel":
        raise authz.refuse(AccessDeniedError())
    return fields, authz


def signups_limited(request: web.Request, web_app: web.Application, authz: AuthorizationRequest,
                    email: str) -> web.Response | None:
    """At most `signups_per_ip` sign-ups per client IP, and `signups_per_project` per project
    from all addresses, per hour, each counted before its bcrypt hash; past either, the
    form again with 429 and Retry-After. A sandbox project's limits are more lenient."""
    throttles = web_app[throttles_key].sign_in(authz.client.mode)
    ip, project = request.remote or "-", authz.client.project_id
    wait = max(throttles.signup_ip.retry_after(ip), throttles.signup_project.retry_after(project))
    if not wait:
        throttles.signup_ip.fail(ip)
        throttles.signup_project.fail(project)
        return None
    response = form(request, web_app, authz, "signup", email=email, status=429,
                    error=f"Too many sign-ups. Try again in {minutes(wait)}.")
    response.headers["Retry-After"] = str(wait)
    return response
