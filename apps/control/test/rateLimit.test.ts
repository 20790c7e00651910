// Login rate limits per pubkey and per address, with an injected clock instead of waiting.
import { afterEach, describe, expect, it } from 'vitest';
import { errorCodeOf, login, newUser, startTestService, type TestService } from './helpers';

describe('login rate limits', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.control.close();
    service = undefined;
  });

  it('limits logins per pubkey and refills with time', async () => {
    service = await startTestService({
      config: { rateLimits: { loginPerPubkey: { burst: 2, perMinute: 1 }, loginPerAddress: { burst: 100, perMinute: 100 } } },
    });
    const user = newUser();
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect((await login(service, user, { device_id: `d${attempt}` })).status, `attempt ${attempt}`).toBe(200);
    }
    const limited = await login(service, user, { device_id: 'd3' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(await errorCodeOf(limited)).toBe('rate_limited');

    // Another pubkey from the same address is unaffected.
    expect((await login(service, newUser(), { device_id: 'd3' })).status).toBe(200);

    service.clock.advanceSeconds(60);
    expect((await login(service, user, { device_id: 'd4' })).status).toBe(200);
  });

  it('limits logins per remote address across pubkeys, counting refused attempts too', async () => {
    service = await startTestService({
      config: { rateLimits: { loginPerPubkey: { burst: 100, perMinute: 100 }, loginPerAddress: { burst: 3, perMinute: 6 } } },
    });
    expect((await login(service, newUser())).status).toBe(200);
    expect((await login(service, newUser(), { device_id: 'd' }, { signedMethod: 'GET' })).status).toBe(401);
    expect((await login(service, newUser())).status).toBe(200);
    const limited = await login(service, newUser());
    expect(limited.status).toBe(429);
    expect(await errorCodeOf(limited)).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).toBe('10');

    service.clock.advanceSeconds(10);
    expect((await login(service, newUser())).status).toBe(200);
  });
});

describe('one pubkey’s burst and another user behind the same address', () => {
  it('does not lock out a different user when one client bursts 300 logins from the address', async () => {
    // The defaults: 10 per pubkey, 30 per address (burst).
    const service = await startTestService();
    try {
      const noisy = newUser();
      const statuses: number[] = [];
      for (let batch = 0; batch < 300; batch += 25) {
        const answers = await Promise.all(
          Array.from({ length: 25 }, (_, i) => login(service, noisy, { device_id: `burst-${batch + i}` }).then((response) => response.status)),
        );
        statuses.push(...answers);
      }
      expect(statuses.filter((status) => status === 200)).toHaveLength(10);
      expect(statuses.filter((status) => status === 429)).toHaveLength(290);

      const neighbour = await login(service, newUser(), { device_id: 'neighbour' });
      expect(neighbour.status).toBe(200);
    } finally {
      await service.control.close();
    }
    // 300 signed logins take a while on a loaded machine; nothing here depends on how long.
  }, 120_000);

  it('still limits the address for many different pubkeys (key farming)', async () => {
    const service = await startTestService({
      config: { rateLimits: { loginPerPubkey: { burst: 10, perMinute: 10 }, loginPerAddress: { burst: 5, perMinute: 5 } } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await login(service, newUser())).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    } finally {
      await service.control.close();
    }
  });
});
