import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTextInput } from '../src/values.js';

describe('readTextInput: file:// as the AWS CLI reads it (awscli/paramfile.py)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-values-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.json');
  writeFileSync(file, '{"a":1}');

  it('reads PATH for file://PATH and fileb://PATH', () => {
    assert.equal(readTextInput(`file://${file}`, 'the policy'), '{"a":1}');
    assert.equal(readTextInput(`fileb://${file}`, 'the policy'), '{"a":1}');
    assert.equal(readTextInput(file, 'the policy'), '{"a":1}');
  });

  it('expands ~ and $VAR / ${VAR} after file://, and leaves an unset variable as written', () => {
    process.env.COFFER_TEST_DIR = dir;
    try {
      assert.equal(readTextInput('file://$COFFER_TEST_DIR/policy.json', 'the policy'), '{"a":1}');
      assert.equal(readTextInput('file://${COFFER_TEST_DIR}/policy.json', 'the policy'), '{"a":1}');
    } finally {
      delete process.env.COFFER_TEST_DIR;
    }
    assert.equal(readTextInput(`file://~/${relative(homedir(), file)}`, 'the policy'), '{"a":1}');
    assert.throws(() => readTextInput('file://$COFFER_UNSET_VARIABLE/policy.json', 'the policy'), /cannot read the policy from '\$COFFER_UNSET_VARIABLE\/policy\.json': ENOENT/);
  });

  it('takes file://- as a file named -, not standard input', () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      writeFileSync(join(dir, '-'), 'dash');
      assert.equal(readTextInput('file://-', 'the policy'), 'dash');
    } finally {
      process.chdir(cwd);
    }
  });
});
