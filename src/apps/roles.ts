/** The roles a Meridian process can run. Embedded mode runs all control-plane roles at once. */
export const ROLES = ['gateway', 'regions', 'region-provider', 'rooms', 'auth', 'sfu', 'autoscaler'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that `meridian start` (embedded) runs in one process. */
export const EMBEDDED_ROLES: readonly Role[] = ['gateway', 'regions', 'region-provider', 'rooms', 'auth'];

/** Roles that need the database. */
export const DATABASE_ROLES: ReadonlySet<Role> = new Set(['regions', 'rooms', 'auth']);

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}
