import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** One section of the shared config file: its settings, and its nested ones (`kms =` then indented lines). */
interface Section {
  readonly settings: Map<string, string>;
  readonly nested: Map<string, Map<string, string>>;
}

/**
 * The endpoint the shared config file (AWS_CONFIG_FILE, else ~/.aws/config) gives a profile, as
 * the AWS CLI and SDKs read it ("service-specific endpoints"): the `endpoint_url` nested under
 * `kms` in the `[services NAME]` section the profile's `services = NAME` names, else the profile's
 * own `endpoint_url`. Undefined when there is none, the file cannot be read, or
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true (as the AWS tools have it).
 */
export function endpointOfProfile(profile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim().toLowerCase() === 'true') return undefined;
  let text: string;
  try {
    text = readFileSync(env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'), 'utf8');
  } catch {
    return undefined;
  }
  const sections = parseConfig(text);
  const name = profile ?? 'default';
  // The default profile is `[default]` (or `[profile default]`); every other is `[profile NAME]`.
  const section = name === 'default' ? sections.get('default') ?? sections.get('profile default') : sections.get(`profile ${name}`);
  if (section === undefined) return undefined;
  const services = section.settings.get('services');
  const fromServices = services === undefined ? undefined : sections.get(`services ${services}`)?.nested.get('kms')?.get('endpoint_url');
  return fromServices || section.settings.get('endpoint_url') || undefined;
}

/** The sections of an AWS config file: `[name]` headers (inner blanks collapsed), `key = value`, and indented lines nested under a `key =` with no value. */
function parseConfig(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let nestedUnder: Map<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(?:[#;]|$)/.test(line)) continue;
    const header = /^\s*\[\s*([^\]]*?)\s*\]/.exec(line);
    if (header) {
      const name = header[1]!.replace(/\s+/g, ' ');
      current = sections.get(name) ?? { settings: new Map(), nested: new Map() };
      sections.set(name, current);
      nestedUnder = undefined;
      continue;
    }
    const setting = /^(\s*)([^=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!setting || current === undefined) continue;
    const [, indent, key, value] = setting as unknown as [string, string, string, string];
    if (indent !== '' && nestedUnder !== undefined) {
      nestedUnder.set(key.toLowerCase(), value);
    } else if (value === '') {
      nestedUnder = new Map();
      current.nested.set(key.toLowerCase(), nestedUnder);
    } else {
      nestedUnder = undefined;
      current.settings.set(key.toLowerCase(), value);
    }
  }
  return sections;
}
