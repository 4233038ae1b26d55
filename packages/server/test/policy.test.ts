import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { LimitExceededException, MalformedPolicyDocumentException } from '../src/errors.js';
import { DECISION_REASONS } from '../src/policy/authorize.js';
import { INVALID_PRINCIPALS } from '../src/policy/principal.js';
import { assertKeyPolicySize, compilePolicy, MAX_IDENTITY_POLICY_LENGTH, MAX_POLICY_LENGTH, namedPrincipals, type CompiledPolicy } from '../src/policy/compile.js';
import { encryptionContextEntries, type RequestContext } from '../src/policy/context.js';
import { defaultKeyPolicy } from '../src/policy/default-key-policy.js';
import { statementMatches } from '../src/policy/evaluate.js';
import { assertNoLockOut, LOCKOUT_MESSAGE, wouldLockOut } from '../src/policy/lockout.js';
import { assertNoDuplicateKeys } from '../src/policy/duplicate-keys.js';
import { parseJsonWithSource } from '../src/policy/json-source.js';
import {
  ACCOUNT, alice, appRole, ask, bob, carol, ENABLE_IAM, holds, identityPolicy, KEY_ARN, keyPolicy, OTHER_ACCOUNT,
  OTHER_KEY_ARN, OTHER_ROOT_ARN, otherRoot, policyText, root, ROOT_ARN, type Statement,
} from './support/policy-fixtures.js';

// ---------------------------------------------------------------------------------------------
// Conditions: every operator, positive, negative, missing key, IfExists, set qualifiers.

interface ConditionCase {
  readonly name: string;
  readonly condition: Record<string, unknown>;
  readonly context: RequestContext;
  readonly expect: boolean;
  readonly version?: string | null;
}

const c = (name: string, condition: Record<string, unknown>, context: RequestContext, expect: boolean, version?: string | null): ConditionCase =>
  ({ name, condition, context, expect, version });

const EC_APP = { 'kms:encryptioncontext:appname': 'ExampleApp' };
const T0 = '2026-01-01T00:00:00Z';
const T0_EPOCH = Date.parse(T0) / 1000;

const STRING_CASES: ConditionCase[] = [
  c('StringEquals matches the exact value', { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } }, EC_APP, true),
  c('StringEquals is case-sensitive in the value', { StringEquals: { 'kms:EncryptionContext:AppName': 'exampleapp' } }, EC_APP, false),
  c('StringEquals fails on another value', { StringEquals: { 'kms:EncryptionContext:AppName': 'Other' } }, EC_APP, false),
  c('StringEquals is false when the key is absent', { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } }, {}, false),
  c('StringEquals ORs its values', { StringEquals: { 'kms:EncryptionContext:AppName': ['Other', 'ExampleApp'] } }, EC_APP, true),
  c('StringEquals ANDs its keys (both present)', { StringEquals: { 'kms:EncryptionContext:Department': 'IT', 'kms:EncryptionContext:Project': 'Alpha' } },
    { 'kms:encryptioncontext:department': 'IT', 'kms:encryptioncontext:project': 'Alpha' }, true),
  c('StringEquals ANDs its keys (one missing)', { StringEquals: { 'kms:EncryptionContext:Department': 'IT', 'kms:EncryptionContext:Project': 'Alpha' } },
    { 'kms:encryptioncontext:department': 'IT' }, false),
  c('StringEquals compares a number in the context as text', { StringEquals: { 'kms:RotationPeriodInDays': '90' } }, { 'kms:rotationperiodindays': 90 }, true),
  c('StringEquals reads a JSON number in the policy as text', { StringEquals: { 'kms:CallerAccount': 111122223333 } }, { 'kms:calleraccount': ACCOUNT }, true),
  c('StringEquals: condition key names are case-insensitive', { StringEquals: { 'KMS:CALLERACCOUNT': ACCOUNT } }, { 'kms:calleraccount': ACCOUNT }, true),
  c('StringEqualsIfExists passes when the key is absent', { StringEqualsIfExists: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } }, {}, true),
  c('StringEqualsIfExists checks a present key', { StringEqualsIfExists: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } },
    { 'kms:viaservice': 'rds.us-west-2.amazonaws.com' }, false),
  c('StringEqualsIfExists matches a present key', { StringEqualsIfExists: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } },
    { 'kms:viaservice': 'ec2.us-west-2.amazonaws.com' }, true),
  c('StringNotEquals holds for another value', { StringNotEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } }, { 'kms:encryptionalgorithm': 'RSAES_OAEP_SHA_256' }, true),
  c('StringNotEquals fails for the value', { StringNotEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } }, { 'kms:encryptionalgorithm': 'SYMMETRIC_DEFAULT' }, false),
  c('StringNotEquals holds when the key is absent', { StringNotEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } }, {}, true),
  c('StringNotEquals: the value must match none of the list', { StringNotEquals: { 'kms:KeySpec': ['RSA_2048', 'SYMMETRIC_DEFAULT'] } }, { 'kms:keyspec': 'SYMMETRIC_DEFAULT' }, false),
  c('StringNotEquals: a value outside the list holds', { StringNotEquals: { 'kms:KeySpec': ['RSA_2048', 'RSA_4096'] } }, { 'kms:keyspec': 'SYMMETRIC_DEFAULT' }, true),
  c('StringNotEquals is case-sensitive', { StringNotEquals: { 'kms:KeySpec': 'symmetric_default' } }, { 'kms:keyspec': 'SYMMETRIC_DEFAULT' }, true),
  c('StringNotEqualsIfExists passes when absent', { StringNotEqualsIfExists: { 'kms:KeySpec': 'RSA_2048' } }, {}, true),
  c('StringNotEqualsIfExists fails for the value', { StringNotEqualsIfExists: { 'kms:KeySpec': 'RSA_2048' } }, { 'kms:keyspec': 'RSA_2048' }, false),
  c('StringEqualsIgnoreCase ignores case', { StringEqualsIgnoreCase: { 'kms:EncryptionContext:AppName': 'EXAMPLEAPP' } }, EC_APP, true),
  c('StringEqualsIgnoreCase fails on another value', { StringEqualsIgnoreCase: { 'kms:EncryptionContext:AppName': 'other' } }, EC_APP, false),
  c('StringEqualsIgnoreCase is false when absent', { StringEqualsIgnoreCase: { 'kms:EncryptionContext:AppName': 'x' } }, {}, false),
  c('StringEqualsIgnoreCaseIfExists passes when absent', { StringEqualsIgnoreCaseIfExists: { 'kms:EncryptionContext:AppName': 'x' } }, {}, true),
  c('StringNotEqualsIgnoreCase fails for the value in another case', { StringNotEqualsIgnoreCase: { 'kms:EncryptionContext:AppName': 'EXAMPLEAPP' } }, EC_APP, false),
  c('StringNotEqualsIgnoreCase holds for another value', { StringNotEqualsIgnoreCase: { 'kms:EncryptionContext:AppName': 'other' } }, EC_APP, true),
  c('StringNotEqualsIgnoreCase holds when absent', { StringNotEqualsIgnoreCase: { 'kms:EncryptionContext:AppName': 'other' } }, {}, true),
  c('StringNotEqualsIgnoreCaseIfExists holds when absent', { StringNotEqualsIgnoreCaseIfExists: { 'kms:EncryptionContext:AppName': 'other' } }, {}, true),
  c('StringNotEqualsIgnoreCaseIfExists checks a present key', { StringNotEqualsIgnoreCaseIfExists: { 'kms:EncryptionContext:AppName': 'exampleAPP' } }, EC_APP, false),
  c('StringLike: * matches any run', { StringLike: { 'kms:DataKeyPairSpec': 'RSA*' } }, { 'kms:datakeypairspec': 'RSA_4096' }, true),
  c('StringLike: * matches the empty run', { StringLike: { 'kms:DataKeyPairSpec': 'RSA_4096*' } }, { 'kms:datakeypairspec': 'RSA_4096' }, true),
  c('StringLike: the prefix must match', { StringLike: { 'kms:DataKeyPairSpec': 'RSA*' } }, { 'kms:datakeypairspec': 'ECC_NIST_P256' }, false),
  c('StringLike: ? matches exactly one character', { StringLike: { 'kms:DataKeyPairSpec': 'RSA_?048' } }, { 'kms:datakeypairspec': 'RSA_2048' }, true),
  c('StringLike: ? does not match two characters', { StringLike: { 'kms:DataKeyPairSpec': 'RSA_?48' } }, { 'kms:datakeypairspec': 'RSA_2048' }, false),
  c('StringLike is case-sensitive', { StringLike: { 'kms:DataKeyPairSpec': 'rsa*' } }, { 'kms:datakeypairspec': 'RSA_2048' }, false),
  c('StringLike: regex characters are literal', { StringLike: { 'kms:EncryptionContext:Path': 'a.b(c)+' } }, { 'kms:encryptioncontext:path': 'axb(c)+' }, false),
  c('StringLike: regex characters match themselves', { StringLike: { 'kms:EncryptionContext:Path': 'a.b(c)+[x]' } }, { 'kms:encryptioncontext:path': 'a.b(c)+[x]' }, true),
  c('StringLike: * crosses slashes and colons', { StringLike: { 'kms:EncryptionContext:Path': 'home/*' } }, { 'kms:encryptioncontext:path': 'home/a:b/c' }, true),
  c('StringLike is false when absent', { StringLike: { 'kms:DataKeyPairSpec': '*' } }, {}, false),
  c('StringLikeIfExists passes when absent', { StringLikeIfExists: { 'kms:DataKeyPairSpec': 'RSA*' } }, {}, true),
  c('StringLikeIfExists checks a present key', { StringLikeIfExists: { 'kms:DataKeyPairSpec': 'RSA*' } }, { 'kms:datakeypairspec': 'ECC_NIST_P256' }, false),
  c('StringNotLike holds outside the pattern', { StringNotLike: { 'kms:DataKeyPairSpec': 'RSA*' } }, { 'kms:datakeypairspec': 'ECC_NIST_P256' }, true),
  c('StringNotLike fails inside the pattern', { StringNotLike: { 'kms:DataKeyPairSpec': 'RSA*' } }, { 'kms:datakeypairspec': 'RSA_2048' }, false),
  c('StringNotLike fails when any pattern matches', { StringNotLike: { 'kms:DataKeyPairSpec': ['ECC*', 'RSA*'] } }, { 'kms:datakeypairspec': 'RSA_2048' }, false),
  c('StringNotLike holds when absent', { StringNotLike: { 'kms:DataKeyPairSpec': 'RSA*' } }, {}, true),
  c('StringNotLikeIfExists holds when absent', { StringNotLikeIfExists: { 'kms:DataKeyPairSpec': 'RSA*' } }, {}, true),
  c('an empty string in the context is a value for StringEquals ""', { StringEquals: { 'kms:EncryptionContext:Empty': '' } }, { 'kms:encryptioncontext:empty': '' }, true),
];

const NUMERIC_CASES: ConditionCase[] = [
  c('NumericEquals matches', { NumericEquals: { 'kms:RotationPeriodInDays': '90' } }, { 'kms:rotationperiodindays': 90 }, true),
  c('NumericEquals compares numbers, not text', { NumericEquals: { 'kms:RotationPeriodInDays': '90.0' } }, { 'kms:rotationperiodindays': '90' }, true),
  c('NumericEquals fails on another number', { NumericEquals: { 'kms:RotationPeriodInDays': 90 } }, { 'kms:rotationperiodindays': 91 }, false),
  c('NumericEquals is false when absent', { NumericEquals: { 'kms:RotationPeriodInDays': 90 } }, {}, false),
  c('NumericEquals is false for a non-number in the context', { NumericEquals: { 'kms:RotationPeriodInDays': 90 } }, { 'kms:rotationperiodindays': 'ninety' }, false),
  c('NumericEqualsIfExists passes when absent', { NumericEqualsIfExists: { 'kms:RotationPeriodInDays': 90 } }, {}, true),
  c('NumericNotEquals holds for another number', { NumericNotEquals: { 'kms:RotationPeriodInDays': 90 } }, { 'kms:rotationperiodindays': 180 }, true),
  c('NumericNotEquals fails for the number', { NumericNotEquals: { 'kms:RotationPeriodInDays': 90 } }, { 'kms:rotationperiodindays': 90 }, false),
  c('NumericNotEquals holds when absent', { NumericNotEquals: { 'kms:RotationPeriodInDays': 90 } }, {}, true),
  c('NumericNotEqualsIfExists holds when absent', { NumericNotEqualsIfExists: { 'kms:RotationPeriodInDays': 90 } }, {}, true),
  c('NumericLessThan below', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, { 'kms:schedulekeydeletionpendingwindowindays': 7 }, true),
  c('NumericLessThan at the bound', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, { 'kms:schedulekeydeletionpendingwindowindays': 30 }, false),
  c('NumericLessThan is false when absent', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, {}, false),
  c('NumericLessThanIfExists passes when absent', { NumericLessThanIfExists: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, {}, true),
  c('NumericLessThanEquals at the bound', { NumericLessThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, { 'kms:schedulekeydeletionpendingwindowindays': 30 }, true),
  c('NumericLessThanEquals above', { NumericLessThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, { 'kms:schedulekeydeletionpendingwindowindays': 31 }, false),
  c('NumericLessThanEqualsIfExists passes when absent', { NumericLessThanEqualsIfExists: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 } }, {}, true),
  c('NumericGreaterThan above', { NumericGreaterThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, { 'kms:schedulekeydeletionpendingwindowindays': 21 }, true),
  c('NumericGreaterThan at the bound', { NumericGreaterThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, { 'kms:schedulekeydeletionpendingwindowindays': 20 }, false),
  c('NumericGreaterThan is false when absent', { NumericGreaterThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, {}, false),
  c('NumericGreaterThanIfExists passes when absent', { NumericGreaterThanIfExists: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, {}, true),
  c('NumericGreaterThanEquals at the bound', { NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, { 'kms:schedulekeydeletionpendingwindowindays': 20 }, true),
  c('NumericGreaterThanEquals below', { NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, { 'kms:schedulekeydeletionpendingwindowindays': 19 }, false),
  c('NumericGreaterThanEqualsIfExists passes when absent', { NumericGreaterThanEqualsIfExists: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 20 } }, {}, true),
  c('Numeric operators take decimals', { NumericLessThan: { 'kms:RotationPeriodInDays': '90.5' } }, { 'kms:rotationperiodindays': 90.25 }, true),
  c('Numeric operators OR their values', { NumericEquals: { 'kms:RotationPeriodInDays': [90, 180] } }, { 'kms:rotationperiodindays': 180 }, true),
];

const DATE_CASES: ConditionCase[] = [
  c('DateEquals matches the same instant', { DateEquals: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': T0 }, true),
  c('DateEquals matches across notations', { DateEquals: { 'aws:CurrentTime': '2026-01-01T01:00:00+01:00' } }, { 'aws:currenttime': T0 }, true),
  c('DateEquals reads a date alone as midnight UTC', { DateEquals: { 'aws:CurrentTime': '2026-01-01' } }, { 'aws:currenttime': T0 }, true),
  c('DateEquals fails on another instant', { DateEquals: { 'aws:CurrentTime': '2026-01-01T00:00:01Z' } }, { 'aws:currenttime': T0 }, false),
  c('DateEquals is false when absent', { DateEquals: { 'aws:CurrentTime': T0 } }, {}, false),
  c('DateEqualsIfExists passes when absent', { DateEqualsIfExists: { 'aws:CurrentTime': T0 } }, {}, true),
  c('DateEquals takes epoch seconds in the policy', { DateEquals: { 'aws:CurrentTime': String(T0_EPOCH) } }, { 'aws:currenttime': T0 }, true),
  c('DateEquals takes epoch seconds in the context', { DateEquals: { 'aws:EpochTime': T0 } }, { 'aws:epochtime': T0_EPOCH }, true),
  c('DateNotEquals holds for another instant', { DateNotEquals: { 'aws:CurrentTime': '2025-01-01T00:00:00Z' } }, { 'aws:currenttime': T0 }, true),
  c('DateNotEquals fails for the instant', { DateNotEquals: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': T0 }, false),
  c('DateNotEquals holds when absent', { DateNotEquals: { 'aws:CurrentTime': T0 } }, {}, true),
  c('DateNotEqualsIfExists holds when absent', { DateNotEqualsIfExists: { 'aws:CurrentTime': T0 } }, {}, true),
  c('DateLessThan before', { DateLessThan: { 'aws:CurrentTime': '2026-06-30T00:00:00Z' } }, { 'aws:currenttime': T0 }, true),
  c('DateLessThan at the instant', { DateLessThan: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': T0 }, false),
  c('DateLessThan is false when absent', { DateLessThan: { 'aws:CurrentTime': T0 } }, {}, false),
  c('DateLessThanIfExists passes when absent', { DateLessThanIfExists: { 'aws:CurrentTime': T0 } }, {}, true),
  c('DateLessThanEquals at the instant', { DateLessThanEquals: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': T0 }, true),
  c('DateLessThanEquals after', { DateLessThanEquals: { 'aws:CurrentTime': '2025-12-31T23:59:59Z' } }, { 'aws:currenttime': T0 }, false),
  c('DateLessThanEqualsIfExists passes when absent', { DateLessThanEqualsIfExists: { 'aws:CurrentTime': T0 } }, {}, true),
  c('DateGreaterThan after', { DateGreaterThan: { 'aws:CurrentTime': '2025-12-31T23:59:59Z' } }, { 'aws:currenttime': T0 }, true),
  c('DateGreaterThan at the instant', { DateGreaterThan: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': T0 }, false),
  c('DateGreaterThan is false when absent', { DateGreaterThan: { 'aws:CurrentTime': T0 } }, {}, false),
  c('DateGreaterThanIfExists passes when absent', { DateGreaterThanIfExists: { 'aws:CurrentTime': T0 } }, {}, true),
  c('DateGreaterThanEquals at the instant', { DateGreaterThanEquals: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': T0 }, true),
  c('DateGreaterThanEquals before', { DateGreaterThanEquals: { 'aws:CurrentTime': '2026-01-01T00:00:01Z' } }, { 'aws:currenttime': T0 }, false),
  c('DateGreaterThanEqualsIfExists passes when absent', { DateGreaterThanEqualsIfExists: { 'aws:CurrentTime': T0 } }, {}, true),
  c('a time without a zone is UTC', { DateEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00' } }, { 'aws:currenttime': T0 }, true),
  c('a context time that is not a date matches nothing', { DateLessThan: { 'aws:CurrentTime': T0 } }, { 'aws:currenttime': 'yesterday' }, false),
];

const OTHER_CASES: ConditionCase[] = [
  c('Bool true matches a true boolean', { Bool: { 'kms:GrantIsForAWSResource': true } }, { 'kms:grantisforawsresource': true }, true),
  c('Bool "true" matches a true boolean', { Bool: { 'kms:GrantIsForAWSResource': 'true' } }, { 'kms:grantisforawsresource': true }, true),
  c('Bool true fails on false', { Bool: { 'kms:GrantIsForAWSResource': 'true' } }, { 'kms:grantisforawsresource': false }, false),
  c('Bool false matches false', { Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:securetransport': false }, true),
  c('Bool reads "true" text in the context', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:securetransport': 'true' }, true),
  c('Bool is false when absent', { Bool: { 'aws:SecureTransport': 'false' } }, {}, false),
  c('BoolIfExists passes when absent', { BoolIfExists: { 'aws:SecureTransport': 'false' } }, {}, true),
  c('BoolIfExists checks a present key', { BoolIfExists: { 'aws:SecureTransport': 'false' } }, { 'aws:securetransport': true }, false),
  c('BinaryEquals matches the bytes', { BinaryEquals: { 'kms:EncryptionContext:Blob': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }, { 'kms:encryptioncontext:blob': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' }, true),
  c('BinaryEquals fails on other bytes', { BinaryEquals: { 'kms:EncryptionContext:Blob': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }, { 'kms:encryptioncontext:blob': 'AAAA' }, false),
  c('BinaryEquals is false when absent', { BinaryEquals: { 'kms:EncryptionContext:Blob': 'AAAA' } }, {}, false),
  c('BinaryEqualsIfExists passes when absent', { BinaryEqualsIfExists: { 'kms:EncryptionContext:Blob': 'AAAA' } }, {}, true),
  c('IpAddress: inside an IPv4 block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:sourceip': '203.0.113.77' }, true),
  c('IpAddress: outside an IPv4 block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:sourceip': '203.0.114.1' }, false),
  c('IpAddress: an address alone is a /32', { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:sourceip': '203.0.113.7' }, true),
  c('IpAddress: an address alone does not cover its neighbour', { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:sourceip': '203.0.113.8' }, false),
  c('IpAddress: inside an IPv6 block (upper case)', { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } }, { 'aws:sourceip': '2001:db8:1234:5678::9' }, true),
  c('IpAddress: outside an IPv6 block', { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } }, { 'aws:sourceip': '2001:db8:1234:5679::9' }, false),
  c('IpAddress: an IPv4 address is not in an IPv6 block', { IpAddress: { 'aws:SourceIp': '2001:DB8::/32' } }, { 'aws:sourceip': '203.0.113.7' }, false),
  c('IpAddress ORs IPv4 and IPv6 blocks', { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678::/64'] } }, { 'aws:sourceip': '2001:db8:1234:5678::1' }, true),
  // Node's BlockList reads an IPv4 address as its IPv4-mapped IPv6 form, inside ::/0 and
  // ::ffff:0:0/96; AWS keeps the families apart: an IPv6 block holds no IPv4 caller.
  c('IpAddress: ::/0 does not cover an IPv4 address', { IpAddress: { 'aws:SourceIp': '::/0' } }, { 'aws:sourceip': '127.0.0.1' }, false),
  c('IpAddress: the IPv4-mapped block does not cover an IPv4 address', { IpAddress: { 'aws:SourceIp': '::ffff:0:0/96' } }, { 'aws:sourceip': '10.1.1.1' }, false),
  c('NotIpAddress: an IPv4 address is outside ::/0', { NotIpAddress: { 'aws:SourceIp': '::/0' } }, { 'aws:sourceip': '127.0.0.1' }, true),
  c('IpAddress: 0.0.0.0/0 does not cover an IPv6 address', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:sourceip': '::1' }, false),
  c('IpAddress: /0 covers every IPv4 address', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:sourceip': '198.51.100.1' }, true),
  c('IpAddress is false when absent', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, {}, false),
  c('IpAddress is false for a context value that is no address', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:sourceip': 'localhost' }, false),
  c('IpAddressIfExists passes when absent', { IpAddressIfExists: { 'aws:SourceIp': '203.0.113.0/24' } }, {}, true),
  c('NotIpAddress holds outside the block', { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:sourceip': '198.51.100.1' }, true),
  c('NotIpAddress fails inside the block', { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:sourceip': '203.0.113.1' }, false),
  c('NotIpAddress holds when absent', { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, {}, true),
  c('NotIpAddressIfExists holds when absent', { NotIpAddressIfExists: { 'aws:SourceIp': '203.0.113.0/24' } }, {}, true),
  c('ArnEquals matches the ARN', { ArnEquals: { 'aws:PrincipalArn': alice.arn } }, { 'aws:principalarn': alice.arn }, true),
  c('ArnEquals is case-sensitive', { ArnEquals: { 'aws:PrincipalArn': alice.arn.toUpperCase().replace('ARN:AWS', 'arn:aws') } }, { 'aws:principalarn': alice.arn }, false),
  c('ArnEquals takes wildcards like ArnLike', { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/*` } }, { 'aws:principalarn': alice.arn }, true),
  c('ArnLike: * stays in its segment', { ArnLike: { 'aws:SourceArn': 'arn:aws:someservice:*:111122223333:finance/*' } },
    { 'aws:sourcearn': 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt' }, false),
  c('StringLike on the same ARN lets * run across colons', { StringLike: { 'aws:SourceArn': 'arn:aws:someservice:*:111122223333:finance/*' } },
    { 'aws:sourcearn': 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt' }, true),
  c('ArnLike: * within the region segment', { ArnLike: { 'aws:SourceArn': 'arn:aws:someservice:*:111122223333:finance/*' } },
    { 'aws:sourcearn': 'arn:aws:someservice:us-east-2:111122223333:finance/document.txt' }, true),
  c('ArnLike: ? is one character within a segment', { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/?ob` } }, { 'aws:principalarn': bob.arn }, true),
  c('ArnLike: a trailing * covers the rest', { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } }, { 'aws:principalarn': alice.arn }, true),
  c('ArnLike is false when absent', { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } }, {}, false),
  c('ArnLike is false for a value that is not a string', { ArnLike: { 'aws:PrincipalArn': '*' } }, { 'aws:principalarn': true }, false),
  c('ArnLikeIfExists passes when absent', { ArnLikeIfExists: { 'aws:PrincipalArn': 'arn:aws:iam::*' } }, {}, true),
  c('ArnEqualsIfExists passes when absent', { ArnEqualsIfExists: { 'aws:PrincipalArn': alice.arn } }, {}, true),
  c('ArnNotEquals holds for another ARN', { ArnNotEquals: { 'aws:PrincipalArn': alice.arn } }, { 'aws:principalarn': bob.arn }, true),
  c('ArnNotEquals fails for the ARN', { ArnNotEquals: { 'aws:PrincipalArn': alice.arn } }, { 'aws:principalarn': alice.arn }, false),
  c('ArnNotEquals holds when absent', { ArnNotEquals: { 'aws:PrincipalArn': alice.arn } }, {}, true),
  c('ArnNotEqualsIfExists holds when absent', { ArnNotEqualsIfExists: { 'aws:PrincipalArn': alice.arn } }, {}, true),
  c('ArnNotEqualsIfExists fails for the ARN', { ArnNotEqualsIfExists: { 'aws:PrincipalArn': alice.arn } }, { 'aws:principalarn': alice.arn }, false),
  c('ArnNotLike fails inside the pattern', { ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` } }, { 'aws:principalarn': appRole.arn }, false),
  c('ArnNotLike holds outside the pattern', { ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` } }, { 'aws:principalarn': alice.arn }, true),
  c('ArnNotLike holds when absent', { ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` } }, {}, true),
  c('ArnNotLikeIfExists holds when absent', { ArnNotLikeIfExists: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` } }, {}, true),
  c('Null true holds when the key is absent', { Null: { 'kms:BypassPolicyLockoutSafetyCheck': true } }, {}, true),
  c('Null true fails when the key is present', { Null: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } }, { 'kms:bypasspolicylockoutsafetycheck': false }, false),
  c('Null false holds when the key is present', { Null: { 'kms:EncryptionContextKeys': false } }, { 'kms:encryptioncontextkeys': ['AppName'] }, true),
  c('Null false fails when the key is absent', { Null: { 'kms:EncryptionContextKeys': 'false' } }, {}, false),
  c('Null: an empty list is absent', { Null: { 'kms:EncryptionContextKeys': 'true' } }, { 'kms:encryptioncontextkeys': [] }, true),
  c('operators are ANDed', { StringEquals: { 'kms:CallerAccount': ACCOUNT }, Bool: { 'aws:SecureTransport': 'true' } },
    { 'kms:calleraccount': ACCOUNT, 'aws:securetransport': false }, false),
  c('operators are ANDed (all hold)', { StringEquals: { 'kms:CallerAccount': ACCOUNT }, Bool: { 'aws:SecureTransport': 'true' } },
    { 'kms:calleraccount': ACCOUNT, 'aws:securetransport': true }, true),
  c('operator names are case-insensitive', { stringequals: { 'kms:CallerAccount': ACCOUNT } }, { 'kms:calleraccount': ACCOUNT }, true),
];

const KEYS_AB = { 'kms:encryptioncontextkeys': ['AppName', 'Project'] };
const SET_CASES: ConditionCase[] = [
  c('ForAnyValue:StringEquals: one key matches', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'AppName' } }, KEYS_AB, true),
  c('ForAnyValue:StringEquals: no key matches', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'Stage' } }, KEYS_AB, false),
  c('ForAnyValue:StringEquals is case-sensitive on the keys', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'appname' } }, KEYS_AB, false),
  c('ForAnyValue:StringEqualsIgnoreCase ignores case of the keys', { 'ForAnyValue:StringEqualsIgnoreCase': { 'kms:EncryptionContextKeys': 'appname' } }, KEYS_AB, true),
  c('ForAnyValue over an absent set is false', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'AppName' } }, {}, false),
  c('ForAnyValue over an empty set is false', { 'ForAnyValue:StringLike': { 'kms:EncryptionContextKeys': '*' } }, { 'kms:encryptioncontextkeys': [] }, false),
  c('ForAnyValue with IfExists over an absent set is true', { 'ForAnyValue:StringEqualsIfExists': { 'kms:EncryptionContextKeys': 'AppName' } }, {}, true),
  c('ForAllValues:StringEquals: every key listed', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['AppName', 'Project', 'Stage'] } }, KEYS_AB, true),
  c('ForAllValues:StringEquals: one key unlisted', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['AppName'] } }, KEYS_AB, false),
  c('ForAllValues over an absent set is true', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'AppName' } }, {}, true),
  c('ForAllValues over an empty set is true', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'AppName' } }, { 'kms:encryptioncontextkeys': [] }, true),
  c('ForAllValues:StringLike with patterns', { 'ForAllValues:StringLike': { 'kms:ResourceAliases': 'alias/finance-*' } },
    { 'kms:resourcealiases': ['alias/finance-key', 'alias/finance-reports'] }, true),
  c('ForAllValues:StringLike: one alias outside', { 'ForAllValues:StringLike': { 'kms:ResourceAliases': 'alias/finance-*' } },
    { 'kms:resourcealiases': ['alias/finance-key', 'alias/hr'] }, false),
  c('ForAnyValue:StringLike on aliases', { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/finance-*' } },
    { 'kms:resourcealiases': ['alias/hr', 'alias/finance-key'] }, true),
  c('ForAnyValue:StringNotEquals: some key outside the list', { 'ForAnyValue:StringNotEquals': { 'kms:EncryptionContextKeys': ['AppName'] } }, KEYS_AB, true),
  c('ForAnyValue:StringNotEquals: every key in the list', { 'ForAnyValue:StringNotEquals': { 'kms:EncryptionContextKeys': ['AppName', 'Project'] } }, KEYS_AB, false),
  c('ForAllValues:StringNotEquals: no key in the list', { 'ForAllValues:StringNotEquals': { 'kms:EncryptionContextKeys': ['Stage'] } }, KEYS_AB, true),
  c('ForAllValues:StringNotEquals: one key in the list', { 'ForAllValues:StringNotEquals': { 'kms:EncryptionContextKeys': ['Project'] } }, KEYS_AB, false),
  c('ForAllValues:StringNotLike over an absent set is true', { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'aws:*' } }, {}, true),
  c('ForAnyValue:StringNotLike over an absent set is false', { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': 'aws:*' } }, {}, false),
  c('ForAllValues on GrantOperations', { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] } },
    { 'kms:grantoperations': ['Decrypt'] }, true),
  c('ForAllValues on GrantOperations rejects a wider grant', { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] } },
    { 'kms:grantoperations': ['Decrypt', 'RetireGrant'] }, false),
  c('ForAnyValue on a single-valued key treats it as a set of one', { 'ForAnyValue:StringEquals': { 'kms:CallerAccount': ACCOUNT } }, { 'kms:calleraccount': ACCOUNT }, true),
  c('set qualifiers are case-insensitive', { 'forallvalues:StringEquals': { 'kms:EncryptionContextKeys': ['AppName', 'Project'] } }, KEYS_AB, true),
  c('a plain StringEquals on a multi-valued key needs one match', { StringEquals: { 'kms:ResourceAliases': 'alias/hr' } },
    { 'kms:resourcealiases': ['alias/finance', 'alias/hr'] }, true),
  c('a plain StringNotEquals on a multi-valued key needs no match', { StringNotEquals: { 'kms:ResourceAliases': 'alias/hr' } },
    { 'kms:resourcealiases': ['alias/finance', 'alias/hr'] }, false),
];

const VARIABLE_CASES: ConditionCase[] = [
  c('${aws:username} is replaced by the caller name', { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:encryptioncontext:user': 'bob', 'aws:username': 'bob' }, true),
  c('${aws:username} for another user does not match', { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:encryptioncontext:user': 'bob', 'aws:username': 'alice' }, false),
  c('variable names are case-insensitive', { StringEquals: { 'kms:EncryptionContext:user': '${AWS:UserName}' } },
    { 'kms:encryptioncontext:user': 'bob', 'aws:username': 'bob' }, true),
  c('a variable inside a StringLike pattern', { StringLike: { 'kms:EncryptionContext:path': 'home/${aws:username}/*' } },
    { 'kms:encryptioncontext:path': 'home/bob/notes', 'aws:username': 'bob' }, true),
  c('a substituted value is literal, never a wildcard', { StringLike: { 'kms:EncryptionContext:path': 'home/${aws:username}' } },
    { 'kms:encryptioncontext:path': 'home/bob', 'aws:username': '*' }, false),
  // IAM User Guide, "Policy variables with no value": the value is null, equal to and like nothing.
  c('a variable with no value is matched by no value', { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:encryptioncontext:user': 'bob' }, false),
  c('a variable with no value leaves the other values of the list', { StringEquals: { 'kms:EncryptionContext:user': ['${aws:username}', 'bob'] } },
    { 'kms:encryptioncontext:user': 'bob' }, true),
  c('a variable with no value makes a negated operator hold', { StringNotEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:encryptioncontext:user': 'bob' }, true),
  c('a variable with no value in a StringNotLike pattern: it holds', { StringNotLike: { 'kms:EncryptionContext:path': 'home/${aws:username}/*' } },
    { 'kms:encryptioncontext:path': 'home/bob/x' }, true),
  c('a negated operator still needs every other value unmatched', { StringNotEquals: { 'kms:EncryptionContext:user': ['${aws:username}', 'bob'] } },
    { 'kms:encryptioncontext:user': 'bob' }, false),
  c('a default value stands in for an absent variable', { StringEquals: { 'kms:EncryptionContext:user': "${aws:username, 'anonymous'}" } },
    { 'kms:encryptioncontext:user': 'anonymous' }, true),
  c('${*} is a literal asterisk', { StringLike: { 'kms:EncryptionContext:label': 'a${*}b' } }, { 'kms:encryptioncontext:label': 'a*b' }, true),
  c('${*} does not match other text', { StringLike: { 'kms:EncryptionContext:label': 'a${*}b' } }, { 'kms:encryptioncontext:label': 'axxb' }, false),
  c('${?} and ${$} are literal', { StringEquals: { 'kms:EncryptionContext:label': '${?}${$}' } }, { 'kms:encryptioncontext:label': '?$' }, true),
  c('in a 2008-10-17 policy variables are literal text', { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:encryptioncontext:user': '${aws:username}', 'aws:username': 'bob' }, true, '2008-10-17'),
  c('without a Version variables are literal text', { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:encryptioncontext:user': 'bob', 'aws:username': 'bob' }, false, null),
  c('a variable in an ARN condition', { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/\${aws:username}` } },
    { 'aws:principalarn': bob.arn, 'aws:username': 'bob' }, true),
  c('a multi-valued key cannot stand in a variable', { StringEquals: { 'kms:EncryptionContext:user': '${kms:ResourceAliases}' } },
    { 'kms:encryptioncontext:user': 'alias/a', 'kms:resourcealiases': ['alias/a'] }, false),
  c('a number from the context substitutes as text', { StringEquals: { 'kms:EncryptionContext:days': '${kms:RotationPeriodInDays}' } },
    { 'kms:encryptioncontext:days': '90', 'kms:rotationperiodindays': 90 }, true),
];

describe('policy conditions', () => {
  for (const [group, cases] of [
    ['String operators', STRING_CASES], ['Numeric operators', NUMERIC_CASES], ['Date operators', DATE_CASES],
    ['Bool, Binary, IP, ARN and Null operators', OTHER_CASES], ['set qualifiers', SET_CASES], ['policy variables', VARIABLE_CASES],
  ] as const) {
    describe(group, () => {
      for (const row of cases) {
        it(row.name, () => assert.equal(holds(row.condition, row.context, row.version === undefined ? '2012-10-17' : row.version), row.expect));
      }
    });
  }

  it('every base operator, with and without IfExists, has a row', () => {
    const all = [...STRING_CASES, ...NUMERIC_CASES, ...DATE_CASES, ...OTHER_CASES].flatMap((r) => Object.keys(r.condition));
    const bases = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike',
      'NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals',
      'DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals',
      'Bool', 'BinaryEquals', 'IpAddress', 'NotIpAddress', 'ArnEquals', 'ArnNotEquals', 'ArnLike', 'ArnNotLike'];
    for (const base of bases) {
      assert.ok(all.includes(base), `no row for ${base}`);
      assert.ok(all.includes(`${base}IfExists`), `no row for ${base}IfExists`);
    }
    assert.ok(all.includes('Null'));
  });

  it('a Deny of a negated operator against a variable with no value applies (IAM: the variable is null)', () => {
    const key = keyPolicy(ENABLE_IAM, { Effect: 'Allow', Principal: { AWS: appRole.arn }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'kms:EncryptionContext:user': '${aws:username}' } } });
    // Before, the statement was taken as invalid and a role (no aws:username) was let through.
    assert.deepEqual(ask({ key, principal: appRole, context: { 'kms:encryptioncontext:user': 'x' } }), { allowed: false, reason: 'explicit-deny' });
    assert.deepEqual(ask({ key, principal: appRole, context: { 'kms:encryptioncontext:user': 'y', 'aws:username': 'y' } }), { allowed: true, reason: 'key-policy' });
    assert.deepEqual(ask({ key, principal: appRole, context: { 'kms:encryptioncontext:user': 'x', 'aws:username': 'y' } }),
      { allowed: false, reason: 'explicit-deny' });
  });
});

// ---------------------------------------------------------------------------------------------
// Actions and resources: wildcards.

interface MatchCase {
  readonly name: string;
  readonly statement: Partial<Statement>;
  readonly action?: string;
  readonly resource?: string;
  readonly context?: RequestContext;
  readonly expect: boolean;
}

const MATCH_CASES: MatchCase[] = [
  { name: 'Action kms:* matches any KMS action', statement: { Action: 'kms:*' }, action: 'kms:ScheduleKeyDeletion', expect: true },
  { name: 'Action * matches everything', statement: { Action: '*' }, action: 'kms:Decrypt', expect: true },
  { name: 'Action is case-insensitive', statement: { Action: 'KMS:decrypt' }, action: 'kms:Decrypt', expect: true },
  { name: 'Action pattern kms:Gen* matches GenerateDataKey', statement: { Action: 'kms:Gen*' }, action: 'kms:GenerateDataKey', expect: true },
  { name: 'Action pattern kms:Gen* does not match Decrypt', statement: { Action: 'kms:Gen*' }, action: 'kms:Decrypt', expect: false },
  { name: 'Action kms:ReEncrypt* matches ReEncryptFrom', statement: { Action: 'kms:ReEncrypt*' }, action: 'kms:ReEncryptFrom', expect: true },
  { name: 'Action ? is one character', statement: { Action: 'kms:?ncrypt' }, action: 'kms:Encrypt', expect: true },
  { name: 'Action ? is not two characters', statement: { Action: 'kms:?crypt' }, action: 'kms:Decrypt', expect: false },
  { name: 'Action list is ORed', statement: { Action: ['kms:Encrypt', 'kms:Decrypt'] }, action: 'kms:Decrypt', expect: true },
  { name: 'Action of another service does not match', statement: { Action: 's3:*' }, action: 'kms:Decrypt', expect: false },
  { name: 'Action must match the whole name', statement: { Action: 'kms:Encrypt' }, action: 'kms:EncryptX', expect: false },
  { name: 'NotAction matches what it does not list', statement: { NotAction: 'kms:ScheduleKeyDeletion' }, action: 'kms:Decrypt', expect: true },
  { name: 'NotAction does not match what it lists', statement: { NotAction: ['kms:Schedule*', 'kms:Decrypt'] }, action: 'kms:decrypt', expect: false },
  { name: 'Resource * matches the key', statement: { Resource: '*' }, expect: true },
  { name: 'Resource: the key ARN exactly', statement: { Resource: KEY_ARN }, expect: true },
  { name: 'Resource: another key', statement: { Resource: OTHER_KEY_ARN }, expect: false },
  { name: 'Resource: every key of the account', statement: { Resource: `arn:aws:kms:*:${ACCOUNT}:key/*` }, expect: true },
  { name: 'Resource: every key of another account', statement: { Resource: `arn:aws:kms:*:${OTHER_ACCOUNT}:key/*` }, expect: false },
  { name: 'Resource is case-sensitive', statement: { Resource: KEY_ARN.toUpperCase().replace('ARN:AWS:KMS', 'arn:aws:kms') }, expect: false },
  { name: 'Resource: * inside a segment stays there', statement: { Resource: `arn:aws:kms:us-*-2:${ACCOUNT}:key/*` }, expect: true },
  { name: 'Resource: * inside a segment cannot cross a colon', statement: { Resource: 'arn:aws:kms:us-*2:key/*' }, expect: false },
  { name: 'Resource: * ending a segment may cross colons (AWS expansion rule)', statement: { Resource: 'arn:aws:kms:us-*:key/*' }, expect: true },
  { name: 'Resource: * ending a segment expands past the colon', statement: { Resource: 'arn:aws:kms:*:key/*' }, expect: true },
  { name: 'Resource: ? is one character', statement: { Resource: KEY_ARN.replace('us-west-2', 'us-west-?') }, expect: true },
  { name: 'Resource: list is ORed', statement: { Resource: [OTHER_KEY_ARN, KEY_ARN] }, expect: true },
  { name: 'Resource: ${aws:username} in the resource part', statement: { Resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/\${aws:username}` },
    resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/alice`, context: { 'aws:username': 'alice' }, expect: true },
  { name: 'Resource: a variable with no value matches nothing', statement: { Resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/\${aws:username}` },
    resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/alice`, expect: false },
  { name: 'Resource: a variable before the fifth colon is literal text', statement: { Resource: 'arn:aws:kms:${aws:region}:111122223333:key/*' },
    context: { 'aws:region': 'us-west-2' }, expect: false },
  { name: 'Resource: a variable before the fifth colon matches itself', statement: { Resource: 'arn:aws:kms:${aws:region}:111122223333:key/*' },
    resource: 'arn:aws:kms:${aws:region}:111122223333:key/x', expect: true },
  { name: 'NotResource matches another key', statement: { NotResource: OTHER_KEY_ARN }, expect: true },
  { name: 'NotResource does not match a listed key', statement: { NotResource: `arn:aws:kms:*:${ACCOUNT}:key/*` }, expect: false },
  { name: 'NotResource with a variable with no value matches nothing', statement: { NotResource: `arn:aws:kms:us-west-2:${ACCOUNT}:key/\${aws:username}` }, expect: false },
];

describe('policy actions and resources', () => {
  for (const row of MATCH_CASES) {
    it(row.name, () => {
      const statement: Statement = { Effect: 'Allow', Principal: '*', ...row.statement };
      if (!('Action' in statement) && !('NotAction' in statement)) statement.Action = 'kms:*';
      if (!('Resource' in statement) && !('NotResource' in statement)) statement.Resource = '*';
      const decision = ask({ key: keyPolicy(statement), action: row.action, resource: row.resource, context: row.context });
      assert.equal(decision.allowed, row.expect);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Principals.

interface PrincipalCase {
  readonly name: string;
  readonly element: Statement;
  readonly effect: 'Allow' | 'Deny';
  readonly caller: typeof alice;
  /** Whether the statement reaches the caller. */
  readonly expect: boolean;
}

const p = (name: string, effect: 'Allow' | 'Deny', element: Statement, caller: typeof alice, expect: boolean): PrincipalCase =>
  ({ name, effect, element, caller, expect });

const PRINCIPAL_CASES: PrincipalCase[] = [
  p('"*" allows everyone', 'Allow', { Principal: '*' }, carol, true),
  p('{"AWS": "*"} allows everyone', 'Allow', { Principal: { AWS: '*' } }, bob, true),
  p('a user ARN allows that user', 'Allow', { Principal: { AWS: alice.arn } }, alice, true),
  p('a user ARN does not allow another user', 'Allow', { Principal: { AWS: alice.arn } }, bob, false),
  p('a role ARN allows that role', 'Allow', { Principal: { AWS: appRole.arn } }, appRole, true),
  p('a list of ARNs allows each', 'Allow', { Principal: { AWS: [alice.arn, bob.arn] } }, bob, true),
  p('principal ARNs are case-sensitive', 'Allow', { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/Alice` } }, alice, false),
  p('the root ARN allows the account root', 'Allow', { Principal: { AWS: ROOT_ARN } }, root, true),
  p('a bare account id allows the account root', 'Allow', { Principal: { AWS: ACCOUNT } }, root, true),
  p('the root ARN does not by itself allow a user of the account', 'Allow', { Principal: { AWS: ROOT_ARN } }, alice, false),
  p('another account does not allow this account root', 'Allow', { Principal: { AWS: OTHER_ROOT_ARN } }, root, false),
  p('a Service principal never matches a caller', 'Allow', { Principal: { Service: 'logs.us-west-2.amazonaws.com' } }, alice, false),
  p('a Deny naming the account reaches its users', 'Deny', { Principal: { AWS: ROOT_ARN } }, alice, true),
  p('a Deny naming the account id reaches its roles', 'Deny', { Principal: { AWS: ACCOUNT } }, appRole, true),
  p('a Deny naming the account does not reach another account', 'Deny', { Principal: { AWS: ROOT_ARN } }, carol, false),
  p('a Deny naming a user reaches that user', 'Deny', { Principal: { AWS: alice.arn } }, alice, true),
  p('a Deny naming a user does not reach another user', 'Deny', { Principal: { AWS: alice.arn } }, bob, false),
  p('a Deny naming "*" reaches everyone', 'Deny', { Principal: '*' }, otherRoot, true),
  p('NotPrincipal Deny listing the user and its account spares the user', 'Deny', { NotPrincipal: { AWS: [alice.arn, ROOT_ARN] } }, alice, false),
  p('NotPrincipal Deny listing only the user still reaches it through its account', 'Deny', { NotPrincipal: { AWS: alice.arn } }, alice, true),
  p('NotPrincipal Deny reaches another user of a listed account', 'Deny', { NotPrincipal: { AWS: [alice.arn, ROOT_ARN] } }, bob, true),
  p('NotPrincipal Deny listing the account spares the account root', 'Deny', { NotPrincipal: { AWS: ROOT_ARN } }, root, false),
  p('NotPrincipal Deny reaches an unlisted account', 'Deny', { NotPrincipal: { AWS: [alice.arn, ROOT_ARN] } }, carol, true),
  p('NotPrincipal Allow reaches an unlisted caller', 'Allow', { NotPrincipal: { AWS: alice.arn } }, carol, true),
  p('NotPrincipal Allow does not reach a listed caller', 'Allow', { NotPrincipal: { AWS: alice.arn } }, alice, false),
  p('NotPrincipal Allow listing an account excludes its users', 'Allow', { NotPrincipal: { AWS: OTHER_ACCOUNT } }, carol, false),
  p('NotPrincipal {"AWS": "*"} in an Allow reaches nobody', 'Allow', { NotPrincipal: { AWS: '*' } }, alice, false),
];

describe('policy principals', () => {
  for (const row of PRINCIPAL_CASES) {
    it(row.name, () => {
      const statement = { Effect: row.effect, Action: 'kms:Decrypt', Resource: '*', ...row.element };
      // An Allow reaching the caller is visible as key-policy; a Deny as explicit-deny over an Allow for all.
      const key = row.effect === 'Allow' ? keyPolicy(statement) : keyPolicy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }, statement);
      const decision = ask({ key, principal: row.caller });
      const reached = row.effect === 'Allow' ? decision.reason === 'key-policy' : decision.reason === 'explicit-deny';
      assert.equal(reached, row.expect);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The decision: explicit deny, key policy, delegation to identity policies, grants, default deny.

interface DecisionCase {
  readonly name: string;
  readonly ask: Parameters<typeof ask>[0];
  readonly expect: (typeof DECISION_REASONS)[number];
}

const ALLOW_ALICE: Statement = { Effect: 'Allow', Principal: { AWS: alice.arn }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' };
const IAM_ALLOW_DECRYPT = (): ReturnType<typeof identityPolicy> => identityPolicy({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:*:${ACCOUNT}:key/*` });
const IAM_DENY_DECRYPT = (): ReturnType<typeof identityPolicy> => identityPolicy({ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' });
const KEY_DENY_ALICE: Statement = { Effect: 'Deny', Principal: { AWS: alice.arn }, Action: 'kms:Decrypt', Resource: '*' };

const DECISION_CASES: DecisionCase[] = [
  { name: 'no statement for the caller: implicit deny', ask: { key: keyPolicy(ALLOW_ALICE), principal: bob }, expect: 'implicit-deny' },
  { name: 'a key-policy Allow for the caller', ask: { key: keyPolicy(ALLOW_ALICE) }, expect: 'key-policy' },
  { name: 'a key-policy Allow for another action does not allow', ask: { key: keyPolicy(ALLOW_ALICE), action: 'kms:ScheduleKeyDeletion' }, expect: 'implicit-deny' },
  { name: 'a key-policy Deny beats a key-policy Allow', ask: { key: keyPolicy(ALLOW_ALICE, KEY_DENY_ALICE) }, expect: 'explicit-deny' },
  { name: 'a key-policy Deny beats a grant', ask: { key: keyPolicy(ALLOW_ALICE, KEY_DENY_ALICE), grant: true }, expect: 'explicit-deny' },
  { name: 'an identity-policy Deny beats a key-policy Allow', ask: { key: keyPolicy(ENABLE_IAM, ALLOW_ALICE), identity: [IAM_DENY_DECRYPT()] }, expect: 'explicit-deny' },
  { name: 'an identity-policy Deny applies without delegation', ask: { key: keyPolicy(ALLOW_ALICE), identity: [IAM_DENY_DECRYPT()] }, expect: 'explicit-deny' },
  { name: 'an identity-policy Deny beats a grant', ask: { key: keyPolicy(ENABLE_IAM), identity: [IAM_DENY_DECRYPT()], grant: true }, expect: 'explicit-deny' },
  { name: 'a Deny naming the account beats a key-policy Allow for its user',
    ask: { key: keyPolicy(ALLOW_ALICE, { Effect: 'Deny', Principal: { AWS: ACCOUNT }, Action: 'kms:Decrypt', Resource: '*' }) }, expect: 'explicit-deny' },
  { name: 'a Deny for another action does not deny', ask: { key: keyPolicy(ALLOW_ALICE, { ...KEY_DENY_ALICE, Action: 'kms:Encrypt' }) }, expect: 'key-policy' },
  { name: 'a conditional Deny whose condition fails does not deny',
    ask: { key: keyPolicy(ALLOW_ALICE, { ...KEY_DENY_ALICE, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }), context: { 'aws:securetransport': true } }, expect: 'key-policy' },
  { name: 'an identity-policy Allow with delegation', ask: { key: keyPolicy(ENABLE_IAM), identity: [IAM_ALLOW_DECRYPT()] }, expect: 'identity-policy' },
  { name: 'an identity-policy Allow without delegation does nothing', ask: { key: keyPolicy(ALLOW_ALICE), identity: [IAM_ALLOW_DECRYPT()], principal: bob }, expect: 'implicit-deny' },
  { name: 'delegation covers only the actions the key policy gives the account',
    ask: { key: keyPolicy({ ...ENABLE_IAM, Action: 'kms:Encrypt' }), identity: [IAM_ALLOW_DECRYPT()] }, expect: 'implicit-deny' },
  { name: 'delegation with a condition that fails does not delegate',
    ask: { key: keyPolicy({ ...ENABLE_IAM, Condition: { StringEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } } }), identity: [IAM_ALLOW_DECRYPT()] }, expect: 'implicit-deny' },
  { name: 'delegation with a condition that holds delegates',
    ask: { key: keyPolicy({ ...ENABLE_IAM, Condition: { StringEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } } }), identity: [IAM_ALLOW_DECRYPT()],
      context: { 'kms:viaservice': 'ec2.us-west-2.amazonaws.com' } }, expect: 'identity-policy' },
  { name: 'an identity policy for another key does not allow',
    ask: { key: keyPolicy(ENABLE_IAM), identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: OTHER_KEY_ARN })] }, expect: 'implicit-deny' },
  { name: 'an identity policy with NotResource other key allows this one',
    ask: { key: keyPolicy(ENABLE_IAM), identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:Decrypt', NotResource: OTHER_KEY_ARN })] }, expect: 'identity-policy' },
  { name: 'an identity policy with NotAction allows other actions',
    ask: { key: keyPolicy(ENABLE_IAM), identity: [identityPolicy({ Effect: 'Allow', NotAction: 'kms:ScheduleKeyDeletion', Resource: '*' })] }, expect: 'identity-policy' },
  { name: 'several identity policies: any Allow counts',
    ask: { key: keyPolicy(ENABLE_IAM), identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }), IAM_ALLOW_DECRYPT()] }, expect: 'identity-policy' },
  { name: 'the key policy is reported before an identity policy', ask: { key: keyPolicy(ENABLE_IAM, ALLOW_ALICE), identity: [IAM_ALLOW_DECRYPT()] }, expect: 'key-policy' },
  { name: 'the account root is allowed by the default statement', ask: { key: keyPolicy(ENABLE_IAM), principal: root }, expect: 'key-policy' },
  { name: 'a user of the account without identity policies is not allowed by the default statement', ask: { key: keyPolicy(ENABLE_IAM), principal: bob }, expect: 'implicit-deny' },
  { name: 'a grant allows when no policy does', ask: { key: keyPolicy(ALLOW_ALICE), principal: bob, grant: true }, expect: 'grant' },
  { name: 'a grant allows without delegation', ask: { key: keyPolicy({ ...ALLOW_ALICE, Action: 'kms:Encrypt' }), grant: true }, expect: 'grant' },
  { name: 'the key policy is reported before a grant', ask: { key: keyPolicy(ALLOW_ALICE), grant: true }, expect: 'key-policy' },
  { name: 'another account user is not allowed by a key policy naming only this account',
    ask: { key: keyPolicy(ENABLE_IAM), principal: carol, identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' })] }, expect: 'implicit-deny' },
  { name: 'a key policy naming another account delegates to that account IAM policies',
    ask: { key: keyPolicy(ENABLE_IAM, { Effect: 'Allow', Principal: { AWS: OTHER_ROOT_ARN }, Action: ['kms:Decrypt'], Resource: '*' }),
      principal: carol, identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN })] }, expect: 'identity-policy' },
  { name: 'another account root named in the key policy is allowed',
    ask: { key: keyPolicy({ Effect: 'Allow', Principal: { AWS: OTHER_ACCOUNT }, Action: 'kms:Decrypt', Resource: '*' }), principal: otherRoot }, expect: 'key-policy' },
  { name: 'Principal "*" allows a caller of another account directly', ask: { key: keyPolicy({ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*' }), principal: carol }, expect: 'key-policy' },
  { name: 'a key-policy NotAction Allow', ask: { key: keyPolicy({ Effect: 'Allow', Principal: { AWS: alice.arn }, NotAction: 'kms:Schedule*', Resource: '*' }) }, expect: 'key-policy' },
  { name: 'a key-policy NotAction Deny spares the listed action',
    ask: { key: keyPolicy(ALLOW_ALICE, { Effect: 'Deny', Principal: '*', NotAction: 'kms:Decrypt', Resource: '*' }) }, expect: 'key-policy' },
  { name: 'a key-policy NotAction Deny denies other actions',
    ask: { key: keyPolicy(ALLOW_ALICE, { Effect: 'Deny', Principal: '*', NotAction: 'kms:Decrypt', Resource: '*' }), action: 'kms:Encrypt' }, expect: 'explicit-deny' },
  { name: 'a key-policy NotResource Deny naming this key does not deny',
    ask: { key: keyPolicy(ALLOW_ALICE, { Effect: 'Deny', Principal: '*', Action: '*', NotResource: KEY_ARN }) }, expect: 'key-policy' },
  { name: 'an empty request action matches no pattern', ask: { key: keyPolicy(ALLOW_ALICE), action: '' }, expect: 'implicit-deny' },
];

describe('policy decisions', () => {
  for (const row of DECISION_CASES) {
    it(row.name, () => {
      const decision = ask(row.ask);
      assert.equal(decision.reason, row.expect);
      assert.equal(decision.allowed, row.expect === 'key-policy' || row.expect === 'identity-policy' || row.expect === 'grant');
    });
  }

  it('rejects policies compiled for the wrong role (programmer misuse)', () => {
    assert.throws(() => ask({ key: identityPolicy({ Effect: 'Allow', Action: '*', Resource: '*' }) }), TypeError);
    assert.throws(() => ask({ key: keyPolicy(ENABLE_IAM), identity: [keyPolicy(ENABLE_IAM)] }), TypeError);
  });
});

// ---------------------------------------------------------------------------------------------
// AWS KMS Developer Guide examples ("AWS KMS condition keys", "Default key policy").

const EXAMPLE_ROLE = { AWS: appRole.arn };
const DEV_GUIDE_CASES: DecisionCase[] = [
  { name: 'kms:EncryptionContext: requires AppName=ExampleApp (allowed)',
    ask: { key: keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } } }),
      principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ AppName: 'ExampleApp', Other: 'x' }) }, expect: 'key-policy' },
  { name: 'kms:EncryptionContext: requires AppName=ExampleApp (other value)',
    ask: { key: keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } } }),
      principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ AppName: 'Other' }) }, expect: 'implicit-deny' },
  { name: 'kms:EncryptionContext: the context key is not case-sensitive (policy Appname, request AppName)',
    ask: { key: keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Appname': 'ExampleApp' } } }),
      principal: appRole, context: encryptionContextEntries({ AppName: 'ExampleApp' }) }, expect: 'key-policy' },
  { name: 'kms:EncryptionContext: the value stays case-sensitive under StringEquals',
    ask: { key: keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Appname': 'ExampleApp' } } }),
      principal: appRole, context: encryptionContextEntries({ AppName: 'exampleapp' }) }, expect: 'implicit-deny' },
  ...((): DecisionCase[] => {
    const only = keyPolicy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:GenerateDataKey', Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' }, 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['AppName'] } } });
    return [
      { name: 'AppName required and the only key allowed: exactly that pair', ask: { key: only, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ AppName: 'ExampleApp' }) }, expect: 'key-policy' },
      { name: 'AppName required and the only key allowed: an extra pair', ask: { key: only, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ AppName: 'ExampleApp', Stage: 'x' }) }, expect: 'implicit-deny' },
      { name: 'AppName required and the only key allowed: no context', ask: { key: only, action: 'kms:GenerateDataKey', context: encryptionContextEntries({}) }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM, { Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:GenerateDataKey', Resource: '*' },
      { Effect: 'Deny', Principal: EXAMPLE_ROLE, Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Stage': ['Restricted', 'Production'] } } });
    return [
      { name: 'Deny Stage=Restricted or Production: Restricted is denied', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Stage: 'Restricted' }) }, expect: 'explicit-deny' },
      { name: 'Deny Stage=Restricted or Production: Production is denied', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Stage: 'Production' }) }, expect: 'explicit-deny' },
      { name: 'Deny Stage=Restricted or Production: Stage=Test is allowed', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Stage: 'Test' }) }, expect: 'key-policy' },
      { name: 'Deny Stage=Restricted or Production: a key differing in case is still denied', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ stage: 'Restricted' }) }, expect: 'explicit-deny' },
      { name: 'Deny Stage=Restricted: two pairs differing in case, one Restricted, are denied', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Stage: 'Test', STAGE: 'Restricted' }) }, expect: 'explicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(
      { Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Department': 'IT' } } },
      { Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: 'kms:GenerateDataKey', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Project': 'Alpha' } } });
    return [
      { name: 'Department=IT or Project=Alpha in two statements: Project=Alpha', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Project: 'Alpha' }) }, expect: 'key-policy' },
      { name: 'Department=IT or Project=Alpha in two statements: neither', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Project: 'Beta' }) }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: ['kms:Encrypt', 'kms:GenerateDataKey*'], Resource: '*',
      Condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'AppName' } } });
    return [
      { name: 'ForAnyValue AppName key: AppName=Helper and Project=Alpha are allowed',
        ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ AppName: 'Helper', Project: 'Alpha' }) }, expect: 'key-policy' },
      { name: 'ForAnyValue AppName key: only Project=Alpha fails', ask: { key, principal: appRole, action: 'kms:GenerateDataKey', context: encryptionContextEntries({ Project: 'Alpha' }) }, expect: 'implicit-deny' },
      { name: 'ForAnyValue AppName key: no encryption context fails', ask: { key, principal: appRole, action: 'kms:GenerateDataKeyWithoutPlaintext' }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: ['kms:Encrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: { Null: { 'kms:EncryptionContextKeys': false } } });
    return [
      { name: 'Null EncryptionContextKeys false: any encryption context is allowed', ask: { key, principal: appRole, action: 'kms:Encrypt', context: encryptionContextEntries({ x: 'y' }) }, expect: 'key-policy' },
      { name: 'Null EncryptionContextKeys false: no encryption context fails', ask: { key, principal: appRole, action: 'kms:Encrypt', context: encryptionContextEntries({}) }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM, {
      Sid: 'Allow access through EBS for all principals in the account that are authorized to use EBS', Effect: 'Allow', Principal: { AWS: '*' },
      Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'], Resource: '*' });
    return [
      { name: 'kms:CallerAccount + kms:ViaService: a user of the account through EC2',
        ask: { key, principal: bob, action: 'kms:ReEncryptFrom', context: { 'kms:calleraccount': ACCOUNT, 'kms:viaservice': 'ec2.us-west-2.amazonaws.com' } }, expect: 'key-policy' },
      { name: 'kms:CallerAccount + kms:ViaService: not through EC2',
        ask: { key, principal: bob, context: { 'kms:calleraccount': ACCOUNT } }, expect: 'implicit-deny' },
      { name: 'kms:CallerAccount + kms:ViaService: another account through EC2',
        ask: { key, principal: carol, context: { 'kms:calleraccount': OTHER_ACCOUNT, 'kms:viaservice': 'ec2.us-west-2.amazonaws.com' } }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: EXAMPLE_ROLE, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*'], Resource: '*' },
      { Sid: 'Allow only one encryption algorithm with this asymmetric KMS key', Effect: 'Deny', Principal: EXAMPLE_ROLE,
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*'], Resource: '*', Condition: { StringNotEquals: { 'kms:EncryptionAlgorithm': 'RSAES_OAEP_SHA_256' } } });
    return [
      { name: 'kms:EncryptionAlgorithm Deny StringNotEquals: the allowed algorithm', ask: { key, principal: appRole, action: 'kms:Encrypt', context: { 'kms:encryptionalgorithm': 'RSAES_OAEP_SHA_256' } }, expect: 'key-policy' },
      { name: 'kms:EncryptionAlgorithm Deny StringNotEquals: another algorithm', ask: { key, principal: appRole, action: 'kms:Encrypt', context: { 'kms:encryptionalgorithm': 'RSAES_OAEP_SHA_1' } }, expect: 'explicit-deny' },
      { name: 'kms:EncryptionAlgorithm Deny StringNotEquals: no algorithm in the context is denied', ask: { key, principal: appRole, action: 'kms:Encrypt' }, expect: 'explicit-deny' },
      { name: 'kms:EncryptionAlgorithm Deny StringNotEquals beats a grant', ask: { key, principal: appRole, action: 'kms:Decrypt', grant: true, context: { 'kms:encryptionalgorithm': 'SYMMETRIC_DEFAULT' } }, expect: 'explicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: ['kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext'], Resource: '*',
      Condition: { StringLike: { 'kms:DataKeyPairSpec': 'RSA*' } } });
    return [
      { name: 'kms:DataKeyPairSpec RSA*: RSA_3072', ask: { key, action: 'kms:GenerateDataKeyPair', context: { 'kms:datakeypairspec': 'RSA_3072' } }, expect: 'key-policy' },
      { name: 'kms:DataKeyPairSpec RSA*: ECC_NIST_P384', ask: { key, action: 'kms:GenerateDataKeyPair', context: { 'kms:datakeypairspec': 'ECC_NIST_P384' } }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM);
    const deny = identityPolicy({ Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: ['kms:CreateKey', 'kms:PutKeyPolicy'], Resource: '*', Condition: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': true } } });
    return [
      { name: 'kms:BypassPolicyLockoutSafetyCheck Deny: bypass true is denied', ask: { key, identity: [deny], action: 'kms:PutKeyPolicy', context: { 'kms:bypasspolicylockoutsafetycheck': true } }, expect: 'explicit-deny' },
      { name: 'kms:BypassPolicyLockoutSafetyCheck Deny: bypass false is allowed', ask: { key, identity: [deny], action: 'kms:PutKeyPolicy', context: { 'kms:bypasspolicylockoutsafetycheck': false } }, expect: 'identity-policy' },
      { name: 'kms:BypassPolicyLockoutSafetyCheck Deny: no parameter is allowed', ask: { key, identity: [deny], action: 'kms:PutKeyPolicy' }, expect: 'identity-policy' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:PutKeyPolicy', Resource: '*', Condition: { Null: { 'kms:BypassPolicyLockoutSafetyCheck': true } } });
    return [
      { name: 'kms:BypassPolicyLockoutSafetyCheck Null true: no parameter is allowed', ask: { key, action: 'kms:PutKeyPolicy' }, expect: 'key-policy' },
      { name: 'kms:BypassPolicyLockoutSafetyCheck Null true: the parameter given fails', ask: { key, action: 'kms:PutKeyPolicy', context: { 'kms:bypasspolicylockoutsafetycheck': false } }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Sid: 'Allow attachment of persistent resources', Effect: 'Allow', Principal: EXAMPLE_ROLE,
      Action: ['kms:ListGrants', 'kms:CreateGrant', 'kms:RevokeGrant'], Resource: '*', Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } });
    return [
      { name: 'kms:GrantIsForAWSResource true: a grant for an AWS service', ask: { key, principal: appRole, action: 'kms:CreateGrant', context: { 'kms:grantisforawsresource': true } }, expect: 'key-policy' },
      { name: 'kms:GrantIsForAWSResource true: a grant made directly', ask: { key, principal: appRole, action: 'kms:CreateGrant', context: { 'kms:grantisforawsresource': false } }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM);
    const iam = identityPolicy({ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
      Condition: { StringEquals: { 'kms:RequestAlias': 'alias/finance-key' } } });
    return [
      { name: 'kms:RequestAlias: the key named by that alias', ask: { key, identity: [iam], context: { 'kms:requestalias': 'alias/finance-key' } }, expect: 'identity-policy' },
      { name: 'kms:RequestAlias: the key named by its ARN', ask: { key, identity: [iam] }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM);
    const iam = identityPolicy({ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
      Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/finance-key'] } } });
    return [
      { name: 'kms:ResourceAliases: a key with that alias among others', ask: { key, identity: [iam], context: { 'kms:resourcealiases': ['alias/x', 'alias/finance-key'] } }, expect: 'identity-policy' },
      { name: 'kms:ResourceAliases: a key without aliases', ask: { key, identity: [iam] }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM, { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24'] } } });
    return [
      { name: 'aws:SourceIp Deny outside the office: inside', ask: { key, principal: root, context: { 'aws:sourceip': '192.0.2.10' } }, expect: 'key-policy' },
      { name: 'aws:SourceIp Deny outside the office: outside', ask: { key, principal: root, context: { 'aws:sourceip': '198.51.100.10' } }, expect: 'explicit-deny' },
      { name: 'aws:SourceIp Deny outside the office: no address is denied', ask: { key, principal: root }, expect: 'explicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2026-06-30T00:00:00Z' } } });
    return [
      { name: 'aws:CurrentTime DateLessThan: before the date', ask: { key, context: { 'aws:currenttime': '2026-03-01T12:00:00Z' } }, expect: 'key-policy' },
      { name: 'aws:CurrentTime DateLessThan: after the date', ask: { key, context: { 'aws:currenttime': '2026-07-01T00:00:00Z' } }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy({ Effect: 'Allow', Principal: { AWS: appRole.arn }, Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } } });
    return [
      { name: 'kms:EncryptionContext:user = ${aws:username}: bob with user=bob',
        ask: { key, principal: appRole, context: { ...encryptionContextEntries({ user: 'bob' }), 'aws:username': 'bob' } }, expect: 'key-policy' },
      { name: 'kms:EncryptionContext:user = ${aws:username}: alice with user=bob',
        ask: { key, principal: appRole, context: { ...encryptionContextEntries({ user: 'bob' }), 'aws:username': 'alice' } }, expect: 'implicit-deny' },
    ];
  })(),
  ...((): DecisionCase[] => {
    const key = keyPolicy(ENABLE_IAM, { Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': ACCOUNT } } });
    return [
      { name: 'aws:PrincipalAccount: a role of the account', ask: { key, principal: appRole, context: { 'aws:principalaccount': ACCOUNT } }, expect: 'key-policy' },
      { name: 'aws:PrincipalAccount: a user of another account', ask: { key, principal: carol, context: { 'aws:principalaccount': OTHER_ACCOUNT } }, expect: 'implicit-deny' },
    ];
  })(),
];

describe('policy examples from the AWS KMS Developer Guide', () => {
  for (const row of DEV_GUIDE_CASES) {
    it(row.name, () => assert.equal(ask(row.ask).reason, row.expect));
  }
});

// ---------------------------------------------------------------------------------------------
// Malformed documents.

interface MalformedCase {
  readonly name: string;
  readonly text: string;
  readonly kind?: 'key' | 'identity';
  readonly message: RegExp;
}

const S = (overrides: Statement, drop: string[] = []): Statement => {
  const base: Statement = { Sid: 'S1', Effect: 'Allow', Principal: { AWS: ROOT_ARN }, Action: 'kms:*', Resource: '*', ...overrides };
  for (const element of drop) delete base[element];
  return base;
};
const doc = (...statements: Statement[]): string => policyText(statements);

const MALFORMED_CASES: MalformedCase[] = [
  { name: 'not JSON', text: '{"Statement": [', message: /^The policy document is not valid JSON: / },
  { name: 'empty text', text: '', message: /^The policy document is empty\.$/ },
  { name: 'a JSON array', text: '[]', message: /^The policy document must be a JSON object\.$/ },
  { name: 'a JSON string', text: '"policy"', message: /^The policy document must be a JSON object\.$/ },
  { name: 'a character above U+00FF', text: doc(S({ Sid: 'snow \u2603' })), message: /^The policy document contains the character U\+2603;/ },
  { name: 'a control character', text: `{"Statement":\u0001[]}`, message: /U\+0001/ },
  { name: 'an unknown top-level element', text: JSON.stringify({ Version: '2012-10-17', Statment: [] }), message: /^Unknown policy element "Statment"/ },
  { name: 'an unknown Version', text: JSON.stringify({ Version: '2012-10-18', Statement: [S({})] }), message: /^Version "2012-10-18" is not supported/ },
  { name: 'a Version that is not a string', text: JSON.stringify({ Version: 2012, Statement: [S({})] }), message: /^Version 2012 is not supported/ },
  { name: 'an Id that is not a string', text: JSON.stringify({ Id: 1, Statement: [S({})] }), message: /^Id must be a string\.$/ },
  { name: 'no Statement', text: JSON.stringify({ Version: '2012-10-17' }), message: /^The policy document has no Statement\.$/ },
  { name: 'an empty Statement list', text: JSON.stringify({ Version: '2012-10-17', Statement: [] }), message: /^The policy document has an empty Statement list\.$/ },
  { name: 'a statement that is not an object', text: JSON.stringify({ Statement: ['Allow'] }), message: /^Statement\[0\]: a statement must be an object$/ },
  { name: 'an unknown statement element', text: doc(S({ Actions: 'kms:*' })), message: /^Statement\[0\] \(Sid "S1"\): unknown element "Actions"$/ },
  { name: 'a Sid that is not a string', text: doc(S({ Sid: 7 })), message: /^Statement\[0\]: Sid must be a string$/ },
  { name: 'no Effect', text: doc(S({}, ['Effect'])), message: /^Statement\[0\] \(Sid "S1"\): missing Effect$/ },
  { name: 'an Effect in the wrong case', text: doc(S({ Effect: 'allow' })), message: /Effect must be "Allow" or "Deny", not "allow"$/ },
  { name: 'the fault is located in the second statement', text: doc(S({}), S({ Sid: 'Second', Effect: 'Permit' })), message: /^Statement\[1\] \(Sid "Second"\): Effect/ },
  { name: 'a single statement object is located as Statement', text: JSON.stringify({ Statement: S({ Effect: 'Permit' }, ['Sid']) }), message: /^Statement: Effect/ },
  { name: 'a key policy statement without a principal', text: doc(S({}, ['Principal'])), message: /must have a Principal or NotPrincipal$/ },
  { name: 'both Principal and NotPrincipal', text: doc(S({ NotPrincipal: { AWS: ROOT_ARN } })), message: /may have Principal or NotPrincipal, not both$/ },
  { name: 'a principal name that is not an ARN', text: doc(S({ Principal: { AWS: 'alice' } })),
    message: /^Policy contains a statement with one or more invalid principals\. Statement\[0\] \(Sid "S1"\): Principal "AWS" value "alice"/ },
  { name: 'a principal with a partial wildcard', text: doc(S({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/*` } })), message: /^Policy contains a statement with one or more invalid principals\./ },
  { name: 'a principal account id of 11 digits', text: doc(S({ Principal: { AWS: '11112222333' } })), message: /^Policy contains a statement with one or more invalid principals\./ },
  { name: 'a principal that is a string other than "*"', text: doc(S({ Principal: ROOT_ARN })), message: /^Policy contains a statement with one or more invalid principals\..*must be "\*" or an object/ },
  { name: 'an empty principal object', text: doc(S({ Principal: {} })), message: /^Policy contains a statement with one or more invalid principals\..*names no principal$/ },
  { name: 'an empty principal list', text: doc(S({ Principal: { AWS: [] } })), message: /^Policy contains a statement with one or more invalid principals\..*non-empty list/ },
  { name: 'an unsupported principal type', text: doc(S({ Principal: { Federated: 'cognito-identity.amazonaws.com' } })), message: /^Policy contains a statement with one or more invalid principals\..*"Federated" is not supported/ },
  { name: 'a NotPrincipal that is invalid', text: doc(S({ NotPrincipal: { AWS: 'nobody' } }, ['Principal'])), message: /^Policy contains a statement with one or more invalid principals\..*NotPrincipal/ },
  { name: 'a malformed Service principal', text: doc(S({ Principal: { Service: 'not a service' } })), message: /"Service" value "not a service" is not a service principal$/ },
  { name: 'an identity policy with a Principal', kind: 'identity', text: doc(S({})), message: /^Policy document should not specify a principal\./ },
  { name: 'an identity policy with a NotPrincipal', kind: 'identity', text: doc(S({ NotPrincipal: { AWS: ROOT_ARN } }, ['Principal'])), message: /^Policy document should not specify a principal\./ },
  { name: 'no Action in an identity policy', kind: 'identity', text: doc(S({}, ['Action', 'Principal'])), message: /Policy statement must contain actions/ },
  { name: 'both Action and NotAction', text: doc(S({ NotAction: 'kms:Decrypt' })), message: /may have Action or NotAction, not both$/ },
  { name: 'an action without a service prefix', text: doc(S({ Action: 'Decrypt' })), message: /Action "Decrypt" must be "\*" or prefixed by a service/ },
  { name: 'an empty Action list', text: doc(S({ Action: [] })), message: /Action must be a string or a non-empty list of strings$/ },
  { name: 'an Action that is a number', text: doc(S({ Action: 3 })), message: /Action must be a string or a non-empty list of strings$/ },
  { name: 'a NotAction with a bad entry', text: doc(S({ NotAction: ['kms:Decrypt', 'kms:'] }, ['Action'])), message: /NotAction "kms:" must be/ },
  { name: 'no Resource in an identity policy', kind: 'identity', text: doc(S({}, ['Resource', 'Principal'])), message: /Policy statement must contain resources/ },
  { name: 'both Resource and NotResource', text: doc(S({ NotResource: KEY_ARN })), message: /may have Resource or NotResource, not both$/ },
  { name: 'a Resource that is not an ARN', text: doc(S({ Resource: 'my-key' })), message: /Resource "my-key" must be "\*" or an ARN$/ },
  { name: 'a Resource that is an incomplete ARN', text: doc(S({ Resource: 'arn:aws:kms:us-east-1' })), message: /is not a complete ARN$/ },
  { name: 'a Condition that is not an object', text: doc(S({ Condition: [] })), message: /Condition must be an object of condition operators$/ },
  { name: 'an unknown condition operator', text: doc(S({ Condition: { StringEqualz: { 'kms:CallerAccount': ACCOUNT } } })), message: /unknown condition operator "StringEqualz"$/ },
  { name: 'an unknown set qualifier', text: doc(S({ Condition: { 'ForSomeValues:StringEquals': { 'kms:CallerAccount': ACCOUNT } } })), message: /unknown condition operator "ForSomeValues:StringEquals"$/ },
  { name: 'NullIfExists does not exist', text: doc(S({ Condition: { NullIfExists: { 'kms:CallerAccount': 'true' } } })), message: /unknown condition operator "NullIfExists"$/ },
  { name: 'an operator block that is not an object', text: doc(S({ Condition: { StringEquals: 'x' } })), message: /"StringEquals" must be an object of condition keys and values$/ },
  { name: 'an empty operator block', text: doc(S({ Condition: { StringEquals: {} } })), message: /"StringEquals" must be an object of condition keys and values$/ },
  { name: 'a condition key without a vendor prefix', text: doc(S({ Condition: { StringEquals: { CallerAccount: ACCOUNT } } })), message: /"CallerAccount": a condition key must be prefixed by a vendor/ },
  { name: 'a condition with no values', text: doc(S({ Condition: { StringEquals: { 'kms:CallerAccount': [] } } })), message: /"kms:CallerAccount": no values$/ },
  { name: 'a condition value that is an object', text: doc(S({ Condition: { StringEquals: { 'kms:CallerAccount': { a: 1 } } } })), message: /values must be strings, numbers or booleans$/ },
  { name: 'a condition value that is null', text: doc(S({ Condition: { StringEquals: { 'kms:CallerAccount': [null] } } })), message: /values must be strings, numbers or booleans$/ },
  { name: 'a Numeric value that is not a number', text: doc(S({ Condition: { NumericLessThan: { 'kms:RotationPeriodInDays': 'soon' } } })), message: /"soon" is not a number$/ },
  { name: 'a Date value that is not a date', text: doc(S({ Condition: { DateLessThan: { 'aws:CurrentTime': 'next week' } } })), message: /"next week" is not an ISO 8601 date or epoch seconds$/ },
  { name: 'a Bool value that is not a boolean', text: doc(S({ Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })), message: /"yes" is not true or false$/ },
  { name: 'a Null value that is not a boolean', text: doc(S({ Condition: { Null: { 'aws:SecureTransport': 'maybe' } } })), message: /"maybe" is not true or false$/ },
  { name: 'a BinaryEquals value that is not base64', text: doc(S({ Condition: { BinaryEquals: { 'kms:EncryptionContext:b': '***' } } })), message: /"\*\*\*" is not base64$/ },
  { name: 'an IpAddress value that is not an address', text: doc(S({ Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.300/24' } } })), message: /is not an IP address or CIDR block$/ },
  { name: 'an IpAddress prefix that is too long', text: doc(S({ Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/33' } } })), message: /is not an IP address or CIDR block$/ },
  { name: 'an IPv6 prefix that is too long', text: doc(S({ Condition: { NotIpAddress: { 'aws:SourceIp': '2001:db8::/129' } } })), message: /is not an IP address or CIDR block$/ },
  { name: 'ForAllValues with kms:EncryptionContext: in a key policy',
    text: doc(S({ Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:Department': 'IT' } } })),
    message: /^Statement\[0\] \(Sid "S1"\): OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context\. To fix, remove ForAllValues\.$/ },
  { name: 'ForAllValues with aws:RequestTag/ in a key policy',
    text: doc(S({ Condition: { 'ForAllValues:StringEquals': { 'aws:RequestTag/Owner': 'alice' } } })),
    message: /OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag\. To fix, remove ForAllValues\.$/ },
];

describe('malformed policy documents', () => {
  for (const row of MALFORMED_CASES) {
    it(row.name, () => {
      assert.throws(() => compilePolicy(row.text, row.kind ?? 'key'), (e: unknown) => {
        assert.ok(e instanceof MalformedPolicyDocumentException, String(e));
        assert.equal(e.code, 'MalformedPolicyDocumentException');
        assert.equal(e.status, 400);
        assert.match(e.message, row.message);
        return true;
      });
    });
  }

  it('a key policy written over 32768 bytes (UTF-8, as KMS documents its limit) is a LimitExceededException; one stored is still compiled', () => {
    assert.throws(() => assertKeyPolicySize(`{"Statement": [], "Id": "${'x'.repeat(MAX_POLICY_LENGTH)}"}`), (e: unknown) => {
      assert.ok(e instanceof LimitExceededException, String(e));
      assert.match(e.message, /^The policy document is \d+ bytes long; the limit is 32768 bytes\.$/);
      return true;
    });
    // Latin-1 letters are allowed, and take two bytes each: 20,000 of them are 40,000 bytes.
    const latin = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:x': '\u00e9'.repeat(20_000) } } }] });
    assert.ok(latin.length < MAX_POLICY_LENGTH);
    assert.throws(() => assertKeyPolicySize(latin), new RegExp(`is ${Buffer.byteLength(latin)} bytes long; the limit is 32768 bytes`));
    // An earlier release took key policies of 32768 characters: stored, such a policy is evaluated still.
    assert.doesNotThrow(() => compilePolicy(latin, 'key'));
    assert.throws(() => compilePolicy(`{"Statement": [], "Id": "${'x'.repeat(MAX_POLICY_LENGTH)}"}`, 'key'), /characters long; the limit is 32768/);
  });

  it('an identity policy may have 131072 characters, as IAM\'s PutUserPolicy allows; more is a LimitExceededException', () => {
    const text = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] });
    const padded = (length: number) => text.slice(0, -1) + ' '.repeat(length - text.length) + '}';
    assert.equal(compilePolicy(padded(MAX_IDENTITY_POLICY_LENGTH), 'identity').kind, 'identity');
    assert.throws(() => compilePolicy(padded(MAX_IDENTITY_POLICY_LENGTH + 1), 'identity'), (e: unknown) => {
      assert.ok(e instanceof LimitExceededException, String(e));
      assert.match(e.message, /the limit is 131072\.$/);
      return true;
    });
    assert.throws(() => compilePolicy(padded(MAX_POLICY_LENGTH + 1), 'key'), LimitExceededException);
  });

  it('programmer misuse is a TypeError, not a policy fault', () => {
    assert.throws(() => compilePolicy(undefined as unknown as string, 'key'), TypeError);
    assert.throws(() => compilePolicy('{}', 'resource' as 'key'), TypeError);
  });
});

describe('a member repeated in one object (IAM grammar: "must not contain multiple instances of the same key")', () => {
  const refused: [string, string, string][] = [
    ['Effect twice in a statement', '{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", "Effect": "Allow"}]}', 'Effect'],
    ['Statement twice', '{"Statement": [], "Statement": {}}', 'Statement'],
    ['an operator twice in a Condition', '{"Statement": {"Condition": {"StringEquals": {"a:b": "1"}, "StringEquals": {"a:c": "2"}}}}', 'StringEquals'],
    ['a condition key twice under one operator', '{"Statement": {"Condition": {"Bool": {"aws:SecureTransport": "true", "aws:SecureTransport": "false"}}}}', 'aws:SecureTransport'],
    ['a name spelled with an escape', '{"Statement": {"Effect": "Allow", "Eff\\u0065ct": "Deny"}}', 'Effect'],
    ['a principal type twice', '{"Statement": {"Principal": {"AWS": "111122223333", "AWS": "*"}}}', 'AWS'],
  ];
  for (const [name, text, member] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => assertNoDuplicateKeys(text), (e: unknown) => e instanceof MalformedPolicyDocumentException
        && e.message === `The policy document has the member "${member}" twice in one object; an element may appear only once.`);
    });
  }

  const taken: [string, string][] = [
    ['one name in sibling objects', '{"Statement": [{"Effect": "Allow", "Sid": "a"}, {"Effect": "Deny", "Sid": "a"}]}'],
    ['one name at two depths', '{"Statement": {"Condition": {"Condition": {"Statement": "x"}}}}'],
    ['a repeated value, not a name', '{"Statement": {"Action": ["kms:Decrypt", "kms:Decrypt"], "Resource": "Resource"}}'],
    ['quotes, braces and commas inside strings', '{"Sid": "a\\"}, {\\"Sid\\": [", "Id": "Sid", "Statement": {"Sid": "{,}"}}'],
  ];
  for (const [name, text] of taken) {
    it(`takes ${name}`, () => {
      JSON.parse(text);
      assert.doesNotThrow(() => assertNoDuplicateKeys(text));
    });
  }
});

describe('numbers in condition values: the text written, as the stored policy shows it', () => {
  // Written into the text by hand: JSON.stringify cannot write 1.50, and a JavaScript number cannot hold the first.
  const denying = (value: string): CompiledPolicy => compilePolicy(policyText([
    { Effect: 'Allow', Principal: '*', Action: 'kms:Encrypt', Resource: '*' },
    { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': ['@'] } } },
  ]).replace('"@"', value), 'key');
  const denied = (policy: CompiledPolicy, tenant: string): boolean =>
    ask({ key: policy, action: 'kms:Encrypt', principal: root, context: encryptionContextEntries({ tenant }) }).reason === 'explicit-deny';
  const cases: [string, string, string[], string[]][] = [
    ['an integer past 2^53', '12345678901234567890', ['12345678901234567890'], ['12345678901234567000', '12345678901234567168']],
    ['a decimal with a trailing zero', '1.50', ['1.50'], ['1.5']],
    ['an exponent', '1e2', ['1e2'], ['100']],
    ['a negative zero', '-0', ['-0'], ['0']],
  ];
  for (const [name, literal, matching, other] of cases) {
    it(`${name} (${literal}) matches itself only`, () => {
      const policy = denying(literal);
      for (const tenant of matching) assert.equal(denied(policy, tenant), true, tenant);
      for (const tenant of other) assert.equal(denied(policy, tenant), false, tenant);
    });
  }

  it('a number as the only value (not in a list) and in an identity policy', () => {
    const text = policyText([{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': '@' } } }])
      .replace('"@"', '12345678901234567890');
    const identity = compilePolicy(text, 'identity');
    const allowed = (tenant: string): boolean =>
      ask({ key: keyPolicy(ENABLE_IAM), identity: [identity], action: 'kms:Encrypt', context: encryptionContextEntries({ tenant }) }).allowed;
    assert.equal(allowed('12345678901234567890'), true);
    assert.equal(allowed('12345678901234567000'), false);
  });

  it('date operators read a number as the number it is, as before (1.7e9, -0 and 17E8 are epoch seconds, not date text)', () => {
    for (const [literal, seconds] of [['1.7e9', 1.7e9], ['17E8', 1.7e9], ['-0', 0]] as const) {
      const text = policyText([{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '@' } } }])
        .replace('"@"', literal);
      const policy = compilePolicy(text, 'key');
      const at = (epochSeconds: number) => ask({ key: policy, context: { 'aws:currenttime': new Date(epochSeconds * 1000).toISOString() } }).allowed;
      assert.equal(at(seconds - 1), true, literal);
      assert.equal(at(seconds + 1), false, literal);
    }
  });

  it('a numeric operator reads the written number as before', () => {
    const text = policyText([{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '@' } } }])
      .replace('"@"', '3.600e3');
    const policy = compilePolicy(text, 'key');
    assert.equal(ask({ key: policy, context: { 'aws:multifactorauthage': 3599 } }).allowed, true);
    assert.equal(ask({ key: policy, context: { 'aws:multifactorauthage': 3600 } }).allowed, false);
  });
});

describe('parseJsonWithSource', () => {
  const texts = [
    '{"a": 1, "b": [true, false, null, "x\\"y", -1.5e-3], "c": {"d": {}}, "e": []}',
    '{"__proto__": {"polluted": 1}, "constructor": 2}',
    '{"a": 1, "b": 2, "a": 3}',
    '{"2": "two", "b": "b", "1": "one"}',
    ' [ "\u00e9\u2028", 0, -0, 12345678901234567890, 1E+2 ] ',
    '"just a string"',
    '42',
    '[[[[[]]]]]',
  ];
  for (const text of texts) {
    it(`reads ${text.trim().slice(0, 40)} as JSON.parse does`, () => {
      const { value } = parseJsonWithSource(text);
      assert.deepStrictEqual(value, JSON.parse(text));
      if (typeof value === 'object' && value !== null) assert.deepEqual(Object.keys(value), Object.keys(JSON.parse(text)));
    });
  }

  it('random documents: the same values and member order as JSON.parse, and each span is the text of its value', () => {
    let seed = 7;
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const scalar = (): string => ['"s\\u00e9"', '""', '"a\\"b"', String(next(1e6) - 5e5), `${next(100)}.${next(100)}0`, '1e-7', 'true', 'false', 'null'][next(9)]!;
    const value = (depth: number): string => {
      const kind = depth > 3 ? 0 : next(3);
      if (kind === 0) return scalar();
      const n = next(4);
      const items = Array.from({ length: n }, () => value(depth + 1));
      const space = [' ', '', '\n\t'][next(3)]!;
      return kind === 1
        ? `[${space}${items.join(`,${space}`)}]`
        : `{${items.map((v) => `${JSON.stringify(['k', '1', '__proto__', 'K'][next(4)]! + next(3))}:${space}${v}`).join(',')}}`;
    };
    for (let round = 0; round < 300; round++) {
      const text = value(0);
      const { value: parsed, span } = parseJsonWithSource(text);
      assert.deepStrictEqual(parsed, JSON.parse(text), text);
      const check = (holder: unknown): void => {
        if (typeof holder !== 'object' || holder === null) return;
        for (const [key, child] of Object.entries(holder)) {
          const at: readonly [number, number] = span(holder, Array.isArray(holder) ? Number(key) : key)!;
          assert.deepStrictEqual(JSON.parse(text.slice(at[0], at[1])), child, text);
          check(child);
        }
      };
      check(parsed);
    }
  });

  it('throws JSON.parse\'s SyntaxError for text that is not JSON', () => {
    for (const text of ['', '{', '{"a" 1}', '[1,]', '01', '"\\x"']) assert.throws(() => parseJsonWithSource(text), SyntaxError, text);
  });
});

// ---------------------------------------------------------------------------------------------
// Documents that are valid.

describe('valid policy documents', () => {
  const valid: [string, string, 'key' | 'identity'][] = [
    ['no Version, as AWS allows', JSON.stringify({ Statement: [S({})] }), 'key'],
    ['Version 2008-10-17', JSON.stringify({ Version: '2008-10-17', Statement: [S({})] }), 'key'],
    ['a single statement object', JSON.stringify({ Version: '2012-10-17', Statement: S({}) }), 'key'],
    ['exactly 32768 characters', ((): string => { const t = doc(S({})); return t.slice(0, -1) + ' '.repeat(MAX_POLICY_LENGTH - t.length) + '}'; })(), 'key'],
    ['Latin-1 characters, tabs and newlines', `{\n\t"Statement": ${JSON.stringify([S({ Sid: 'Zugriff für Schlüssel' })])}\n}`, 'key'],
    ['an assumed-role session principal', doc(S({ Principal: { AWS: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/session-1` } })), 'key'],
    ['a federated user principal (IAM: "AWS STS federated user principals"; grants take it too)', doc(S({ Principal: { AWS: `arn:aws:sts::${ACCOUNT}:federated-user/alice` } })), 'key'],
    ['a user with a path', doc(S({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/division/team/alice` } })), 'key'],
    ['a service principal beside an account', doc(S({ Principal: { AWS: ROOT_ARN, Service: 'logs.us-west-2.amazonaws.com' } })), 'key'],
    ['another partition', doc(S({ Principal: { AWS: `arn:aws-cn:iam::${ACCOUNT}:root` } })), 'key'],
    ['ForAllValues with kms:EncryptionContext: in an identity policy (only KMS key policies refuse it)',
      doc(S({ Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:Department': 'IT' } } }, ['Principal'])), 'identity'],
    ['an identity policy with Resource patterns', doc({ Effect: 'Allow', Action: 'kms:*', Resource: [`arn:aws:kms:*:${ACCOUNT}:key/*`, `arn:aws:kms:*:${ACCOUNT}:alias/*`] }), 'identity'],
    ['a Date value in epoch seconds as a JSON number', doc(S({ Condition: { DateGreaterThan: { 'aws:EpochTime': 1700000000 } } })), 'key'],
  ];
  for (const [name, text, kind] of valid) {
    it(name, () => {
      const policy = compilePolicy(text, kind);
      assert.equal(policy.kind, kind);
      assert.ok(policy.statements.length >= 1);
    });
  }

  for (const missing of ['Action', 'Resource']) {
    it(`a key policy statement without ${missing} is taken and matches nothing (AWS: "the policy statement has no effect")`, () => {
      const policy = compilePolicy(doc(S({ Action: 'kms:*', Resource: '*' }, [missing])), 'key');
      const request = { action: 'kms:Encrypt', resource: KEY_ARN, context: {} };
      assert.equal(statementMatches(policy.statements[0]!, request), false);
      assert.equal(statementMatches(compilePolicy(doc(S({ Action: 'kms:*', Resource: '*' })), 'key').statements[0]!, request), true);
    });
  }

  it('lists the accounts and ARNs it names, for the existence check', () => {
    const policy = keyPolicy(ENABLE_IAM, { Effect: 'Allow', Principal: { AWS: [alice.arn, OTHER_ACCOUNT, '*'], Service: 'logs.us-west-2.amazonaws.com' }, Action: '*', Resource: '*' },
      { Effect: 'Deny', NotPrincipal: { AWS: [bob.arn, alice.arn] }, Action: '*', Resource: '*' });
    assert.deepEqual(namedPrincipals(policy), { accounts: [ACCOUNT, OTHER_ACCOUNT], arns: [alice.arn, bob.arn], partitions: ['aws'] });
    assert.equal(INVALID_PRINCIPALS, 'Policy contains a statement with one or more invalid principals.');
  });

  it('keeps Version, Id and each statement Sid and Effect', () => {
    const policy = compilePolicy(JSON.stringify({ Version: '2012-10-17', Id: 'key-consolepolicy-3', Statement: [S({}), S({ Sid: 'Two', Effect: 'Deny' })] }), 'key');
    assert.equal(policy.version, '2012-10-17');
    assert.equal(policy.id, 'key-consolepolicy-3');
    assert.deepEqual(policy.statements.map((s) => [s.index, s.sid, s.effect]), [[0, 'S1', 'Allow'], [1, 'Two', 'Deny']]);
    assert.ok(Object.isFrozen(policy));
  });
});

// ---------------------------------------------------------------------------------------------
// The default key policy.

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RECORDINGS = resolve(REPO_ROOT, '../shared/aws-recorded/kms-responses.json');

describe('defaultKeyPolicy', () => {
  it('is the text GetKeyPolicy returns, in AWS pretty-printing', () => {
    assert.equal(defaultKeyPolicy('aws', ACCOUNT), [
      '{',
      '  "Version" : "2012-10-17",',
      '  "Id" : "key-default-1",',
      '  "Statement" : [ {',
      '    "Sid" : "Enable IAM User Permissions",',
      '    "Effect" : "Allow",',
      '    "Principal" : {',
      '      "AWS" : "arn:aws:iam::111122223333:root"',
      '    },',
      '    "Action" : "kms:*",',
      '    "Resource" : "*"',
      '  } ]',
      '}',
    ].join('\n'));
  });

  it('parses to the document AWS returned (get-key-policy-default)', () => {
    const scenarios = JSON.parse(readFileSync(RECORDINGS, 'utf8')) as { id: string; response: { fields: { Policy: { $json: unknown } } } }[];
    const recorded = scenarios.find((s) => s.id === 'get-key-policy-default');
    assert.ok(recorded, 'the recording has get-key-policy-default');
    const expected = JSON.parse(JSON.stringify(recorded.response.fields.Policy.$json).replaceAll('<account>', ACCOUNT));
    assert.deepEqual(JSON.parse(defaultKeyPolicy('aws', ACCOUNT)), expected);
  });

  it('uses the partition', () => {
    assert.match(defaultKeyPolicy('aws-us-gov', ACCOUNT), /"AWS" : "arn:aws-us-gov:iam::111122223333:root"/);
  });

  it('rejects a malformed account or partition (programmer misuse)', () => {
    assert.throws(() => defaultKeyPolicy('aws', '1234'), TypeError);
    assert.throws(() => defaultKeyPolicy('AWS"', ACCOUNT), TypeError);
  });

  it('compiles, allows the account root everything and delegates to IAM policies', () => {
    const key = compilePolicy(defaultKeyPolicy('aws', ACCOUNT), 'key');
    assert.equal(ask({ key, principal: root, action: 'kms:ScheduleKeyDeletion' }).reason, 'key-policy');
    assert.equal(ask({ key, principal: alice, identity: [IAM_ALLOW_DECRYPT()] }).reason, 'identity-policy');
    assert.equal(ask({ key, principal: alice }).reason, 'implicit-deny');
    assert.equal(ask({ key, principal: otherRoot }).reason, 'implicit-deny');
  });
});

// ---------------------------------------------------------------------------------------------
// The key policy lockout safety check.

describe('the key policy lockout safety check', () => {
  const cases: { name: string; policy: Statement[]; caller: typeof alice; identity?: ReturnType<typeof identityPolicy>[]; context?: RequestContext; locked: boolean }[] = [
    { name: 'the default policy does not lock out the account root', policy: [ENABLE_IAM], caller: root, locked: false },
    { name: 'the default policy does not lock out a user whose IAM policy allows PutKeyPolicy', policy: [ENABLE_IAM], caller: alice,
      identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })], locked: false },
    { name: 'the default policy locks out a user with no IAM policy', policy: [ENABLE_IAM], caller: alice, locked: true },
    { name: 'an IAM Deny of PutKeyPolicy locks the caller out', policy: [ENABLE_IAM], caller: alice,
      identity: [identityPolicy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Action: 'kms:PutKeyPolicy', Resource: '*' })], locked: true },
    { name: 'a policy giving the caller only encryption locks it out', policy: [ALLOW_ALICE], caller: alice, locked: true },
    { name: 'a policy giving the caller kms:Put* keeps it in', policy: [{ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:Put*', Resource: '*' }], caller: alice, locked: false },
    { name: 'a key-policy Deny of PutKeyPolicy to everyone locks out the root', policy: [ENABLE_IAM, { Effect: 'Deny', Principal: '*', Action: 'kms:PutKeyPolicy', Resource: '*' }], caller: root, locked: true },
    { name: 'conditions are read against the request context (holds)',
      policy: [{ ...ENABLE_IAM, Condition: { Bool: { 'aws:SecureTransport': 'true' } } }], caller: root, context: { 'aws:securetransport': true }, locked: false },
    { name: 'conditions are read against the request context (fails)',
      policy: [{ ...ENABLE_IAM, Condition: { Bool: { 'aws:SecureTransport': 'true' } } }], caller: root, locked: true },
  ];
  for (const row of cases) {
    it(row.name, () => {
      const policy = keyPolicy(...row.policy);
      const check = { resource: KEY_ARN, identityPolicies: row.identity, context: row.context };
      assert.equal(wouldLockOut(policy, row.caller, check), row.locked);
      if (row.locked) {
        assert.throws(() => assertNoLockOut(policy, row.caller, check), (e: unknown) =>
          e instanceof MalformedPolicyDocumentException && e.message === LOCKOUT_MESSAGE);
      } else {
        assert.doesNotThrow(() => assertNoLockOut(policy, row.caller, check));
      }
    });
  }

  it('uses AWS\'s message', () => {
    assert.equal(LOCKOUT_MESSAGE, 'The new key policy will not allow you to update the key policy in the future.');
  });
});

// ---------------------------------------------------------------------------------------------
// Filling the request context from an encryption context.

describe('encryptionContextEntries', () => {
  it('lowercases the condition-key name and keeps values and key spelling', () => {
    assert.deepEqual(encryptionContextEntries({ AppName: 'ExampleApp', Stage: 'Test' }), {
      'kms:encryptioncontext:appname': 'ExampleApp',
      'kms:encryptioncontext:stage': 'Test',
      'kms:encryptioncontextkeys': ['AppName', 'Stage'],
    });
  });

  it('leaves every key out for an empty encryption context', () => {
    assert.deepEqual(encryptionContextEntries({}), {});
  });

  it('keeps both values of keys that differ only in case', () => {
    assert.deepEqual(encryptionContextEntries({ Stage: 'Test', STAGE: 'Prod' }), {
      'kms:encryptioncontext:stage': ['Test', 'Prod'],
      'kms:encryptioncontextkeys': ['Stage', 'STAGE'],
    });
  });

  it('an encryption context key named like a prototype member is an ordinary key', () => {
    const context = encryptionContextEntries({ constructor: 'x' });
    assert.equal(holds({ StringEquals: { 'kms:EncryptionContext:constructor': 'x' } }, context), true);
    assert.equal(holds({ StringEquals: { 'kms:EncryptionContext:toString': 'x' } }, context), false);
    assert.equal(holds({ Null: { 'kms:EncryptionContext:__proto__': 'true' } }, {}), true);
  });
});
