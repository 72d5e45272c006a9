// openid-client (v6) as a relying party at sign-out: it discovers an Astapa issuer, reads
// UserInfo with the user's access token, and builds the RP-initiated logout URL from the
// discovered end_session_endpoint.
//
//   node end_session.mjs '{"issuer", "clientId", "clientSecret", "accessToken", "sub", "idToken",
//                          "postLogoutRedirectUri", "state"}'
//
// Prints one JSON line: {"ok": true, "userinfo": {...}, "endSessionUrl": "..."} and exits 0,
// or {"ok": false, "name", "message", "code"?} and exits 2. tests/node/test_openid_client.py
// drives it and opens the URL in the browser that signed in.
import * as client from "openid-client";

const input = JSON.parse(process.argv[2]);

try {
  const config = await client.discovery(
    new URL(input.issuer),
    input.clientId,
    {},
    client.ClientSecretPost(input.clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  const userinfo = await client.fetchUserInfo(config, input.accessToken, input.sub);
  const endSessionUrl = client.buildEndSessionUrl(config, {
    id_token_hint: input.idToken,
    post_logout_redirect_uri: input.postLogoutRedirectUri,
    state: input.state,
  });
  console.log(JSON.stringify({ ok: true, userinfo, endSessionUrl: endSessionUrl.href }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e.name, message: e.message, code: e.code }));
  process.exit(2);
}
