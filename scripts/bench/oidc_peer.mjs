// Peer for scripts/bench_token.py: node-oidc-provider issuing RS256 JWT access tokens
// through the client_credentials grant to one client (client_secret_basic).
// Usage: node oidc_peer.mjs PORT CLIENT_ID CLIENT_SECRET
// Prints one line "ready http://127.0.0.1:PORT" when it is listening.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
if (!port || !clientId || !clientSecret) {
  console.error('usage: node oidc_peer.mjs PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;
const audience = 'https://api.example.com';

// One RSA 2048 signing key, made at start.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api',
  }],
  scopes: ['openid', 'api'],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No `resource` parameter in the request: every token is for the one API.
      defaultResource: async () => audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'api',
        audience,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
