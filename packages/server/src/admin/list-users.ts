import { listPrincipals } from './list-principals.js';

/** `CofferAdmin.ListUsers` {MaxItems?, Marker?} -> {Users, IsTruncated, Marker?} */
export const listUsers = listPrincipals('user');
