import * as assert from 'node:assert/strict';
import { niceTicks } from '../../src/ui/charts';

describe('histogram axis ticks (niceTicks)', () => {
  it('gives round values about a sixth of the range apart, inside it', () => {
    assert.deepEqual(niceTicks(-294, 353.1), [-200, 0, 200]);
    assert.deepEqual(niceTicks(-5.706, 5.568), [-4, -2, 0, 2, 4]);
    assert.deepEqual(niceTicks(-2.972, 3.535), [-2, 0, 2]);
    assert.deepEqual(niceTicks(0, 30_000_000), [0, 5e6, 1e7, 1.5e7, 2e7, 2.5e7, 3e7]);
    // where 6 steps round to 5 and leave two values, 10 give more
    assert.deepEqual(niceTicks(-3.987, 8.724), [0, 5]);
    assert.deepEqual(niceTicks(-3.987, 8.724, 10), [-2, 0, 2, 4, 6, 8]);
  });

  it('keeps the ends when they are round, despite rounding in k * step', () => {
    assert.deepEqual(niceTicks(0.1, 0.3), [0.1, 0.15, 0.2, 0.25, 0.3]);
    assert.deepEqual(niceTicks(-1, 1), [-1, -0.5, 0, 0.5, 1]);
  });

  it('gives nothing for an empty or non-finite range', () => {
    assert.deepEqual(niceTicks(5, 5), []);
    assert.deepEqual(niceTicks(0, Infinity), []);
    assert.deepEqual(niceTicks(NaN, 1), []);
  });
});
