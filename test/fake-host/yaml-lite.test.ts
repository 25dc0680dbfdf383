import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/fake-host/compose/yaml-lite.js';

describe('yaml-lite', () => {
  it('reads the fixture compose file', () => {
    const doc = parseYaml(readFileSync('fixtures/fake-host/vaettir/compose.yaml', 'utf8')) as Record<string, any>;
    expect(doc.name).toBe('vaettir');
    expect(Object.keys(doc.services)).toEqual(['web', 'ocapistaine']);
    expect(doc.services.ocapistaine.profiles).toEqual(['production', 'proxy']);
    expect(doc.services.ocapistaine.environment.OCAPISTAINE_TARGET_URL).toBe('${OCAPISTAINE_TARGET_URL}');
    expect(doc.services.ocapistaine.build.dockerfile).toBe('proxy-configs/Dockerfile.ocapistaine');
  });

  it('reads lists, flow collections, quotes and block scalars', () => {
    const doc = parseYaml(
      'a:\n  - x\n  - name: y\n    v: "q # r"\n  - [1, \'b c\']\nb:\n- 1\nc: {k: v, z: [1, 2]}\nd: |\n  l1\n  l2\ne: it\'s # note\n',
    );
    expect(doc).toEqual({
      a: ['x', { name: 'y', v: 'q # r' }, ['1', 'b c']],
      b: ['1'],
      c: { k: 'v', z: ['1', '2'] },
      d: 'l1\nl2\n',
      e: "it's",
    });
  });
});
