// Writes schema/report.schema.json from the RunReport type the code uses (src/core/report.ts), so the published
// schema cannot drift from the report: `npm run schema` regenerates it, and a test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { createGenerator } from 'ts-json-schema-generator';

export function reportSchema() {
  // ShardReport holds RunReports, so its definitions hold RunReport's too.
  const schema = createGenerator({ path: 'src/core/report.ts', tsconfig: 'tsconfig.json', type: 'ShardReport', expose: 'export', topRef: true, additionalProperties: false, skipTypeCheck: true }).createSchema('ShardReport');
  return {
    $id: 'https://apply-ws-fix.invalid/report.schema.json',
    title: 'apply-ws-fix --json report (one host; a fleet prints an array of these, a shard of a fleet a ShardReport)',
    ...schema,
    // A fleet's --json is an array of reports, a shard's (--shard I/N) one ShardReport: the schema accepts each.
    anyOf: [{ $ref: '#/definitions/RunReport' }, { type: 'array', items: { $ref: '#/definitions/RunReport' } }, { $ref: '#/definitions/ShardReport' }],
    $ref: undefined,
  };
}

if (process.argv[1]?.endsWith('report-schema.mjs')) {
  writeFileSync('schema/report.schema.json', `${JSON.stringify(reportSchema(), null, 2)}\n`);
  console.log('wrote schema/report.schema.json');
}
