// envsubst as GNU gettext has it. With a list (an image entrypoint's) only those variables change; without one
// (the fake host's fault blank-vars) every $name and ${name} does, unset ones becoming "", as GNU envsubst does.
export function envsubst(
  template: string,
  env: ReadonlyMap<string, string>,
  only?: readonly string[],
): string {
  return template.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    if (only && !only.includes(name)) return whole;
    return env.get(name) ?? '';
  });
}
