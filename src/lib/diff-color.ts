// A unified diff in the terminal's colours: removed lines red, added green, hunk headers cyan, file headers bold.
const RESET = '\u001b[0m';

/** Colours the lines of text that are diff lines; the plan's other lines start with a space or a letter. */
export function colorDiff(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return `\u001b[1m${line}${RESET}`;
      if (line.startsWith('@@')) return `\u001b[36m${line}${RESET}`;
      if (line.startsWith('+')) return `\u001b[32m${line}${RESET}`;
      if (line.startsWith('-')) return `\u001b[31m${line}${RESET}`;
      return line;
    })
    .join('\n');
}
