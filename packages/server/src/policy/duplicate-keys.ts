import { MalformedPolicyDocumentException } from '../errors.js';

/**
 * IAM User Guide, "Grammar of the IAM JSON policy language", policy grammar notes: "Individual
 * elements must not contain multiple instances of the same key. For example, you cannot include
 * the Effect block twice in the same statement." JSON.parse keeps the last of two members of one
 * name, so `{"Effect": "Deny", ..., "Effect": "Allow"}` would read as an Allow that its author may
 * have meant as a Deny: a policy with a repeated member is refused instead.
 *
 * Checked when a policy is set (CreateKey, PutKeyPolicy, PutPrincipalPolicy), not in compilePolicy,
 * so that a policy stored before this check still compiles. `text` must already be valid JSON.
 */
export function assertNoDuplicateKeys(text: string): void {
  // One entry per open object (the member names seen so far) or array (null).
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = open.at(-1);
      if (top && expectName) {
        // Decoded, so "Eff\u0065ct" is Effect too.
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.has(name)) {
          throw new MalformedPolicyDocumentException(`The policy document has the member "${name}" twice in one object; an element may appear only once.`);
        }
        top.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectName = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectName = open.at(-1) != null;
    }
  }
}
