import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './packing.js';

/** One ```ts block of a README, with the marker before it. */
export interface Snippet {
  /** `README.md#3`, `packages/core/README.md#1`: the file and the block's position among its ts blocks. */
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** `runs` (a test runs it and it must exit by itself) or `fragment` (a piece, not run). */
  readonly kind: 'runs' | 'fragment' | undefined;
  readonly code: string;
}

const MARKER = /^<!-- snippet: (runs|fragment)\b.*-->$/;

/** The READMEs whose code blocks are checked: the root one and every package's and example's. */
export function readmeFiles(): string[] {
  const files = ['README.md'];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(repoRoot, group)).sort()) {
      const file = `${group}/${name}/README.md`;
      try {
        readFileSync(join(repoRoot, file));
        files.push(file);
      } catch {
        // no README in this package
      }
    }
  }
  return files;
}

/** Every ```ts block of `file`, with its marker (the last non-empty line before the fence). */
export function snippets(file: string): Snippet[] {
  const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (lines[index]?.trim() !== '```ts') continue;
    let before = index - 1;
    while (before >= 0 && lines[before]?.trim() === '') before--;
    const marker = MARKER.exec(lines[before]?.trim() ?? '');
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```');
    found.push({
      name: `${file}#${found.length + 1}`,
      file,
      line: index + 1,
      kind: marker ? (marker[1] as 'runs' | 'fragment') : undefined,
      code: lines.slice(index + 1, end).join('\n'),
    });
    index = end;
  }
  return found;
}
