import { describe, expect, it } from 'vitest';
import { contentHash } from '@autopilot/line-ops';
import { BUILTIN_JOBS, inlineResult, parseJobEnvelope, readInlineResult } from '../../src/index';

function run(envelope: object) {
  const parsed = parseJobEnvelope(JSON.stringify(envelope));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.job.run(parsed.input);
}

describe('built-in jobs', () => {
  it('hash.sha256 hashes UTF-8 text (NIST vector "abc")', () => {
    expect(run({ kind: 'hash.sha256', input: { text: 'abc' } })).toEqual({
      ok: true,
      result: { sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', bytes: 3 },
    });
    expect(run({ kind: 'hash.sha256', input: { text: 'é' } })).toMatchObject({ result: { bytes: 2 } });
  });

  it('lines.diff returns ops that lines.apply turns into the target text', () => {
    const before = 'one\ntwo\nthree';
    const after = 'one\n2\nthree\nfour';
    const diff = run({ kind: 'lines.diff', input: { before, after } });
    expect(diff).toEqual({
      ok: true,
      result: {
        ops: [
          { start: 1, deleteCount: 1, lines: ['2'] },
          { start: 3, deleteCount: 0, lines: ['four'] },
        ],
        afterHash: contentHash(after),
      },
    });
    const ops = diff.ok ? diff.result.ops : undefined;
    expect(run({ kind: 'lines.apply', input: { content: before, ops } })).toEqual({
      ok: true,
      result: { contentHash: contentHash(after), lineCount: 4, bytes: after.length },
    });
  });

  it('refuses envelopes it cannot run, saying why', () => {
    const reason = (envelope: string) => {
      const parsed = parseJobEnvelope(envelope);
      return parsed.ok ? 'accepted' : parsed.reason;
    };
    expect(reason('not json')).toBe('job_envelope is not JSON');
    expect(reason('[1]')).toBe('job_envelope must be a JSON object');
    expect(reason('{}')).toBe('job_envelope needs a "kind" (one of hash.sha256, lines.diff, lines.apply)');
    expect(reason('{"kind":"gpu.train"}')).toBe('unsupported job kind "gpu.train"; this node runs hash.sha256, lines.diff, lines.apply');
    expect(reason('{"kind":"hash.sha256","input":{"text":5}}')).toBe('hash.sha256: input.text must be a string');
    expect(reason('{"kind":"lines.apply","input":{"content":"a","ops":[{"start":-1,"deleteCount":0,"lines":["x"]}]}}')).toMatch(
      /^lines.apply: input.ops is not a valid list of line ops: /,
    );
    expect(BUILTIN_JOBS.map((job) => job.kind)).toEqual(['hash.sha256', 'lines.diff', 'lines.apply']);
  });

  it('carries results inline with a verifiable hash, up to 1024 bytes', () => {
    const small = inlineResult({ sha256: 'ab', bytes: 3 });
    if (!small.ok) throw new Error(small.reason);
    expect(small.resultRef).toBe('inline:{"sha256":"ab","bytes":3}');
    expect(readInlineResult(small.resultRef, small.resultHash)).toEqual({ ok: true, result: { sha256: 'ab', bytes: 3 } });
    expect(readInlineResult(small.resultRef.replace('3', '4'), small.resultHash)).toEqual({ ok: false, reason: 'the result does not match its hash' });
    expect(inlineResult({ text: 'x'.repeat(2000) })).toEqual({ ok: false, reason: 'the result is 2018 bytes; inline results are limited to 1024' });
  });
});
