// What the entrypoint does at container start: envsubst with an explicit list of one variable.

/** Substitutes `${NAME}` and `$NAME` for the listed variables only, as `envsubst '${NAME}'` does. */
export function renderTemplate(template: Buffer, values: Readonly<Record<string, string>>): Buffer {
  let text = template.toString('latin1');
  for (const [name, value] of Object.entries(values)) {
    const encoded = Buffer.from(value, 'utf8').toString('latin1');
    text = text.replace(new RegExp(`\\$\\{${name}\\}|\\$${name}(?![A-Za-z0-9_])`, 'g'), () => encoded);
  }
  return Buffer.from(text, 'latin1');
}
