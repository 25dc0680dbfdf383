// Errors keep their class across copies of the package: a runbook module may import its own apply-ws-fix.
import { describe, expect, it, vi } from 'vitest';
import { AppError, StartError, StepError } from '../../src/errors.js';

describe('error classes', () => {
  it('instanceof follows the class chain, including for an error made by another copy of the package', async () => {
    vi.resetModules();
    const copy = await import('../../src/errors.js');
    expect(copy.StepError).not.toBe(StepError);
    const foreign = new copy.StepError('x', 'made elsewhere');
    expect(foreign).toBeInstanceOf(StepError);
    expect(foreign).toBeInstanceOf(AppError);
    expect(foreign).not.toBeInstanceOf(StartError);
    expect(new StartError('m', 'c')).not.toBeInstanceOf(StepError);
    expect(new Error('plain')).not.toBeInstanceOf(AppError);
    expect({ message: 'not an error' }).not.toBeInstanceOf(AppError);
  });
});
