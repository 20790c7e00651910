// The benchmark's bank: accounts with a balance, and a transfer between two of them that refuses
// an overdraft with a SenderError (rolled back, nothing logged), like a client-facing rule would.
import { schema, table, t, SenderError } from 'spacetimedb/server';

const account = table(
  { name: 'account', public: true },
  {
    id: t.u64().primaryKey(),
    balance: t.i64(),
  },
);

const spacetimedb = schema({ account });
export default spacetimedb;

/** Open `count` accounts with ids firstId.. and the same starting balance (one transaction). */
export const openAccounts = spacetimedb.reducer(
  { firstId: t.u64(), count: t.u32(), balance: t.i64() },
  (ctx, { firstId, count, balance }) => {
    if (balance < 0n) throw new SenderError('A starting balance must not be negative');
    for (let i = 0n; i < BigInt(count); i++) {
      const id = firstId + i;
      if (ctx.db.account.id.find(id)) throw new SenderError(`Account ${id} already exists`);
      ctx.db.account.insert({ id, balance });
    }
  },
);

export const transfer = spacetimedb.reducer({ from: t.u64(), to: t.u64(), amount: t.i64() }, (ctx, { from, to, amount }) => {
  if (amount <= 0n) throw new SenderError('The amount must be positive');
  if (from === to) throw new SenderError('Cannot transfer to the same account');
  const source = ctx.db.account.id.find(from);
  if (!source) throw new SenderError(`No account ${from}`);
  const target = ctx.db.account.id.find(to);
  if (!target) throw new SenderError(`No account ${to}`);
  if (source.balance < amount) throw new SenderError(`Insufficient funds in account ${from}`);
  ctx.db.account.id.update({ ...source, balance: source.balance - amount });
  ctx.db.account.id.update({ ...target, balance: target.balance + amount });
});
