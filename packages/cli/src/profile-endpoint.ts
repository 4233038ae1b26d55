import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** One section of the shared config file: its settings, and its nested ones (`kms =` then indented lines). */
interface Section {
  readonly settings: Map<string, string>;
  readonly nested: Map<string, Map<string, string>>;
}

/**
 * The endpoint configured for KMS, as the AWS CLI (botocore) reads it: AWS_ENDPOINT_URL_KMS, else
 * AWS_ENDPOINT_URL, else (with `fromFile`) the shared config file's (AWS_CONFIG_FILE, else
 * ~/.aws/config) for the profile ("service-specific endpoints": the `endpoint_url` nested under
 * `kms` in the `[services NAME]` section the profile's `services = NAME` names, else the profile's
 * own `endpoint_url`). Undefined when there is none, or when configured endpoints are turned off
 * (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, or else the profile's `ignore_configured_endpoint_urls`,
 * true): then neither the variables nor the file are read; an explicit --endpoint-url still is.
 * The file is read once.
 */
export function configuredEndpoint(profile: string | undefined, env: NodeJS.ProcessEnv, fromFile = true): string | undefined {
  const ignoreVariable = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS || undefined;
  if (ignoreVariable !== undefined && isTrue(ignoreVariable)) return undefined;
  const read = profileSection(profile, env);
  // The variable, when set, wins over the file's setting, as every AWS setting's does.
  if (ignoreVariable === undefined && isTrue(read?.section.settings.get('ignore_configured_endpoint_urls'))) return undefined;
  if (env.AWS_ENDPOINT_URL_KMS || env.AWS_ENDPOINT_URL) return env.AWS_ENDPOINT_URL_KMS || env.AWS_ENDPOINT_URL;
  if (!fromFile || read === undefined) return undefined;
  const services = read.section.settings.get('services');
  const fromServices = services === undefined ? undefined : read.sections.get(`services ${services}`)?.nested.get('kms')?.get('endpoint_url');
  return fromServices || read.section.settings.get('endpoint_url') || undefined;
}

/** The profile's section of the shared config file, with all of them; undefined when the file cannot be read or has none. */
function profileSection(profile: string | undefined, env: NodeJS.ProcessEnv): { section: Section; sections: Map<string, Section> } | undefined {
  let text: string;
  try {
    text = readFileSync(sharedConfigFile(env), 'utf8');
  } catch {
    return undefined;
  }
  const sections = parseConfig(text);
  const name = profile ?? 'default';
  // The default profile is `[default]` (or `[profile default]`); every other is `[profile NAME]`.
  const section = name === 'default' ? sections.get('default') ?? sections.get('profile default') : sections.get(`profile ${name}`);
  return section === undefined ? undefined : { section, sections };
}

/** The shared config file's path: AWS_CONFIG_FILE (`~` and `$VAR` expanded), else ~/.aws/config. */
export function sharedConfigFile(env: NodeJS.ProcessEnv): string {
  return expandPath(env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'), env);
}

const isTrue = (value: string | undefined) => value?.trim().toLowerCase() === 'true';

/** `~` and `$VAR`/`${VAR}` in a configured path, expanded as botocore (and the AWS SDK for the region) does. */
function expandPath(path: string, env: NodeJS.ProcessEnv): string {
  const withVariables = path.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced?: string, bare?: string) => env[braced ?? bare!] ?? whole);
  return withVariables === '~' || withVariables.startsWith('~/') ? homedir() + withVariables.slice(1) : withVariables;
}

/**
 * The sections of an AWS config file as botocore reads them: `[name]` headers (inner blanks
 * collapsed, a profile name's quotes dropped), `key = value` or `key: value` (keys in lower case),
 * and the indented lines under a `key =` with no value nested under it (their keys as written). An
 * indented line under a setting with a value continues that value and is no setting of its own.
 */
function parseConfig(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let nestedUnder: Map<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(?:[#;]|$)/.test(line)) continue;
    const header = /^\s*\[\s*([^\]]*?)\s*\]/.exec(line);
    if (header) {
      const name = header[1]!.replace(/\s+/g, ' ').replace(/^profile "(.*)"$/, 'profile $1');
      current = sections.get(name) ?? { settings: new Map(), nested: new Map() };
      sections.set(name, current);
      nestedUnder = undefined;
      continue;
    }
    const setting = /^(\s*)([^=:\s]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (!setting || current === undefined) continue;
    const [, indent, key, value] = setting as unknown as [string, string, string, string];
    if (indent !== '') {
      nestedUnder?.set(key, value);
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
