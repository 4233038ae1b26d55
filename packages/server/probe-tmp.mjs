import { startTestServer, rawRequest } from './dist/test/support/server.js';
const t = await startTestServer();
const raw = (op, body) => rawRequest(t.server.endpoint, t.credentials, op.includes('.') ? op : op, body, op.startsWith('CofferAdmin.') ? { headers: { 'x-amz-target': op } } : {});
const admin = ['CreateUser','DeleteUser','ListUsers','CreateRole','DeleteRole','ListRoles','CreateAccessKey','ListAccessKeys','UpdateAccessKey','DeleteAccessKey','PutPrincipalPolicy','GetPrincipalPolicy','ListPrincipalPolicies','DeletePrincipalPolicy','QueryAuditRecords','VerifyAuditChain','GetRootKeyStatus','GetRequestMetrics'];
const kmsOps = 'CreateKey DescribeKey ListKeys UpdateKeyDescription EnableKey DisableKey ScheduleKeyDeletion CancelKeyDeletion CreateAlias UpdateAlias DeleteAlias ListAliases TagResource UntagResource ListResourceTags Encrypt Decrypt ReEncrypt GenerateDataKey GenerateDataKeyWithoutPlaintext GenerateRandom EnableKeyRotation DisableKeyRotation GetKeyRotationStatus RotateKeyOnDemand ListKeyRotations GetKeyPolicy ListKeyPolicies PutKeyPolicy CreateGrant ListGrants ListRetirableGrants RetireGrant RevokeGrant GetKeyLastUsage Sign Verify GetPublicKey GenerateMac VerifyMac GenerateDataKeyPair GenerateDataKeyPairWithoutPlaintext DeriveSharedSecret GetParametersForImport ImportKeyMaterial DeleteImportedKeyMaterial'.split(' ');
const members = ['UserName','RoleName','AccessKeyId','Status','PrincipalArn','PolicyName','PolicyDocument','Limit','Marker','NextToken','From','To','Operation','KeyArn','Outcome','Path','AssumeRolePolicyDocument','Principal','Since','Description','Tags','KeyId','Policy','Name','GranteePrincipal','Operations','Constraints','AliasName','TargetKeyId','TagKeys','PendingWindowInDays','RotationPeriodInDays','BypassPolicyLockoutSafetyCheck','KeyUsage','KeySpec','Origin','MultiRegion','CustomerMasterKeySpec','XksKeyId','CustomKeyStoreId','GrantId','GrantToken','RetiringPrincipal','IncludeKeyMaterial','PublicKey','Recipient','ValidTo','ExpirationModel','ImportType','KeyMaterialId','NumberOfBytes','Message','Mac','Signature','MessageType'];
const weird = [null, -1, 1e308, 2**53+1, 'x'.repeat(70000), '', '\u0000', '\ud800', {}, [], [[]], [{}], {a:{b:{c:{}}}}, true, 'arn:aws:iam::111122223333:user/../x', 'alias/aws/', '*', 1.5, '1', ['x'], [null], {'__proto__': {a: 1}}, 'arn:aws:kms:us-east-1:111122223333:key/', '../../etc/passwd'];
let n = 0, bad = 0;
function rnd(a) { return a[Math.floor(Math.random() * a.length)]; }
for (let round = 0; round < 1500; round++) {
  const op = Math.random() < 0.5 ? 'CofferAdmin.' + rnd(admin) : rnd(kmsOps);
  const body = {};
  const count = 1 + Math.floor(Math.random() * 4);
  for (let i = 0; i < count; i++) body[rnd(members)] = rnd(weird);
  const r = await raw(op, body);
  n++;
  if (r.status >= 500) { bad++; if (bad < 15) console.log('!!!', r.status, op, JSON.stringify(body).slice(0, 200), r.text.slice(0, 200)); }
}
console.log('requests', n, '5xx', bad);
const ok = await raw('ListKeys', {}); console.log('still alive', ok.status);
await t.dispose();
