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
