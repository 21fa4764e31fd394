import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Output, table } from '../../src/cli/output.js';

describe('a table on the terminal', () => {
  it('pads each column to its widest visible text: colour codes take no width', () => {
    const out = new Output({ json: false, quiet: false, verbose: false, color: true });
    const text = table(['NAME', 'STATUS', 'N'], [[out.paint('bold', 'a'), out.paint('green', 'healthy'), '1'], ['bb', out.paint('red', 'down'), '2']]);
    const plain = stripVTControlCharacters(text);
    expect(plain.split('\n')).toEqual(['NAME  STATUS   N', 'a     healthy  1', 'bb    down     2']);
    expect(text).toContain('\u001b[32mhealthy\u001b[0m  1');
  });
});
