// Every report a test makes is checked against the JSON Schema the package ships (schema/report.schema.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { packageRoot } from '../../src/paths.js';

const schema = JSON.parse(readFileSync(join(packageRoot(), 'schema', 'report.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Throws with every schema error when a report (or a fleet's array of reports) does not match the schema. */
export function assertReportMatchesSchema(report: unknown): void {
  // Through JSON, as --json prints it: undefined fields vanish, as they do for a reader of the report.
  if (!validate(JSON.parse(JSON.stringify(report)))) throw new Error(`the report does not match schema/report.schema.json:\n${JSON.stringify(validate.errors, null, 2)}`);
}
