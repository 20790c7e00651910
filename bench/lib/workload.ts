// The transfer workload: two distinct accounts drawn from a Zipf distribution, a small amount.
import { prng } from '@autopilot/test-support/random';
import { zipfSampler } from './stats';

export interface Transfer {
  from: number;
  to: number;
  amount: number;
}

export const ZIPF_EXPONENT = 0.99;
export const START_BALANCE = 1_000_000n;

/** A prime that divides no account count used here, so `rank * SCATTER mod n` is a permutation. */
const SCATTER = 7919;

/**
 * Account ids 1..accounts, Zipf-popular: the hottest ranks are scattered over the id space (a fixed
 * permutation), so hot rows do not all sit at one end of an ordered index.
 */
export function transferGenerator(accounts: number, seed = 42): () => Transfer {
  if (accounts < 2) throw new RangeError(`a transfer needs at least 2 accounts, got ${accounts}`);
  if (accounts % SCATTER === 0) throw new RangeError(`the account count must not be a multiple of ${SCATTER}`);
  const random = prng(seed);
  const rank = zipfSampler(accounts, ZIPF_EXPONENT, random);
  const account = () => (((rank() - 1) * SCATTER) % accounts) + 1;
  return () => {
    const from = account();
    let to = account();
    while (to === from) to = account();
    return { from, to, amount: 1 + Math.floor(random() * 100) };
  };
}
