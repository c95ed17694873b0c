// The renderer's one work queue for all outputs of a notebook: one job per macrotask, outputs on screen first,
// the equivalence checks last, cancelled jobs skipped.
import * as assert from 'node:assert/strict';
import { Scheduler } from '../../src/renderer/scheduler';

const tick = () => new Promise((r) => setTimeout(r, 0));
async function idle(): Promise<void> {
  for (let i = 0; i < 50; i++) await tick();
}

describe('renderer scheduler', () => {
  it('runs on-screen outputs first, then the rest in order, then the checks; one job per macrotask', async () => {
    const s = new Scheduler();
    const ran: string[] = [];
    s.add(() => ran.push('checks A'), 2);
    s.add(() => ran.push('off B'), 1);
    const c = s.add(() => ran.push('off C'), 1);
    s.add(() => ran.push('off D'), 1);
    s.reprioritize(c, 0); // C scrolled into view
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    await tick();
    assert.ok(ran.length <= 1, `one job per macrotask, ran ${ran.length}`);
    await idle();
    assert.deepEqual(ran, ['off C', 'off B', 'off D', 'checks A']);
    assert.equal(s.turn, 4, 'four turns');
  });

  it('skips cancelled jobs (a disposed output) and never lowers a priority', async () => {
    const s = new Scheduler();
    const ran: string[] = [];
    const a = s.add(() => ran.push('a'), 0);
    const b = s.add(() => ran.push('b'), 1);
    a.cancelled = true;
    s.reprioritize(b, 2);
    assert.equal(b.priority, 1);
    await idle();
    assert.deepEqual(ran, ['b']);
  });
});
