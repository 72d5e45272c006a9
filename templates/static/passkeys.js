/* Passkeys on the hosted pages, as progressive enhancement.
 *
 * The pages are plain forms that work without JavaScript; this file (loaded with
 * <script src="/static/passkeys.js" defer>, so it fits a CSP of script-src 'self' with no
 * inline script) adds the passkey ceremony to forms marked data-passkey="register" or
 * data-passkey="sign-in". Such a form carries the server's options JSON (py_webauthn's
 * options_to_json) in <input type="hidden" name="passkey_options">. When its button
 * name="action" value="passkey" is used, this calls navigator.credentials.create() or
 * get(), writes the result as the JSON py_webauthn parses into <input name="passkey_response">
 * and submits the form with action=passkey. The server does all the verifying.
 *
 * Elements with both `hidden` and data-needs-js are shown only where WebAuthn exists, so
 * nobody sees a button that cannot work. Failures (the user cancelled, no passkey) go to
 * the form's [data-passkey-error] element, never to an uncaught exception.
 * Plain ES2017, no build step, no dependencies.
 */
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) return;  // the no-JS page stays

  // Messages; an error element may override them with data-msg-cancelled etc. (translations).
  var MESSAGES = {
    cancelled: "The passkey request was cancelled or timed out.",
    exists: "This device already has a passkey for this account.",
    failed: "Passkeys did not work in this browser. Please use another way to continue."
  };

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var binary = atob(b64), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The options' base64url strings become the ArrayBuffers the WebAuthn API takes.
  function withBuffers(descriptors) {
    return (descriptors || []).map(function (d) { return Object.assign({}, d, { id: fromB64url(d.id) }); });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json, { challenge: fromB64url(json.challenge) });
    o.user = Object.assign({}, json.user, { id: fromB64url(json.user.id) });
    o.excludeCredentials = withBuffers(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json, { challenge: fromB64url(json.challenge) });
    o.allowCredentials = withBuffers(json.allowCredentials);
    return o;
  }

  // The credential as RegistrationResponseJSON / AuthenticationResponseJSON (WebAuthn L3).
  function credentialJSON(credential) {
    var r = credential.response, response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = toB64url(r.userHandle);
    }
    return {
      id: credential.id, rawId: toB64url(credential.rawId), type: credential.type, response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined
    };
  }

  function showError(form, error) {
    var box = form.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
    var kind = error && error.name === "NotAllowedError" ? "cancelled"
      : error && error.name === "InvalidStateError" ? "exists" : "failed";
    if (!box) return;
    box.setAttribute("role", "alert");
    box.textContent = box.getAttribute("data-msg-" + kind) || MESSAGES[kind];
    box.hidden = false;
  }

  async function ceremony(form) {
    var options = JSON.parse(form.elements.passkey_options.value);
    if (form.getAttribute("data-passkey") === "register") {
      return navigator.credentials.create({ publicKey: creationOptions(options) });
    }
    return navigator.credentials.get({ publicKey: requestOptions(options) });
  }

  // form.submit() skips validation (a sign-in form's empty password must not block the
  // passkey) but sends no submitter, so action=passkey travels in a hidden input.
  function submitWithPasskey(form, credential) {
    form.elements.passkey_response.value = JSON.stringify(credentialJSON(credential));
    var action = form.querySelector('input[type="hidden"][name="action"]') || document.createElement("input");
    action.type = "hidden"; action.name = "action"; action.value = "passkey";
    form.appendChild(action);
    HTMLFormElement.prototype.submit.call(form);  // even if a field is named "submit"
  }

  async function onPasskey(event) {
    var button = event.currentTarget, form = button.form;
    event.preventDefault();
    if (button.disabled) return;  // one ceremony at a time
    button.disabled = true;
    var box = form.querySelector("[data-passkey-error]");
    if (box) box.textContent = "";
    try {
      submitWithPasskey(form, await ceremony(form));
    } catch (error) {
      showError(form, error);
      button.disabled = false;
    }
  }

  function enhance() {
    document.querySelectorAll("[data-needs-js][hidden]").forEach(function (el) { el.hidden = false; });
    // button.form, not a descendant search: a button may sit outside its form (form="...").
    document.querySelectorAll('button[name="action"][value="passkey"]').forEach(function (button) {
      var form = button.form;
      if (!form || !form.hasAttribute("data-passkey")) return;
      if (!form.elements.passkey_options || !form.elements.passkey_response) return;
      button.addEventListener("click", onPasskey);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhance);
  else enhance();
})();
