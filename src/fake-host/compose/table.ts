// docker's table output: text/tabwriter with minwidth 10, padding 3, the last column unpadded.
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 10, [...cell].length + 3);
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 10) : cell)).join(''))
    .map((line) => `${line}\n`)
    .join('');
}
