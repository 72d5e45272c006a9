// openid-client (v6) runs client_credentials with private_key_jwt against an Astapa issuer.
//
//   node client_credentials.mjs '{"issuer", "clientId", "privateJwk", "scope"?, "resource"?, "algorithm"?}'
//
// `algorithm` is openid-client's discovery algorithm: "oidc" (default; {issuer}/.well-known/
// openid-configuration) or "oauth2" (RFC 8414; /.well-known/oauth-authorization-server{path}).
// Prints one JSON line: {"ok": true, "metadata": {...}, "tokens": {...}} and exits 0, or
// {"ok": false, "name", "message", "code"?, "error"?, "error_description"?, "status"?, "body"?}
// and exits 2. tests/node/test_openid_client.py drives it.
import * as client from "openid-client";

const { issuer, clientId, privateJwk, scope, resource, algorithm } = JSON.parse(process.argv[2]);

async function importPrivateKey(jwk) {
  const { kid, alg, use, key_ops, ...material } = jwk;
  const algorithmFor = {
    EC: { name: "ECDSA", namedCurve: material.crv },
    RSA: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  }[material.kty];
  const key = await crypto.subtle.importKey("jwk", material, algorithmFor, false, ["sign"]);
  return { key, kid }; // the kid goes in the assertion's header
}

try {
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    {},
    client.PrivateKeyJwt(await importPrivateKey(privateJwk)),
    { execute: [client.allowInsecureRequests], algorithm },
  );
  const parameters = {};
  if (scope !== undefined) parameters.scope = scope;
  if (resource !== undefined) parameters.resource = resource;
  const tokens = await client.clientCredentialsGrant(config, parameters);
  console.log(JSON.stringify({ ok: true, metadata: config.serverMetadata(), tokens }));
} catch (e) {
  const failure = { ok: false, name: e.name, message: e.message, code: e.code, status: e.status };
  if (e.error !== undefined) {
    // ResponseBodyError: the server's RFC 6749 §5.2 error body
    Object.assign(failure, { error: e.error, error_description: e.error_description, body: e.cause });
  } else if (e.cause !== undefined) {
    failure.cause = e.cause instanceof Response
      ? `HTTP ${e.cause.status}`
      : String(e.cause?.message ?? JSON.stringify(e.cause));
  }
  // a WWWAuthenticateChallengeError (a 401 with WWW-Authenticate) leaves the body unread
  const response = e.response ?? (e.cause instanceof Response ? e.cause : undefined);
  if (response && !response.bodyUsed) {
    failure.status = response.status;
    failure.body = await response.text().catch(() => undefined);
    try { failure.error = JSON.parse(failure.body).error; } catch {}
  }
  console.log(JSON.stringify(failure));
  process.exit(2);
}
