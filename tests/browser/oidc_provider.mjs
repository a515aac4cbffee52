// A real OpenID Connect provider for the single sign-on browser test: node-oidc-provider
// (npm "oidc-provider", package.json's devDependencies), on 127.0.0.1.
//
//   node oidc_provider.mjs PORT CONFIG_JSON
//
// CONFIG_JSON (written by the test) names the client and the redirect URI, and the file of
// accounts: {"accounts": {"<login>": {"email": ..., "groups": [...]}}}. That file is read again
// at every claims request, so the test changes a person's groups as a city's IT team would at
// its directory, and the next sign-in sees them.
//
// The sign-in page is a tiny one of our own (the library's development pages load a web font
// from another host, which the browser tests refuse): a login name, no password (this is a
// test provider; what it proves is the protocol), and no consent screen, as a city's own
// provider does for its own applications. Prints "listening" once it accepts connections.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;

const readAccounts = () => JSON.parse(readFileSync(config.accounts_file, 'utf8')).accounts;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: [config.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // client_secret_basic: the method every provider must support.
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
  cookies: { keys: ['single-sign-on-test-only'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // No consent screen: every scope the client asks for is granted (node-oidc-provider's recipe
  // for first-party clients).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const account = readAccounts()[sub];
    if (!account) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        const now = readAccounts()[sub] || {};
        return { sub, email: now.email, name: now.name || sub, groups: now.groups || [] };
      },
    };
  },
});

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Test provider: sign in</title></head><body><main>
<h1>Test provider: sign in</h1>
<form method="post" action="/interaction/${escape(details.uid)}">
<label for="login">Login name</label> <input id="login" name="login" required>
<button type="submit">Sign in at the provider</button>
</form></main></body></html>`;
    return undefined;
  }
  const form = await readForm(ctx.req);
  const login = form.get('login') || '';
  const result = readAccounts()[login]
    ? { login: { accountId: login } }
    : { error: 'access_denied', error_description: 'no such account' };
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(redirectTo);
  return undefined;
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log('listening');
});
