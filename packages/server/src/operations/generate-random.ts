import { randomBytes } from 'node:crypto';
import { ValidationException } from '../errors.js';
import { integer, parseShape, string } from '../validate/shape.js';
import { customKeyStoreNotFound } from './custom-key-stores.js';
import { recipientMember, rejectRecipient } from './recipient.js';
import type { Operation } from './operation.js';

const shape = {
  NumberOfBytes: integer({ min: 1, max: 1024 }),
  CustomKeyStoreId: string({ min: 1, max: 64 }),
  Recipient: recipientMember(),
};

export const generateRandom: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'kms:GenerateRandom');
  if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.');
  // As AWS answers an account without custom key stores (README): every id names none here.
  if (input.CustomKeyStoreId !== undefined) throw customKeyStoreNotFound(input.CustomKeyStoreId);
  rejectRecipient(input.Recipient);
  return { Plaintext: randomBytes(input.NumberOfBytes).toString('base64') };
};
