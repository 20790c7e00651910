// A real OIDC issuer for tests: node:http serving discovery and a JWKS whose keys the test can
// rotate, counting requests so caching is observable.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export interface IssuerSigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeIssuerKey(alg: 'ES256' | 'RS256', kid: string): Promise<IssuerSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export class LocalOidcIssuer {
  /** Keys currently published in the JWKS. */
  published: IssuerSigningKey[] = [];
  /** `issuer` stated by discovery; defaults to the server's own URL. */
  advertisedIssuer: string | undefined;
  /** When set, every request is answered with this HTTP status and no body. */
  failWithStatus: number | undefined;
  readonly hits = { discovery: 0, jwks: 0 };
  /** Every request, whatever its path (to prove that none was made). */
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<LocalOidcIssuer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const issuer = new LocalOidcIssuer(server, `http://127.0.0.1:${port}`);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => issuer.handle(request.url ?? '', response));
    return issuer;
  }

  /** Signs a JWT with `key`; `kid` goes in the header unless `withKid` is false. */
  sign(key: IssuerSigningKey, claims: Record<string, unknown>, withKid = true): Promise<string> {
    const header = withKid ? { typ: 'JWT', alg: key.alg, kid: key.kid } : { typ: 'JWT', alg: key.alg };
    return new CompactSign(new TextEncoder().encode(JSON.stringify({ iss: this.url, ...claims })))
      .setProtectedHeader(header)
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private handle(path: string, response: ServerResponse): void {
    this.requests += 1;
    if (this.failWithStatus !== undefined) {
      response.writeHead(this.failWithStatus).end();
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      this.hits.discovery += 1;
      this.json(response, { issuer: this.advertisedIssuer ?? this.url, jwks_uri: `${this.url}/jwks.json` });
    } else if (path === '/jwks.json') {
      this.hits.jwks += 1;
      this.json(response, { keys: this.published.map((key) => key.publicJwk) });
    } else {
      response.writeHead(404).end();
    }
  }

  private json(response: ServerResponse, body: unknown): void {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
