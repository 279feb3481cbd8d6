import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicySet, policyRevision } from '../../src/policy/load.js';
import type { LoadResult } from '../../src/policy/model.js';
import { loadedSet as ok, mandate } from './fixtures.js';

function codes(result: LoadResult): string[] {
  if (result.ok) throw new Error('expected diagnostics');
  return result.diagnostics.map((d) => `${d.file}: ${d.code}`);
}

let root: string;

async function write(rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), text);
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mandate-load-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadPolicySet', () => {
  it('reads a directory recursively, policy extensions only, sorted, names joined to the path given', async () => {
    await write('p/b.yaml', mandate('b'));
    await write('p/a.yml', mandate('a'));
    await write('p/sub/deeper/c.json', JSON.stringify({
      apiVersion: 'mandate/v1', kind: 'Target', metadata: { name: 'c' }, spec: { match: 'c.internal' },
    }));
    await write('p/sub/D.YAML', mandate('d'));
    await write('p/notes.txt', 'not: read');
    await write('p/README.md', '# not read');
    const set = ok(await loadPolicySet(['p'], { cwd: root }));
    expect(set.files).toEqual(['p/a.yml', 'p/b.yaml', 'p/sub/D.YAML', 'p/sub/deeper/c.json']);
    expect(set.mandates.map((m) => m.name)).toEqual(['a', 'b', 'd']);
    expect(set.targets.map((t) => t.name)).toEqual(['c']);
    expect(set.mandates[0]!.location.file).toBe('p/a.yml');
  });

  it('reads a file given directly whatever its extension, and absolute paths', async () => {
    await write('policy.txt', mandate('t'));
    const set = ok(await loadPolicySet([path.join(root, 'policy.txt')]));
    expect(set.files).toEqual([path.join(root, 'policy.txt')]);
  });

  it('reads several documents of one file', async () => {
    await write('multi.yaml', `${mandate('a')}---\n${mandate('b')}\n---\n# trailing empty document\n`);
    expect(ok(await loadPolicySet(['multi.yaml'], { cwd: root })).mandates.map((m) => m.name)).toEqual(['a', 'b']);
  });

  it('accepts empty files next to real ones', async () => {
    await write('p/empty.yaml', '');
    await write('p/comment.yaml', '# only a comment\n');
    await write('p/a.yaml', mandate('a'));
    expect(ok(await loadPolicySet(['p'], { cwd: root })).mandates).toHaveLength(1);
  });

  it('skips entries whose name starts with a dot, files and directories', async () => {
    await write('p/a.yaml', mandate('a'));
    await write('p/.b.yaml', 'garbage: [');
    await write('p/.git/c.yaml', 'garbage: [');
    expect(ok(await loadPolicySet(['p'], { cwd: root })).files).toEqual(['p/a.yaml']);
  });

  it('reads a Kubernetes ConfigMap mount once and follows its atomic swap', async () => {
    // kubelet layout: data in a timestamped dot-directory, `..data` links to it, and each key
    // is a top-level link through `..data`.
    await write('cm/..2026_12_04_10_00_00.1/a.yaml', mandate('a'));
    await write('cm/..2026_12_04_10_00_00.1/b.yaml', mandate('b'));
    await symlink('..2026_12_04_10_00_00.1', path.join(root, 'cm/..data'));
    await symlink('..data/a.yaml', path.join(root, 'cm/a.yaml'));
    await symlink('..data/b.yaml', path.join(root, 'cm/b.yaml'));
    const first = ok(await loadPolicySet(['cm'], { cwd: root }));
    expect(first.files).toEqual(['cm/a.yaml', 'cm/b.yaml']);
    expect(first.mandates.map((m) => m.name)).toEqual(['a', 'b']);

    await write('cm/..2026_12_04_10_05_00.2/a.yaml', mandate('a'));
    await write('cm/..2026_12_04_10_05_00.2/b.yaml', mandate('b2').replace('sa/b2', 'sa/b'));
    await symlink('..2026_12_04_10_05_00.2', path.join(root, 'cm/..data_tmp'));
    await rename(path.join(root, 'cm/..data_tmp'), path.join(root, 'cm/..data'));
    const second = ok(await loadPolicySet(['cm'], { cwd: root }));
    expect(second.mandates.map((m) => m.name)).toEqual(['a', 'b2']);
    expect(second.revision).not.toBe(first.revision);
  });

  it('follows directory links and survives link cycles', async () => {
    await write('real/a.yaml', mandate('a'));
    await write('p/b.yaml', mandate('b'));
    await symlink(path.join(root, 'real'), path.join(root, 'p/linked'));
    await symlink('..', path.join(root, 'p/loop'));
    await symlink('.', path.join(root, 'real/self'));
    const set = ok(await loadPolicySet(['p'], { cwd: root }));
    expect(set.mandates.map((m) => m.name).sort()).toEqual(['a', 'b']);
    expect(set.files).toContain('p/linked/a.yaml');
  });

  it('reads a file reached twice only once', async () => {
    await write('p/a.yaml', mandate('a'));
    await symlink('a.yaml', path.join(root, 'p/z-alias.yaml'));
    const set = ok(await loadPolicySet(['p', 'p/a.yaml', 'p'], { cwd: root }));
    expect(set.files).toEqual(['p/a.yaml']);
  });

  it('reports broken links with a policy extension, ignores others', async () => {
    await write('p/a.yaml', mandate('a'));
    await symlink('gone.yaml', path.join(root, 'p/broken.yaml'));
    await symlink('gone.txt', path.join(root, 'p/broken.txt'));
    expect(codes(await loadPolicySet(['p'], { cwd: root }))).toEqual(['p/broken.yaml: READ_ERROR']);
  });

  it.each([
    ['a missing path', ['missing.yaml'], ['missing.yaml: READ_ERROR']],
    ['a missing directory next to a good file', ['nope/', 'good.yaml'], ['nope/: READ_ERROR']],
    ['an empty directory', ['empty'], ['empty: NO_POLICY_FILES']],
    ['no paths', [], ['.: NO_POLICY_FILES']],
  ])('reports %s', async (_name, paths, want) => {
    await mkdir(path.join(root, 'empty'));
    await write('empty/.keep', '');
    await write('good.yaml', mandate('g'));
    expect(codes(await loadPolicySet(paths, { cwd: root }))).toEqual(want);
  });

  it('reports a file that is not UTF-8', async () => {
    await writeFile(path.join(root, 'latin1.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(codes(await loadPolicySet(['latin1.yaml'], { cwd: root }))).toEqual(['latin1.yaml: READ_ERROR']);
  });

  it('reports read problems together with validation problems', async () => {
    await write('p/bad.yaml', mandate('Bad'));
    expect(codes(await loadPolicySet(['p', 'missing'], { cwd: root }))).toEqual(['missing: READ_ERROR', 'p/bad.yaml: INVALID_NAME']);
  });
});

describe('reuse of unchanged files', () => {
  it('reuses the documents of unchanged files and re-reads changed ones', async () => {
    await write('p/a.yaml', mandate('a'));
    await write('p/b.yaml', mandate('b'));
    const first = ok(await loadPolicySet(['p'], { cwd: root }));
    await write('p/b.yaml', mandate('b2'));
    const second = ok(await loadPolicySet(['p'], { cwd: root }));
    expect(second.mandates[0]).toBe(first.mandates[0]); // a.yaml unchanged: same frozen object
    expect(second.mandates.map((m) => m.name)).toEqual(['a', 'b2']);
    const fresh = ok(await loadPolicySet(['p'], { cwd: root, cache: false }));
    expect(fresh.mandates[0]).not.toBe(first.mandates[0]);
    expect(fresh.mandates[0]).toEqual(first.mandates[0]);
  });

  it('keeps nothing for reuse when a load has more documents than the budget', async () => {
    await write('p/a.yaml', mandate('a'));
    await write('p/b.yaml', mandate('b'));
    const first = ok(await loadPolicySet(['p'], { cwd: root, maxCachedDocuments: 1 }));
    const second = ok(await loadPolicySet(['p'], { cwd: root }));
    expect(second.mandates[0]).not.toBe(first.mandates[0]); // nothing was kept
    expect(second.mandates[0]).toEqual(first.mandates[0]);
    const third = ok(await loadPolicySet(['p'], { cwd: root, maxCachedDocuments: 2 }));
    expect(third.mandates[0]).toBe(second.mandates[0]); // within budget: kept and reused
    expect(ok(await loadPolicySet(['p'], { cwd: root })).mandates[1]).toBe(third.mandates[1]);
  });

  it('still checks rules across files when only one file changed', async () => {
    await write('p/a.yaml', mandate('a'));
    await write('p/b.yaml', mandate('b'));
    ok(await loadPolicySet(['p'], { cwd: root }));
    await write('p/b.yaml', mandate('a'));
    expect(codes(await loadPolicySet(['p'], { cwd: root }))).toEqual(['p/b.yaml: DUPLICATE_NAME', 'p/b.yaml: DUPLICATE_SUBJECT']);
    await write('p/b.yaml', mandate('b'));
    expect(ok(await loadPolicySet(['p'], { cwd: root })).mandates).toHaveLength(2);
  });
});

describe('revision', () => {
  it('is 16 hex characters, the same for the same tree wherever it is', async () => {
    for (const dir of ['one', 'two/deeper']) {
      await write(`${dir}/a.yaml`, mandate('a'));
      await write(`${dir}/sub/b.yaml`, mandate('b'));
    }
    const one = ok(await loadPolicySet(['one'], { cwd: root }));
    const two = ok(await loadPolicySet([path.join(root, 'two/deeper')]));
    expect(one.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(two.revision).toBe(one.revision);
  });

  it('does not depend on the order paths are given in', async () => {
    await write('a.yaml', mandate('a'));
    await write('b.yaml', mandate('b'));
    const ab = ok(await loadPolicySet(['a.yaml', 'b.yaml'], { cwd: root }));
    const ba = ok(await loadPolicySet(['b.yaml', 'a.yaml'], { cwd: root }));
    expect(ba.revision).toBe(ab.revision);
  });

  it('changes with any byte and with a rename', async () => {
    await write('p/a.yaml', mandate('a'));
    const before = ok(await loadPolicySet(['p'], { cwd: root })).revision;
    await write('p/a.yaml', `${mandate('a')}\n`);
    const edited = ok(await loadPolicySet(['p'], { cwd: root })).revision;
    await rename(path.join(root, 'p/a.yaml'), path.join(root, 'p/b.yaml'));
    const renamed = ok(await loadPolicySet(['p'], { cwd: root })).revision;
    expect(new Set([before, edited, renamed]).size).toBe(3);
  });

  it('is fixed for fixed input (a format change is a visible diff)', () => {
    expect(policyRevision([{ name: 'x/a.yaml', revisionName: 'a.yaml', text: 'a: 1\n' }])).toBe(
      policyRevision([{ name: 'elsewhere/a.yaml', revisionName: 'a.yaml', text: 'a: 1\n' }]),
    );
    // printf 'a.yaml\0005\0a: 1\n' | sha256sum | cut -c1-16
    expect(policyRevision([{ name: 'a.yaml', text: 'a: 1\n' }])).toBe('312a1347b97283b0');
  });
});
