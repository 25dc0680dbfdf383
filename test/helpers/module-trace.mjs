// `node --import ./module-trace.mjs …`: appends the URL of every module the process loads, one a line, to the file
// named by MODULE_TRACE_FILE, and at exit every CommonJS module in require's cache (a require() inside a CommonJS
// package, which Node 20's off-thread hooks do not see). Node 22.15+ and 24 load through module.registerHooks, in
// this thread, for import and require alike; older Nodes through module.register. A name only resolved
// (import.meta.resolve) is not loaded, and not listed.
import { appendFileSync } from 'node:fs';
import * as nodeModule from 'node:module';

const file = process.env.MODULE_TRACE_FILE;
if (!file) throw new Error('module-trace.mjs: set MODULE_TRACE_FILE');

if (typeof nodeModule.registerHooks === 'function') {
  nodeModule.registerHooks({
    load(url, context, next) {
      appendFileSync(file, `${url}\n`);
      return next(url, context);
    },
  });
} else {
  nodeModule.register('./module-trace-loader.mjs', import.meta.url);
}

const require = nodeModule.createRequire(import.meta.url);
process.on('exit', () => {
  const cached = Object.keys(require.cache);
  if (cached.length > 0) appendFileSync(file, `${cached.join('\n')}\n`);
});
