// Typed identities: a runbook, a step, a check or a fact is data, checked by the compiler as it is written.
import type { Check, Fact, ParamSpec, Runbook, RunbookDefinition, Step } from './types.js';

const ID = /^[a-z0-9][a-z0-9-]*$/;

/** A runbook, with its parameters typed in every function it gives. */
export function defineRunbook<P extends Record<string, ParamSpec>>(runbook: RunbookDefinition<P>): Runbook {
  if (!ID.test(runbook.id)) throw new Error(`a runbook id is lower case letters, digits and dashes, not ${JSON.stringify(runbook.id)}`);
  return runbook as unknown as Runbook;
}

export function defineStep<D, R = never>(step: Step<D, R>): Step {
  return step as unknown as Step;
}

export function defineCheck(check: Check): Check {
  return check;
}

export function defineFact<T>(fact: Fact<T>): Fact<T> {
  return fact;
}
