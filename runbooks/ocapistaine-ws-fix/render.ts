// What the image's entrypoint does at container start: envsubst with an explicit list (only the target variable),
// so $http_upgrade and the other nginx variables survive.
import { envsubst } from '../../src/lib/envsubst.js';

/** The template as the entrypoint renders it, bytes kept (latin1 round trip), only the listed variables replaced. */
export function renderTemplate(template: Buffer, values: Readonly<Record<string, string>>): Buffer {
  const encoded = new Map(Object.entries(values).map(([name, value]) => [name, Buffer.from(value, 'utf8').toString('latin1')]));
  return Buffer.from(envsubst(template.toString('latin1'), encoded, Object.keys(values)), 'latin1');
}
