import { listPrincipals } from './list-principals.js';

/** `CofferAdmin.ListRoles` {MaxItems?, Marker?} -> {Roles, IsTruncated, Marker?} */
export const listRoles = listPrincipals('role');
