// A real OpenID Connect provider on loopback for lamworks' sign-in tests: the certified
// `oidc-provider` (npm, 9.x) with its development login form, one confidential client and a few
// people whose ID tokens carry a roles claim. Not a fake: discovery, the authorization code flow
// with PKCE, signed ID tokens and RP-initiated logout are the library's own.
//
// What it is not: a production provider. The development login form accepts any password (the
// login names the person), keys are made at start and forgotten at exit, storage is in memory.
//
//   node provider.mjs PORT
//
// Environment (all optional except where the test needs its own values):
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET     the one client (default lamworks / lamworks-test-secret)
//   OIDC_REDIRECT_URIS                     comma-separated; also the post-logout redirect URIs
//   OIDC_ID_TOKEN_TTL                      seconds an ID or access token lives (default 600)
//   OIDC_API_RESOURCE                      when set: an API (resource server) with this identifier;
//                                          the service clients below get JWT access tokens for it
//                                          with the client_credentials grant (aud = the identifier)
//
// It prints `oidc-provider listening on <issuer>` once discovery can be fetched.

import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node provider.mjs PORT (or OIDC_PORT=PORT)');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.OIDC_CLIENT_ID ?? 'lamworks';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'lamworks-test-secret';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:8501/oauth2callback')
  .split(',').map((uri) => uri.trim()).filter(Boolean);
const tokenTtl = Number(process.env.OIDC_ID_TOKEN_TTL ?? 600);

// The people (the login names the development form takes). `roles` is a list for some and a
// plain string for others, as providers differ; ana's `fhir_patient` links her to her record;
// victor's only role is one lamworks does not map.
const PEOPLE = {
  frances: {
    name: 'Frances Desk', email: 'frances.desk@clinic.example', roles: ['front-desk', 'staff'],
  },
  ana: {
    name: 'Ana Ruiz', email: 'ana.ruiz@mail.example', roles: 'patient',
    fhir_patient: 'Patient/pat-0001',
  },
  lena: { name: 'Lena Lee', email: 'lena.lee@clinic.example', roles: ['doctor'] },
  victor: { name: 'Victor Visitor', email: 'victor@mail.example', roles: ['volunteer'] },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test-1' };

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    roles: ['roles'],
    fhir: ['fhir_patient'],
  },
  // Put the scopes' claims in the ID token: Streamlit's st.user is the ID token's claims (it
  // does not call the userinfo endpoint).
  conformIdTokenClaims: false,
  ttl: {
    AccessToken: tokenTtl,
    IdToken: tokenTtl,
    AuthorizationCode: 60,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, id) {
    const person = PEOPLE[id];
    if (person === undefined) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...person };
      },
    };
  },
  // lamworks is a first-party client of this provider: consent is implied (no consent screen),
  // as an institution's own identity provider does for its own applications.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
    await grant.save();
    return grant;
  },
};

// An API protected by this provider (the lamworks HTTP API), and service clients (an EHR's
// integration, a machine without a person) that call it with client_credentials. Their access
// tokens are JWTs signed with the provider's key, whose audience is the API, carrying the
// service's username and roles as an institution's provider assigns application roles to a
// service principal. Only when OIDC_API_RESOURCE is set: the browser tests' provider is unchanged.
const apiResource = process.env.OIDC_API_RESOURCE;
const SERVICES = {
  'ehr-bridge': { secret: 'ehr-bridge-test-secret', claims: { preferred_username: 'ehr-bridge', name: 'EHR bridge', roles: ['front-desk'] } },
  'kiosk': { secret: 'kiosk-test-secret', claims: { preferred_username: 'kiosk', name: 'Lobby kiosk', roles: ['volunteer'] } },
};
if (apiResource) {
  for (const [id, service] of Object.entries(SERVICES)) {
    configuration.clients.push({
      client_id: id, client_secret: service.secret, grant_types: ['client_credentials'],
      response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api',
    });
  }
  configuration.scopes = ['openid', 'offline_access', 'api'];
  configuration.features.clientCredentials = { enabled: true };
  configuration.features.resourceIndicators = {
    enabled: true,
    defaultResource: async () => apiResource,
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx, resourceIndicator) => {
      if (resourceIndicator !== apiResource) throw new errors.InvalidTarget();
      return { scope: 'api', audience: apiResource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
    },
  };
  configuration.extraTokenClaims = async (_ctx, token) => (
    token.kind === 'ClientCredentials' ? SERVICES[token.clientId]?.claims : undefined);
}

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, error) => console.error('server_error', error));
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
