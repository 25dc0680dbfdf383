// What the output stream can do: redraw a live task list, and show colour. Decided once, at the CLI edge.

/** The live (redrawing) task list needs a real terminal that can move the cursor and has a width. */
export function canRedraw(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  // A pty that reports 0 columns (script -qc … with no terminal around it) made listr2 wrap at a negative width:
  // one character a line. TERM=dumb cannot move the cursor at all.
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && env['TERM'] !== 'dumb' && !env['CI'];
}

/** Colour, as NO_COLOR (no-color.org) and FORCE_COLOR ask, else only on a terminal other than TERM=dumb. */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return !['0', 'false'].includes(force.toLowerCase());
  return Boolean(stream.isTTY) && env['TERM'] !== 'dumb';
}
