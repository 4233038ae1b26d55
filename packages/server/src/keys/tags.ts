import { TagException } from '../errors.js';
import { addCaseFoldedValue, type ContextValue } from '../policy/context.js';
import type { Tag } from './key-record.js';

/** AWS's quota of tags per key. */
export const MAX_TAGS_PER_KEY = 50;

/** Checks tags from a request: no duplicate keys, no reserved `aws:` prefix. */
export function checkRequestTags(tags: readonly Tag[]): void {
  if (new Set(tags.map((t) => t.TagKey)).size !== tags.length) throw new TagException('Duplicate tag keys');
  if (tags.some((t) => t.TagKey.toLowerCase().startsWith('aws:'))) throw new TagException('Tags beginning with aws: are reserved');
}

/** Existing tags with new ones merged in: a new value for a known key replaces the old one. */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const merged = new Map(existing.map((t) => [t.TagKey, t.TagValue]));
  for (const t of added) merged.set(t.TagKey, t.TagValue);
  if (merged.size > MAX_TAGS_PER_KEY) throw new TagException('Too many tags');
  return [...merged].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

/** The condition keys a request's tags set: aws:RequestTag/<key> per tag, and aws:TagKeys. */
export function requestTagContext(tags: readonly Tag[]): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {};
  for (const t of tags) addCaseFoldedValue(context, `aws:requesttag/${t.TagKey.toLowerCase()}`, t.TagValue);
  if (tags.length > 0) context['aws:tagkeys'] = tags.map((t) => t.TagKey);
  return context;
}
