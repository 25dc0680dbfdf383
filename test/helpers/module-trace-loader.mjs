// The off-thread load hook module-trace.mjs registers where module.registerHooks does not exist (Node < 22.15).
import { appendFileSync } from 'node:fs';

export async function load(url, context, next) {
  appendFileSync(process.env.MODULE_TRACE_FILE, `${url}\n`);
  return next(url, context);
}
