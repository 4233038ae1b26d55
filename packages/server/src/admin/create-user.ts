import { createPrincipal } from './create-principal.js';

/** `CofferAdmin.CreateUser` {UserName} -> {User: {UserName, UserId, Arn, CreateDate}} */
export const createUser = createPrincipal('user');
