// Preloaded with `node --require`: ssh2 loads as it does when npm's install scripts never ran, without its native
// crypto addon, so its JavaScript ciphers are used. Writes the file AWF_NO_ADDON_MARK names when it turned the addon
// away, so a test can tell the JavaScript path really ran.
const Module = require('node:module');
const { writeFileSync } = require('node:fs');

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (/sshcrypto\.node$/.test(request)) {
    if (process.env.AWF_NO_ADDON_MARK) writeFileSync(process.env.AWF_NO_ADDON_MARK, 'refused\n');
    throw new Error('ssh2 native addon withheld by the test (as without npm install scripts)');
  }
  return load.call(this, request, parent, isMain);
};
