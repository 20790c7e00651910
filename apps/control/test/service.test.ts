// The service around the routes: public URL and issuer from config, unknown routes, and logs free of secrets.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LoginResponse } from '../src/index';
import { JSON_TYPE, errorCodeOf, login, newUser, nip98Header, startTestService } from './helpers';

describe('public URL and issuer from config', () => {
  it('expects NIP-98 events signed for the public URL and issues tokens with the configured issuer', async () => {
    const service = await startTestService({ config: { publicUrl: 'https://control.example.com/', issuer: 'https://id.example.com' } });
    try {
      expect(service.control.issuer).toBe('https://id.example.com');
      const signedForBoundUrl = await login(service, newUser());
      expect(signedForBoundUrl.status).toBe(401);
      expect(await errorCodeOf(signedForBoundUrl)).toBe('url_mismatch');

      const accepted = await login(service, newUser(), { device_id: 'd' }, { signedUrl: 'https://control.example.com/v1/auth/token' });
      expect(accepted.status).toBe(200);
      const answer = (await accepted.json()) as LoginResponse;
      expect(answer.claims.iss).toBe('https://id.example.com');

      const discovery = (await (await fetch(`${service.control.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery.issuer).toBe('https://id.example.com');
      expect(discovery.jwks_uri).toBe('https://control.example.com/.well-known/jwks.json');
    } finally {
      await service.control.close();
    }
  });
});

describe('request handling', () => {
  it('answers not_found for unknown routes', async () => {
    const service = await startTestService();
    try {
      const unknownRoute = await fetch(`${service.control.url}/v1/nothing`);
      expect(unknownRoute.status).toBe(404);
      expect(await errorCodeOf(unknownRoute)).toBe('not_found');
    } finally {
      await service.control.close();
    }
  });

  it('logs requests without tokens, signed events or key material', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const service = await startTestService({ logger: pino({ level: 'trace' }, sink) });
    try {
      const user = newUser();
      const body = JSON.stringify({ device_id: 'd' });
      const authorization = nip98Header(user, { url: service.tokenUrl, payloadOf: body, createdAt: service.clock.seconds() });
      const answer = (await (await fetch(service.tokenUrl, { method: 'POST', headers: { Authorization: authorization, ...JSON_TYPE }, body })).json()) as LoginResponse;
      await fetch(`${service.control.url}/v1/policy/transport`, { headers: { Authorization: `Bearer ${answer.token}` } });
      await fetch(`${service.control.url}/v1/auth/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${answer.token}` } });
      await service.control.rotateKey();
    } finally {
      await service.control.close();
    }
    const log = lines.join('');
    expect(log).toContain('token issued');
    expect(log).toContain('session revoked');
    for (const secret of ['eyJ', 'Nostr ', 'Bearer', '"d":', 'privateJwk', '"sig"']) {
      expect(log, `log must not contain ${secret}`).not.toContain(secret);
    }
  });
});
