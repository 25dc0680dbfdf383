// A block of lines between two marker lines, inserted or replaced in a file (as Ansible's blockinfile does), every
// other byte kept; written as a replaced file (backup, compare-and-swap atomic write, undo).
import { StartError } from '../errors.js';
import type { Step } from '../core/types.js';
import { fileReplace, type FileReplaceOptions } from './file-replace.js';

export interface BlockInFileOptions extends Omit<FileReplaceOptions, 'content'> {
  /** The block's lines, without the markers. */
  block: string;
  /** Marker lines: `# BEGIN apply-ws-fix <name>` … `# END apply-ws-fix <name>` by default. */
  marker?: { begin: string; end: string };
  /** Where a new block goes: after the first line matching this pattern (indented like the next line), else at the end. */
  insertAfter?: RegExp;
}

/** The file with the block between the markers set to `block`; every other byte as it was. */
export function setBlock(file: Buffer, block: string, marker: { begin: string; end: string }, insertAfter?: RegExp): Buffer {
  const text = file.toString('utf8');
  const lines = text.split('\n');
  const begin = lines.findIndex((line) => line.trim() === marker.begin.trim());
  const end = lines.findIndex((line, i) => i > begin && line.trim() === marker.end.trim());
  if (begin >= 0 !== end >= 0 || lines.filter((line) => line.trim() === marker.begin.trim()).length > 1) {
    throw new StartError(`the markers "${marker.begin}" / "${marker.end}" are unbalanced or repeated in the file; refusing to guess where the block is`, 'block-markers', 'Fix the markers by hand, then run again.');
  }
  if (begin >= 0) {
    const indent = /^\s*/.exec(lines[begin]!)![0];
    const body = block.split('\n').map((line) => (line === '' ? line : indent + line));
    return Buffer.from([...lines.slice(0, begin + 1), ...body, ...lines.slice(end)].join('\n'), 'utf8');
  }
  const at = insertAfter ? lines.findIndex((line) => insertAfter.test(line)) : -1;
  if (at < 0) {
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    return Buffer.from(`${text}${sep}${marker.begin}\n${block}\n${marker.end}\n`, 'utf8');
  }
  const indent = /^\s*/.exec(lines[at + 1] ?? '')![0];
  const inserted = [marker.begin, ...block.split('\n'), marker.end].map((line) => (line === '' ? line : indent + line));
  return Buffer.from([...lines.slice(0, at + 1), ...inserted, ...lines.slice(at + 1)].join('\n'), 'utf8');
}

/** The backup and write steps that set a marked block of a file. */
export function blockInFile(options: BlockInFileOptions & { name: string }): [Step, Step] {
  const marker = options.marker ?? { begin: `# BEGIN apply-ws-fix ${options.name}`, end: `# END apply-ws-fix ${options.name}` };
  return fileReplace({ newWhat: `the ${options.name} block`, ...options, content: (current) => setBlock(current, options.block, marker, options.insertAfter) });
}
